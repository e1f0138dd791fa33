import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createFederationCa } from '../../../shared/pki/ca.ts';
import { checkPeer } from '../../../shared/pki/check-peer.ts';
import { issueCrl, revoke } from '../../../shared/pki/crl.ts';
import { openTrustStore } from '../../../shared/pki/trust-store.ts';
import { makeFederation } from './fixtures.ts';

const f = await makeFederation();

function folder(): { dir: string; caPath: string; crlPath: string } {
  const dir = mkdtempSync(join(tmpdir(), 'pki-trust-'));
  const caPath = join(dir, 'ca.pem');
  const crlPath = join(dir, 'crl.pem');
  writeFileSync(caPath, f.ca.certPem);
  return { dir, caPath, crlPath };
}

/** Replaces a file the way an operator's copy or an editor does (new inode), so the change is seen whatever the clock. */
function replace(path: string, text: string): void {
  writeFileSync(`${path}.new`, text);
  renameSync(`${path}.new`, path);
}

test('a revocation written to crl.pem applies to the next check, without a restart', async (t) => {
  const { dir, caPath, crlPath } = folder();
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(crlPath, (await issueCrl(f.ca)).crlPem);
  const store = await openTrustStore({ caPath, crlPath });
  assert.equal((await checkPeer(f.site.certPem, await store.current())).ok, true);
  replace(crlPath, (await revoke(f.ca, f.emptyCrl, [{ serialNumber: f.site.serialNumber }])).crlPem);
  const r = await checkPeer(f.site.certPem, await store.current());
  assert.equal(r.ok === false && r.code, 'revoked');
});

test('an older, foreign or broken crl.pem is not taken: the list in use stays and the operator is told', async (t) => {
  const { dir, caPath, crlPath } = folder();
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const older = (await issueCrl(f.ca, { now: new Date(Date.now() - 60_000) })).crlPem;
  const revoked = (await revoke(f.ca, undefined, [{ serialNumber: f.site.serialNumber }])).crlPem;
  writeFileSync(crlPath, revoked);
  const rejected: string[] = [];
  const store = await openTrustStore({ caPath, crlPath, onRejected: (m) => rejected.push(m) });
  const stillRevoked = async (): Promise<void> => {
    const r = await checkPeer(f.site.certPem, await store.current());
    assert.equal(r.ok === false && r.code, 'revoked');
  };
  await stillRevoked();

  replace(crlPath, older); // a backup restored by mistake: would un-revoke the site
  await stillRevoked();
  assert.match(rejected.at(-1) ?? '', /before the list in use/);

  replace(crlPath, (await issueCrl(await createFederationCa({ federation: 'fed-test' }))).crlPem);
  await stillRevoked();
  assert.match(rejected.at(-1) ?? '', /not signed by the federation CA/);

  replace(crlPath, 'garbage');
  await stillRevoked();
  rmSync(crlPath);
  await stillRevoked();
  assert.equal(rejected.length, 4);
  assert.match(rejected.at(-1) ?? '', /cannot read revocation list/);
});

test('start-up needs a readable CA and a revocation list signed by it', async (t) => {
  const { dir, caPath, crlPath } = folder();
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  await assert.rejects(openTrustStore({ caPath, crlPath }), /cannot read revocation list/);
  writeFileSync(crlPath, (await issueCrl(await createFederationCa({ federation: 'fed-test' }))).crlPem);
  await assert.rejects(openTrustStore({ caPath, crlPath }), /not signed by the federation CA/);
  await assert.rejects(openTrustStore({ caPath: join(dir, 'absent.pem'), crlPath }), /cannot read CA certificate/);
});

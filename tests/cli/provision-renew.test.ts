// `provision renew-site`: what it refuses before issuing anything.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { provisionFederation } from '../../cli/provision.ts';
import { renewSite } from '../../cli/provision-renew.ts';
import { revokeSite } from '../../cli/provision-sites.ts';
import { createSiteCsr } from '../../shared/pki/csr.ts';
import { federationYaml, tempDir } from './provision-helpers.ts';

const BIN = new URL('../../bin/fedcausal.js', import.meta.url).pathname;

async function setup(t: { after(fn: () => void): void }) {
  const dir = tempDir(t);
  const out = join(dir, 'out');
  await provisionFederation(federationYaml(dir), out);
  const csr = join(dir, 'req.pem');
  writeFileSync(csr, (await createSiteCsr('cleveland')).csrPem);
  return { dir, out, csr, issued: () => readdirSync(join(out, 'ca', 'issued')).sort() };
}

test('a CSR for an unknown site is refused, from the command line with exit 2, and nothing is issued', async (t) => {
  const { out, csr, issued } = await setup(t);
  const before = issued();
  const r = spawnSync(process.execPath, [BIN, 'provision', 'renew-site', '--dir', out, '--site', 'nobody', '--csr', csr], { encoding: 'utf8' });
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr, /--site nobody: not enrolled in federation "heart" \(not in its manifest\); a new site gets a kit with add-site/);
  assert.deepEqual(issued(), before);
});

test('a revoked site, a damaged CSR and a key already certified are refused', async (t) => {
  const { dir, out, csr, issued } = await setup(t);
  await revokeSite({ dir: out, site: 'hungary' });
  const before = issued();
  await assert.rejects(renewSite({ dir: out, site: 'hungary', csr }), /--site hungary: every certificate of "hungary" is revoked .* re-key it with add-site --replace/);

  const pem = readFileSync(csr, 'utf8');
  const garbled = join(dir, 'garbled.pem');
  writeFileSync(garbled, pem.replace(/^(-----BEGIN CERTIFICATE REQUEST-----\n)(.{20})/, (_, h: string, b: string) => h + b.split('').reverse().join('')));
  await assert.rejects(renewSite({ dir: out, site: 'cleveland', csr: garbled }), /--csr .*garbled\.pem: certificate request /);
  await assert.rejects(renewSite({ dir: out, site: 'cleveland', csr: join(dir, 'absent.pem') }), /--csr .*absent\.pem: cannot read it \(ENOENT\)/);
  assert.deepEqual(issued(), before, 'nothing issued');

  const first = await renewSite({ dir: out, site: 'cleveland', csr, out: join(dir, 'cert.pem') });
  assert.equal(first.cert, join(dir, 'cert.pem'));
  await assert.rejects(
    renewSite({ dir: out, site: 'cleveland', csr, out: join(dir, 'again.pem') }),
    new RegExp(`--csr .*req\\.pem: its key is already certified for "cleveland" \\(serial ${first.serialNumber}\\); a renewal needs a new key`),
  );
});

test("a CSR whose subject is another enrolled site is refused (two hospitals' requests mixed up), and nothing is issued", async (t) => {
  const { dir, out, issued } = await setup(t);
  const other = join(dir, 'hungary-req.pem');
  writeFileSync(other, (await createSiteCsr('hungary')).csrPem);
  const before = issued();
  await assert.rejects(
    renewSite({ dir: out, site: 'cleveland', csr: other, out: join(dir, 'c.pem') }),
    /--csr .*hungary-req\.pem: its subject is site "hungary", not "cleveland": another hospital's request/,
  );
  assert.deepEqual(issued(), before);
  // A subject that names no enrolled site is not a mix-up: the manifest names the certificate.
  const odd = join(dir, 'odd-req.pem');
  writeFileSync(odd, (await createSiteCsr('host.example.org')).csrPem);
  await renewSite({ dir: out, site: 'cleveland', csr: odd, out: join(dir, 'c.pem') });
});

test('--out is refused inside the CA folder and over a file that is not a certificate; an earlier certificate is replaced', async (t) => {
  const { dir, out, csr, issued } = await setup(t);
  const caKey = readFileSync(join(out, 'ca', 'ca.key.pem'), 'utf8');
  const before = issued();
  for (const f of ['ca.key.pem', 'ca.pem', 'new.pem'])
    await assert.rejects(renewSite({ dir: out, site: 'cleveland', csr, out: join(out, 'ca', f) }), /is inside the CA folder .*; write the certificate elsewhere/);
  const siteKey = join(out, 'sites', 'cleveland', 'tls', 'client.key.pem');
  await assert.rejects(renewSite({ dir: out, site: 'cleveland', csr, out: siteKey }), /client\.key\.pem: exists and is not a CERTIFICATE PEM; refusing to overwrite it/);
  await assert.rejects(renewSite({ dir: out, site: 'cleveland', csr, out: csr }), /req\.pem: exists and is not a CERTIFICATE PEM/);
  assert.equal(readFileSync(join(out, 'ca', 'ca.key.pem'), 'utf8'), caKey);
  assert.ok(readFileSync(siteKey, 'utf8').includes('PRIVATE KEY'));
  assert.deepEqual(issued(), before, 'nothing issued');
  const prior = join(dir, 'cert.pem');
  writeFileSync(prior, readFileSync(join(out, 'sites', 'cleveland', 'tls', 'client.pem')));
  await renewSite({ dir: out, site: 'cleveland', csr, out: prior });
});

// A site whose TLS key was renewed with the commands (site renew-request, provision
// renew-site, site renew-install) joins and trains, with no change at the coordinator;
// its old certificate is revoked first, so the join can only have used the new one.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ResultsFile } from '../../cli/results.ts';
import { loadFederationCa } from '../../shared/pki/ca.ts';
import { loadCrl, revoke } from '../../shared/pki/crl.ts';
import { parseCertificate } from '../../shared/pki/x509.ts';
import { BIN, withFederation, type TestFederation } from './helpers/federation.ts';

function fedcausal(...args: string[]): string {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8' });
  assert.equal(r.status, 0, `fedcausal ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

/** Revokes one serial (the superseded certificate) in ca/crl.pem and the coordinator kit's copy. */
async function revokeSerial(fed: TestFederation, serialNumber: string): Promise<void> {
  const caDir = join(fed.kits.outDir, 'ca');
  const ca = await loadFederationCa({ certPem: readFileSync(join(caDir, 'ca.pem'), 'utf8'), keyPem: readFileSync(join(caDir, 'ca.key.pem'), 'utf8') });
  const current = await loadCrl(readFileSync(join(caDir, 'crl.pem'), 'utf8'), ca.certificate);
  const { crlPem } = await revoke(ca, current, [{ serialNumber }]);
  for (const p of [join(caDir, 'crl.pem'), join(fed.kits.coordinatorKit, 'tls', 'crl.pem')]) writeFileSync(p, crlPem);
}

test('a site renewed with the commands joins; its old certificate is revoked and unused', { timeout: 240_000 }, async () => {
  await withFederation(
    { sites: ['cleveland', 'hungary'], rounds: 1, hardTimeoutMs: 230_000, quorum: { minSitesToStart: 2, minSitesToAccept: 2, waitForAllSeconds: 5, startTimeoutSeconds: 120 } },
    async (fed) => {
      const config = fed.siteYaml('cleveland');
      const tls = (f: string) => join(fed.siteKit('cleveland'), 'tls', f);
      const oldSerial = parseCertificate(readFileSync(tls('client.pem'), 'utf8')).serialNumber;
      fedcausal('site', 'renew-request', '--config', config);
      const cert = join(fed.dir, 'renewed.pem');
      fedcausal('provision', 'renew-site', '--dir', fed.kits.outDir, '--site', 'cleveland', '--csr', tls('client.csr.pem'), '--out', cert);
      fedcausal('site', 'renew-install', '--config', config, '--cert', cert);
      const newSerial = parseCertificate(readFileSync(tls('client.pem'), 'utf8')).serialNumber;
      assert.notEqual(newSerial, oldSerial);
      await revokeSerial(fed, oldSerial);

      const coordinator = await fed.startCoordinator();
      const sites = ['cleveland', 'hungary'].map((s) => fed.startSite(s));
      assert.equal(await coordinator.exitCode(150_000), 0, 'coordinator exit code');
      for (const s of sites) assert.equal(await s.exitCode(10_000), 0, `${s.name} exit code`);
      assert.ok(coordinator.logs.some((l) => l.message === 'site joined' && l.site === 'cleveland'), 'the renewed site joined');
      assert.ok(!coordinator.logs.some((l) => l.message.startsWith('peer certificate refused')), 'no certificate was refused');
      assert.deepEqual(fed.results<ResultsFile>(coordinator).history.map((h) => [h.round, h.participants, h.accepted]), [[1, 2, true]]);
    },
  );
});

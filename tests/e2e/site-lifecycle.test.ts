// A site added after provisioning joins without the other kits being regenerated, and a site
// revoked while the coordinator runs is refused from its next connection, with no restart;
// and the running coordinator's HTTP side checks the Host header.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join, relative } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import YAML from 'yaml';
import type { ResultsFile } from '../../cli/results.ts';
import { addSite } from '../../cli/provision-sites.ts';
import { PEER_REFUSED_MESSAGE } from '../../shared/pki/check-peer.ts';
import { loadSiteTls } from '../../shared/pki/kit-tls.ts';
import { challengeOf, statusName } from './helpers/grpc-client.ts';
import { BIN, HEART_FILES, withFederation } from './helpers/federation.ts';

function getWithHost(port: number, path: string, host: string, token?: string): Promise<{ status: number }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, headers: { host, ...(token ? { authorization: `Bearer ${token}` } : {}) } }, (res) => {
      res.resume().on('end', () => resolve({ status: res.statusCode! }));
    });
    req.on('error', reject).end();
  });
}

function digest(dir: string): string {
  const h = createHash('sha256');
  for (const e of readdirSync(dir, { recursive: true, withFileTypes: true }).filter((x) => x.isFile()).map((x) => join(x.parentPath, x.name)).sort())
    h.update(relative(dir, e)).update(readFileSync(e));
  return h.digest('hex');
}

test('add-site: a new site joins beside untouched kits; revoke-site: refused at its next connection, no restart', { timeout: 240_000 }, async () => {
  await withFederation(
    { sites: ['cleveland', 'hungary'], rounds: 1, hardTimeoutMs: 230_000, quorum: { minSitesToStart: 2, minSitesToAccept: 2, waitForAllSeconds: 5, startTimeoutSeconds: 120 } },
    async (fed) => {
      // The operator lists the new site in the federation file, then adds it.
      const fedFile = join(fed.dir, 'federation.yaml');
      const doc = YAML.parse(readFileSync(fedFile, 'utf8')) as { sites: { name: string; data: string }[] };
      doc.sites.push({ name: 'va', data: HEART_FILES.va! });
      writeFileSync(fedFile, YAML.stringify(doc));
      const before = ['cleveland', 'hungary'].map((s) => digest(fed.siteKit(s)));
      const added = await addSite({ federationFile: fedFile, dir: fed.kits.outDir, site: 'va' });
      assert.deepEqual(['cleveland', 'hungary'].map((s) => digest(fed.siteKit(s))), before, 'the other kits were not regenerated');
      fed.kits.siteKits.push({ name: 'va', dir: added.kit });
      fed.editYaml(fed.siteYaml('va'), (c) => ({ ...c, connectTimeoutSeconds: 15 }));

      const coordinator = await fed.startCoordinator();
      // The running coordinator's HTTP side answers only names it is known by (DNS rebinding); /healthz any.
      const port = Number(new URL(fed.httpUrl).port);
      assert.equal((await getWithHost(port, '/api/status', `rebound.example:${port}`, fed.httpToken)).status, 421);
      assert.equal((await getWithHost(port, '/api/status', `localhost:${port}`, fed.httpToken)).status, 200);
      assert.equal((await getWithHost(port, '/healthz', `10.0.0.9:${port}`)).status, 200);
      const hungaryTls = { address: fed.grpcAddress, tls: loadSiteTls(fed.siteYaml('hungary')) };
      assert.equal(statusName((await challengeOf(hungaryTls)).code), 'OK', 'hungary may connect before the revocation');

      // Revoked from the command line while the coordinator runs (it reads the coordinator kit's tls/crl.pem).
      const revoked = spawnSync(process.execPath, [BIN, 'provision', 'revoke-site', '--dir', fed.kits.outDir, '--site', 'hungary'], { encoding: 'utf8' });
      assert.equal(revoked.status, 0, revoked.stderr);
      const refused = await challengeOf(hungaryTls);
      assert.equal(statusName(refused.code), statusName(grpc.status.UNAUTHENTICATED));
      assert.equal(refused.details, PEER_REFUSED_MESSAGE, 'the uniform refusal: nothing says why');
      const hungary = fed.startSite('hungary');
      // Its kit agrees with itself, so the site cannot say more, nor tell a revocation from the coordinator's own
      // trouble (a stale revocation list, its clock), which a restart would outlast: exit 1, which the unit restarts.
      assert.equal(await hungary.exitCode(60_000), 1, hungary.tail());
      assert.match(hungary.otherStderr.join('\n'), /cannot tell which check failed .*: the certificate itself was refused, before identity\.json was used \(this site revoked/);
      assert.ok(
        coordinator.logs.some((l) => l.message === 'peer certificate refused' && l.code === 'revoked' && l.site === 'hungary'),
        'the coordinator log says the certificate is revoked, and whose',
      );

      // The added site and an original one run the federation.
      const sites = ['cleveland', 'va'].map((s) => fed.startSite(s));
      assert.equal(await coordinator.exitCode(150_000), 0, 'coordinator exit code');
      for (const s of sites) assert.equal(await s.exitCode(10_000), 0, `${s.name} exit code`);
      const r = fed.results<ResultsFile>(coordinator);
      assert.deepEqual(r.history.map((h) => [h.round, h.participants, h.accepted]), [[1, 2, true]]);
      assert.ok(coordinator.logs.some((l) => l.message === 'site joined' && l.site === 'va'), 'va joined');
      assert.ok(!coordinator.logs.some((l) => l.message === 'site joined' && l.site === 'hungary'), 'hungary never joined');
    },
  );
});

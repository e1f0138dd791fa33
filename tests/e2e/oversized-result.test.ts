// A compromised site (cleveland's TLS and signing keys) sends, in its own round, a signed
// result whose header claims 200 MiB for a model of a few hundred weights: refused on the
// claim before anything reaches the spool, counted, cleveland fails that round at once,
// and the federation completes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import type { ResultsFile } from '../../cli/results.ts';
import { PayloadSealer } from '../../shared/crypto/envelope.ts';
import { decodeKey, readIdentityFile } from '../../shared/crypto/keys.ts';
import { loadSiteTls } from '../../shared/pki/kit-tls.ts';
import { statusName, submitFrames } from './helpers/grpc-client.ts';
import { withFederation } from './helpers/federation.ts';

const SITES = ['cleveland', 'hungary'];
const CLAIM = 200 * 1024 * 1024;

/** Bytes under `dir`, recursively (0 when it does not exist). */
function du(dir: string): number {
  let total = 0;
  try {
    for (const e of readdirSync(dir, { withFileTypes: true })) total += e.isDirectory() ? du(join(dir, e.name)) : statSync(join(dir, e.name)).size;
  } catch {
    return 0;
  }
  return total;
}

test('a signed 200 MiB claim is refused before spooling; the site fails that round; the run completes', { timeout: 150_000 }, async () => {
  await withFederation({ sites: SITES, rounds: 2, quorum: { minSitesToAccept: 1 }, hardTimeoutMs: 140_000 }, async (fed) => {
    const coordinator = await fed.startCoordinator();
    const sites = Object.fromEntries(SITES.map((s) => [s, fed.startSite(s)]));
    await coordinator.waitForLog((l) => l.message === 'federation state' && l.state === 'training' && l.round === 1, 60_000, 'round 1 training');
    // Cleveland's own process must not answer first: the claim is made in its place.
    sites.cleveland!.kill('SIGSTOP');
    const spoolDir = join(fed.kits.coordinatorKit, 'state', 'spool');
    let outcome;
    try {
      const id = readIdentityFile(join(fed.siteKit('cleveland'), 'identity.json'));
      const sealer = new PayloadSealer({ federation: 'e2e', round: 1, site: 'cleveland', kind: 'fit-result' }, new Uint8Array(CLAIM), {
        signingSecretKey: id.signing.secretKey,
        recipientBoxPublicKey: decodeKey(fed.manifest().coordinator.boxPublicKey, 32, 'coordinator box key'),
      });
      const chunks = sealer.chunks();
      const frames = [{ header: { header: sealer.header, signature: sealer.signature } }, ...Array.from({ length: 4 }, () => ({ chunk: chunks.next().value as Uint8Array }))];
      outcome = await submitFrames({ address: fed.grpcAddress, tls: loadSiteTls(fed.siteYaml('cleveland')) }, frames);
      assert.equal(du(spoolDir), 0, 'nothing was spooled');
    } finally {
      sites.cleveland!.kill('SIGCONT');
    }
    assert.equal(statusName(outcome.code), statusName(grpc.status.RESOURCE_EXHAUSTED), outcome.details);
    assert.match(outcome.details, /claims 209715200 payload bytes, over the \d+ this result may take/);
    const metrics = await fed.getText('/metrics');
    assert.match(metrics, /fedcausal_refusals_total\{reason="oversized",site="cleveland"\} 1/);

    assert.equal(await coordinator.exitCode(90_000), 0, coordinator.tail());
    for (const s of SITES) assert.equal(await sites[s]!.exitCode(30_000), 0, sites[s]!.tail());
    const r = fed.results<ResultsFile>(coordinator);
    const failed = r.history[0]!.failed.find((f) => f.site === 'cleveland');
    assert.match(failed?.reason ?? '', /^update refused: fit-result claims 209715200 payload bytes/);
    assert.equal(r.history[1]!.participants, 2, 'cleveland is back in round 2');
  });
});

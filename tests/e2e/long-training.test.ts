// A site whose local training takes far longer than gRPC keepalive allows a silent
// peer (10 s ping + 5 s timeout) stays connected: training yields to the event loop,
// so the pings are answered while it runs. Before that, a round over ~15 s dropped the
// site and the round went unaccepted; this test fails on that code.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ResultsFile } from '../../cli/results.ts';
import { withFederation } from './helpers/federation.ts';

const SITE = 'cleveland';
/** Keepalive ping interval + timeout: a site blocked longer than this is cut off. */
const KEEPALIVE_MS = 15_000;
// cleveland's 212 training rows one at a time (~1 ms a step on wasm): about a minute
// of training on the machine this was written on, and well over 15 s on a 3x faster one.
const MODEL = { kind: 'baseline', localEpochs: 250, batchSize: 1 };

test('a site whose local training takes about a minute stays connected and its round is accepted', { timeout: 170_000 }, async () => {
  await withFederation(
    { sites: [SITE], rounds: 1, model: MODEL, quorum: { minSitesToAccept: 1 }, hardTimeoutMs: 160_000 },
    async (fed) => {
      const coordinator = await fed.startCoordinator();
      const site = fed.startSite(SITE);
      await coordinator.waitForLog((l) => l.message === 'federation state' && l.state === 'training' && l.round === 1, 60_000, 'round 1 training');
      // Still online well past the keepalive's limit, while it trains.
      await new Promise((r) => setTimeout(r, KEEPALIVE_MS + 5_000));
      const dropped = coordinator.logs.find((l) => l.message === 'site disconnected');
      assert.equal(dropped, undefined, 'the coordinator dropped the site while it trained');
      assert.ok(!site.logs.some((l) => l.message === 'round trained'), 'the site was still training (make the model slower if this machine is fast)');
      assert.equal((await fed.status()).sites.find((s) => s.name === SITE)?.online, true, 'online in /api/status mid-training');

      const trained = await site.waitForLog((l) => l.message === 'round trained', 140_000, '"round trained"');
      assert.ok(Number(trained.trainMs) > KEEPALIVE_MS + 5_000, `training took ${trained.trainMs} ms, longer than keepalive tolerates`);
      const committed = await coordinator.waitForLog((l) => l.message === 'round committed' && l.round === 1, 30_000, 'round 1 committed');
      assert.equal(committed.participants, 1, 'the slow site took part');
      assert.equal(committed.failures, 0);

      assert.equal(await coordinator.exitCode(60_000), 0, 'coordinator exit code');
      assert.equal(await site.exitCode(10_000), 0, 'site exit code');
      const r = fed.results<ResultsFile>(coordinator);
      assert.deepEqual(r.history.map((h) => [h.participants, h.accepted]), [[1, true]]);
      assert.deepEqual(Object.keys(r.sites), [SITE], 'the final evaluation has the site');
      assert.ok(!coordinator.logs.some((l) => l.message === 'site disconnected'), 'the coordinator never lost the site');
      assert.ok(!site.logs.some((l) => String(l.message).startsWith('connection to the coordinator lost')), 'the site never lost the coordinator');
      process.stderr.write(`# long training: ${trained.trainMs} ms in one round, site stayed connected\n`);
    },
  );
});

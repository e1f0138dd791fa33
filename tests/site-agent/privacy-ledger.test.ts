// The site's own account of its DP releases (site-agent/privacy-ledger.ts): one release a training
// round whatever the coordinator asks, and no release past site.yaml privacy.maxEpsilon. A hostile
// re-try asked one round again with training pinned and subtracted the two releases, and averaged
// as many nudged re-asks as it liked.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { exitCodeFor } from '../../shared/errors.ts';
import { dpTaskConfig } from '../../shared/privacy/dp.ts';
import { agent, end, fakeRunner, model, prior, serve, serveWith, space, task } from './agent-harness.ts';

const dp = dpTaskConfig({ clipNorm: 1, noiseMultiplier: 1, delta: 1e-5 });
const global = Float32Array.from([0.5, -0.25, 2]);
const fit = (round: number, weights = global, config: Record<string, number> = {}) => task({ kind: 'fit', round, featureSpace: space, prior, model, config: { ...dp, ...config } }, weights);

test('the same round asked again after a reconnection: the same task gets the same release; other contents are refused, nothing sent', async () => {
  const runner = fakeRunner();
  const { agent: a } = agent({ runner: runner.factory });
  const first = await serveWith(a, [fit(1)], runner); // the stream ends: a coordinator restarted mid-round
  const again = await serveWith(a, [fit(1)], runner);
  assert.deepEqual(again.submitted[0]!.weights, first.submitted[0]!.weights, 'the same task: the same release');
  // Training pinned (a huge proximal term) or a weight nudged: other contents for a round already released.
  for (const other of [fit(1, global, { proximalMu: 1e6 }), fit(1, Float32Array.from([0.5, -0.25, 2.0000002]))]) {
    const { agent: b } = agent({ runner: runner.factory });
    await serveWith(b, [fit(1)], runner);
    const asked = await serveWith(b, [other], runner);
    assert.equal(asked.submitted.length, 1, 'one answer: the refusal');
    assert.equal(asked.submitted[0]!.weights.length, 0, 'no weights');
    assert.match(String(asked.submitted[0]!.meta.error), /^round 1's training task came again with other contents after this site released that round: a second release of one round would let its noise be averaged away$/);
    assert.equal(exitCodeFor(asked.ended.error), 2);
  }
});

test('a task that differs in anything gets other noise: two releases never share it (subtracting them left the update)', async () => {
  const pinned = (await serve([fit(1, global, { proximalMu: 1e6 }), end(1)], {}, fakeRunner())).submitted[0]!.weights;
  const plain = (await serve([fit(1), end(1)], {}, fakeRunner())).submitted[0]!.weights;
  // fakeRunner trains alike whatever the config: were the noise the same, the two would be equal.
  assert.notDeepEqual(pinned, plain);
});

test('privacy.maxEpsilon: the round whose release would pass the site\'s own budget is refused, naming it', async () => {
  const runner = fakeRunner();
  // At noise 1 a round costs ε 12.3 alone (δ 1e-5): a budget of 15 takes one round, not two.
  const { ended, submitted } = await serve([fit(1), fit(2), end(2)], { privacy: { requireSecureAggregation: false, requireDifferentialPrivacy: false, maxEpsilon: 15 } }, runner);
  assert.equal(submitted.length, 2);
  assert.equal(submitted[0]!.meta.error, undefined);
  assert.match(String(submitted[1]!.meta.error), /^this site's privacy budget \(site\.yaml privacy\.maxEpsilon 15, at δ = 0\.00001\) would be passed by round 2's release \(ε \d+(\.\d+)? after it, 1 round released before\)$/);
  assert.equal(exitCodeFor(ended.error), 2);
  // Without DP the budget asks for it.
  const none = await serve([task({ kind: 'fit', round: 1, featureSpace: space, prior, model, config: {} }, global), end(1)], { privacy: { requireSecureAggregation: false, requireDifferentialPrivacy: false, maxEpsilon: 20 } }, fakeRunner());
  assert.match(String(none.submitted[0]!.meta.error), /requires differential privacy \(site\.yaml privacy\.maxEpsilon\)/);
});

// The site's own account of its DP releases (site-agent/privacy-ledger.ts): one release a training
// round whatever the coordinator asks, and no release past site.yaml privacy.maxEpsilon. A hostile
// re-try asked one round again with training pinned and subtracted the two releases, and averaged
// as many nudged re-asks as it liked.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { exitCodeFor } from '../../shared/errors.ts';
import { dpTaskConfig } from '../../shared/privacy/dp.ts';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { noisyPatternCounts } from '../../shared/privacy/dp.ts';
import { releaseDigest } from '../../shared/privacy/task-privacy.ts';
import type { TaskMeta } from '../../shared/protocol/messages.ts';
import { PrivacyLedger } from '../../site-agent/privacy-ledger.ts';
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
  assert.match(String(submitted[1]!.meta.error), /^this site's privacy budget \(site\.yaml privacy\.maxEpsilon 15, at δ = 0\.00001\) would be passed by round 2's release \(ε \d+(\.\d+)? after it, 1 release before\)$/);
  assert.equal(exitCodeFor(ended.error), 2);
  // Without DP the budget asks for it.
  const none = await serve([task({ kind: 'fit', round: 1, featureSpace: space, prior, model, config: {} }, global), end(1)], { privacy: { requireSecureAggregation: false, requireDifferentialPrivacy: false, maxEpsilon: 20 } }, fakeRunner());
  assert.match(String(none.submitted[0]!.meta.error), /requires differential privacy \(site\.yaml privacy\.maxEpsilon\)/);
});

test("an earlier round asked after a later one is refused: the same noise over other training (the runner's stream had moved on) left a noiseless difference", async () => {
  const runner = fakeRunner();
  const { agent: a } = agent({ runner: runner.factory });
  await serveWith(a, [fit(1), fit(2)], runner);
  const back = await serveWith(a, [fit(1)], runner);
  assert.match(String(back.submitted[0]!.meta.error), /^round 1's training task came after this site released round 2: training rounds only advance/);
  assert.equal(back.submitted[0]!.weights.length, 0);
});

test("a task's digest is its content, not its serialisation: keys in another order are the same task", () => {
  const w = Float32Array.from([1, 2]);
  assert.equal(releaseDigest({ round: 1, config: { a: 1, b: 2 } }, w), releaseDigest({ config: { b: 2, a: 1 }, round: 1 }, w));
  assert.notEqual(releaseDigest({ round: 1, config: { a: 1, b: 3 } }, w), releaseDigest({ round: 1, config: { a: 1, b: 2 } }, w));
  assert.equal(releaseDigest({ round: 1, secagg: { session: 'x' } }, w), releaseDigest({ round: 1, secagg: { session: 'y' } }, w), 'the secure-sum session aside');
});

test('the budget spent is kept in a file (0600) across restarts, which a coordinator can cause: a new process starts from it', () => {
  const dir = mkdtempSync(join(tmpdir(), 'fedcausal-ledger-'));
  try {
    const file = join(dir, 'privacy-ledger-fed.json');
    const fitTask = (round: number) => ({ kind: 'fit', round, config: dp }) as unknown as TaskMeta;
    const first = new PrivacyLedger(15, 'fed', file);
    assert.equal(first.refusal(fitTask(1), 'd1'), undefined);
    first.record(fitTask(1), 'd1');
    assert.equal(statSync(file).mode & 0o777, 0o600);
    // Restarted: round 1 asked again (the same task) is its spending again, past 15 with the first.
    const again = new PrivacyLedger(15, 'fed', file);
    assert.equal(again.spent(), first.spent());
    assert.match(again.refusal(fitTask(1), 'd1')!, /would be passed by round 1's release \(ε [\d.]+ after it, 1 release before\)/);
    assert.equal(new PrivacyLedger(15, 'other', file).spent(), 0, "another federation's file is not this one's");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a prior listing one pattern many times gets one noised count for it (14 listings averaged its noise within one release)', () => {
  const counts = noisyPatternCounts({ '10': [30, 5], '11': [40, 40] }, ['10', ...Array<string>(13).fill('10'), '11'], 1, 115);
  assert.deepEqual(Object.keys(counts).sort(), ['10', '11']);
});

test('in a DP run, one final evaluation a process: another with other contents (crafted models reading the rows) is refused; the same again is answered', async () => {
  const runner = fakeRunner();
  const { agent: a } = agent({ runner: runner.factory });
  const evaluate = (weights: Float32Array) => task({ kind: 'evaluate', round: 3, featureSpace: space, prior, model, config: { ...dp, final: true } }, weights);
  await serveWith(a, [fit(1), fit(2)], runner);
  const first = await serveWith(a, [evaluate(global)], runner);
  assert.equal(first.submitted[0]!.meta.error, undefined);
  const same = await serveWith(a, [evaluate(global)], runner);
  assert.equal(same.submitted[0]!.meta.error, undefined, 'the same task again (a coordinator restarted mid-evaluation)');
  const crafted = await serveWith(a, [evaluate(Float32Array.from([0, 0, 9]))], runner);
  assert.match(String(crafted.submitted[0]!.meta.error), /^a final evaluation came again with other contents after this site answered one/);
});

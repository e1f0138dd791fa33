// The hospital's floor under the federation's protections (site.yaml privacy): a task below it
// is answered with the site's words and nothing of its rows, and the site exits 2; a task that
// meets it is served; the first task's protections are said in one line. A DPO's review found
// a site that answered plain statistics to any coordinator and never said which mode it was in.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { generateIdentity } from '../../shared/crypto/keys.ts';
import { exitCodeFor, InputError } from '../../shared/errors.ts';
import { silentLogger, type LogFields, type Logger } from '../../shared/logger.ts';
import { dpTaskConfig } from '../../shared/privacy/dp.ts';
import { privacyTaskConfig } from '../../shared/privacy/task-privacy.ts';
import { compileSecAggConfig } from '../../shared/secagg/config.ts';
import { SECAGG_PHASE, secaggStage, toB64 } from '../../shared/secagg/wire.ts';
import { floorRefusal, type PrivacyFloor } from '../../site-agent/privacy-floor.ts';
import { end, fakeRunner, model, prior, serve, site, SITE, space, task, type Submitted } from './agent-harness.ts';

const NONE: PrivacyFloor = { requireSecureAggregation: false, requireDifferentialPrivacy: false };
const dp = { clipNorm: 1, noiseMultiplier: 0.5, delta: 1e-5 };
/** What this release's coordinator states in every task. */
const stated = (minCellCount = 5, minCategoryCount = 5, withDp = false) => privacyTaskConfig({ minCellCount, minCategoryCount, ...(withDp ? { dp } : {}) });

/** A refusal: the site's words, and not one figure of its rows (no count, metric, statistic or weight). */
function assertRefusal(submitted: Submitted[], ended: { error: unknown }, words: string) {
  assert.equal(submitted.length, 1, 'one answer: the refusal');
  const [r] = submitted as [Submitted];
  assert.deepEqual(r.meta, { round: r.round, kind: r.meta.kind, numExamples: 0, metrics: {}, weights: 0, error: words, withdraws: true }, 'withdraws: no round waits for it');
  assert.equal(r.weights.length, 0);
  assert.ok(ended.error instanceof InputError, `exits as a configuration mismatch, got ${String(ended.error)}`);
  assert.equal(exitCodeFor(ended.error), 2);
  assert.ok(ended.error.message.startsWith(`${words}: this site takes no part`), ended.error.message);
}

test('requireSecureAggregation: a plain statistics task is refused with the site\'s words, nothing computed or sent', async () => {
  const runner = fakeRunner();
  const { submitted, ended } = await serve([task({ kind: 'stats', round: 0, stage: 1, config: stated() }), end(0)], { privacy: { ...NONE, requireSecureAggregation: true } }, runner);
  assertRefusal(submitted, ended, 'this site requires secure aggregation (site.yaml privacy.requireSecureAggregation) and the statistics task of round 0 has none');
  assert.equal(submitted[0]!.kind, 'stats-result-1');
});

test('requireDifferentialPrivacy: a fit task without DP is refused before the model is touched', async () => {
  const runner = fakeRunner();
  const global = Float32Array.from([0.5, -0.25, 2]);
  const { submitted, ended } = await serve([task({ kind: 'fit', round: 1, featureSpace: space, prior, model, config: stated() }, global), end(1)], { privacy: { ...NONE, requireDifferentialPrivacy: true } }, runner);
  assertRefusal(submitted, ended, 'this site requires differential privacy (site.yaml privacy.requireDifferentialPrivacy) and the fit task of round 1 says this federation runs without it');
  assert.deepEqual(runner.calls, [], 'no model set up, evaluated or trained');
});

test('minNoiseMultiplier: a fit task asking for less noise is refused (DP at 0.01 protects nothing); one at the floor is served', async () => {
  const global = Float32Array.from([0.5, -0.25, 2]);
  const floor = { ...NONE, minNoiseMultiplier: 1 };
  const thin = await serve([task({ kind: 'fit', round: 1, featureSpace: space, prior, model, config: { ...stated(), ...dpTaskConfig({ ...dp, noiseMultiplier: 0.01 }) } }, global), end(1)], { privacy: floor }, fakeRunner());
  assertRefusal(thin.submitted, thin.ended, 'this site requires a noise multiplier of at least 1 (site.yaml privacy.minNoiseMultiplier) and the fit task of round 1 asks for 0.01');
  const none = await serve([task({ kind: 'fit', round: 1, featureSpace: space, prior, model, config: stated() }, global), end(1)], { privacy: floor }, fakeRunner());
  assertRefusal(none.submitted, none.ended, 'this site requires differential privacy (site.yaml privacy.minNoiseMultiplier) and the fit task of round 1 says this federation runs without it');
  const enough = await serve([task({ kind: 'fit', round: 1, featureSpace: space, prior, model, config: { ...stated(), ...dpTaskConfig({ ...dp, noiseMultiplier: 1 }) } }, global), end(1)], { privacy: floor }, fakeRunner());
  assert.equal(enough.ended.error, undefined, String(enough.ended.error));
  assert.equal(enough.submitted[0]!.meta.error, undefined);
});

test('minCellCount: a lower threshold, or none stated (an earlier coordinator), is refused', async () => {
  const floor = { ...NONE, minCellCount: 10 };
  const low = await serve([task({ kind: 'stats', round: 0, stage: 1, config: stated(5, 20) }), end(0)], { privacy: floor });
  assertRefusal(low.submitted, low.ended, 'this site requires minCellCount of at least 10 (site.yaml privacy.minCellCount) and the statistics task of round 0 has 5');
  const silent = await serve([task({ kind: 'stats', round: 0, stage: 1 }), end(0)], { privacy: floor });
  assertRefusal(silent.submitted, silent.ended, 'this site requires minCellCount of at least 10 (site.yaml privacy.minCellCount) and the statistics task of round 0 does not state one (a coordinator of an earlier release)');
  // The prior says the threshold it was derived with (5 here): a task stating more is held to it.
  const fit = await serve([task({ kind: 'fit', round: 1, featureSpace: space, prior, model, config: stated(10, 10) }, new Float32Array(3)), end(1)], { privacy: floor });
  assertRefusal(fit.submitted, fit.ended, 'this site requires minCellCount of at least 10 (site.yaml privacy.minCellCount) and the fit task of round 1 has 5');
});

test("minCellCount: a prior stating its minimum but holding a smaller pattern is held to the pattern it kept", async () => {
  const floor = { ...NONE, minCellCount: 5 };
  // States 10, keeps a pattern of 1 row (0.1 of 10): a coordinator's word and its prior disagree (a DPO re-review).
  const lying = { ...prior, minCount: 10, totalRows: 10, patterns: [{ pattern: '11', p: 0.9 }, { pattern: '10', p: 0.1 }] };
  const r = await serve([task({ kind: 'fit', round: 1, featureSpace: space, prior: lying, model, config: stated(10, 10) }, new Float32Array(3)), end(1)], { privacy: floor });
  assertRefusal(r.submitted, r.ended, 'this site requires minCellCount of at least 5 (site.yaml privacy.minCellCount) and the fit task of round 1 has 1');
});

test('minCategoryCount: the final evaluation stating a lower one is refused, its metrics unsent', async () => {
  const runner = fakeRunner();
  const config = { ...stated(5, 2), final: true };
  const { submitted, ended } = await serve([task({ kind: 'evaluate', round: 3, featureSpace: space, prior, model, config }, new Float32Array(3)), end(3)], { privacy: { ...NONE, minCategoryCount: 5 } }, runner);
  assertRefusal(submitted, ended, 'this site requires minCategoryCount of at least 5 (site.yaml privacy.minCategoryCount) and the final evaluation task of round 3 has 2');
  assert.deepEqual(runner.calls, []);
});

test('a secure-sum phase is held to the floor too; several faults are said together', async () => {
  const phase = task({ kind: 'secagg', round: 2, stage: secaggStage(0, SECAGG_PHASE.share), secagg: { session: 'fed/2/fit/x' }, config: stated(3, 3) });
  const { submitted, ended } = await serve([phase, end(2)], { privacy: { requireSecureAggregation: true, requireDifferentialPrivacy: true, minCellCount: 4 } });
  assertRefusal(
    submitted,
    ended,
    'this site requires differential privacy (site.yaml privacy.requireDifferentialPrivacy) and the secure-aggregation task of round 2 says this federation runs without it; ' +
      'this site requires minCellCount of at least 4 (site.yaml privacy.minCellCount) and the secure-aggregation task of round 2 has 3',
  );
});

test('tasks that meet the floor are served as usual; an end needs nothing', async () => {
  const floor: PrivacyFloor = { requireSecureAggregation: false, requireDifferentialPrivacy: true, minCellCount: 5, minCategoryCount: 5 };
  const global = Float32Array.from([0.5, -0.25, 2]);
  const { submitted, ended } = await serve(
    [task({ kind: 'stats', round: 0, stage: 1, config: stated(5, 8, true) }), task({ kind: 'fit', round: 1, featureSpace: space, prior, model, config: { ...stated(5, 8), ...dpTaskConfig(dp) } }, global), end(1)],
    { privacy: floor },
  );
  assert.equal(ended.error, undefined);
  assert.deepEqual(submitted.map((s) => [s.kind, s.meta.error]), [['stats-result-1', undefined], ['fit-result', undefined]]);
  assert.ok(submitted[0]!.meta.featureStats, 'the statistics are sent');
  assert.equal(submitted[1]!.weights.length, 3);
  const all = { ...floor, requireSecureAggregation: true };
  const ends = await serve([end(0)], { privacy: all });
  assert.equal(ends.ended.error, undefined);
  assert.deepEqual(ends.submitted, []);
  assert.equal(floorRefusal(all, { federation: 'fed', round: 0, kind: 'end', config: {}, weights: 0 }), undefined);
});

test('requireSecureAggregation: a secure statistics task is served', async () => {
  const key = () => toB64(generateIdentity().signing.publicKey);
  const roster = { [SITE]: toB64(site.signing.publicKey), b: key(), c: key() };
  const secure = task({ kind: 'stats', round: 0, stage: 1, config: stated(), secagg: { session: 'fed/0/stats-1', config: compileSecAggConfig({}), roster } });
  const { submitted, ended } = await serve([secure, end(0)], { privacy: { ...NONE, requireSecureAggregation: true } });
  assert.equal(ended.error, undefined);
  assert.equal(submitted[0]!.meta.error, undefined);
  assert.ok(submitted[0]!.meta.secagg, 'answered with a key advertisement');
});

test('the first task\'s protections and the site\'s floor are said once, in one info line', async () => {
  const lines: { message: string; fields: LogFields }[] = [];
  const log: Logger = { ...silentLogger, info: (message, fields = {}) => void lines.push({ message, fields }), child: () => log };
  const config = stated(6, 7, true);
  await serve([task({ kind: 'stats', round: 0, stage: 1, config }), task({ kind: 'stats', round: 1, stage: 1, config }), end(1)], { log, privacy: { ...NONE, minCellCount: 5 } });
  const said = lines.filter((l) => l.message.startsWith("this federation's protections"));
  assert.equal(said.length, 1, 'once');
  assert.deepEqual(said[0]!.fields, {
    secureAggregation: 'off',
    differentialPrivacy: 'on',
    dpClipNorm: 1,
    dpNoiseMultiplier: 0.5,
    minCellCount: 6,
    minCategoryCount: 7,
    siteFloor: 'minCellCount >= 5',
  });
  const plain: { message: string; fields: LogFields }[] = [];
  const quiet: Logger = { ...silentLogger, info: (message, fields = {}) => void plain.push({ message, fields }), child: () => quiet };
  await serve([task({ kind: 'stats', round: 0, stage: 1 }), end(0)], { log: quiet });
  assert.deepEqual(plain.find((l) => l.message.startsWith("this federation's protections"))?.fields, {
    secureAggregation: 'off',
    differentialPrivacy: 'off',
    minCellCount: 'not stated',
    minCategoryCount: 'not stated',
    siteFloor: 'none (site.yaml privacy sets no floor)',
  });
});

/**
 * A hostile site's result is checked when it arrives and refused for that site alone: the
 * run goes on with the honest sites (round-loop.ts `admit`). Each case here once passed on
 * receipt and ended the whole run, or poisoned what it published, when it was used later
 * (an outside attack with an enrolled site's own keys).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { DebiasHooks } from '../../coordinator/debias-monitor.ts';
import { HIST_BINS, validateHealthSums, type HealthSums } from '../../shared/data/debias-health.ts';
import { calibrationSums } from '../../shared/metrics/calibration.ts';
import type { ResultMeta } from '../../shared/protocol/messages.ts';
import { alive, fitFailures, harness, stateFile } from './round-loop-harness.ts';

const SITES = ['a', 'b', 'c'];
/** Two of three sites carry a round: the hostile one (c) failing it is what the quorum tolerates. */
const QUORUM = { minSitesToAccept: 2, minSitesToStart: 3 };
const tamperedBy = (site: string, when: (meta: ResultMeta) => boolean, tamper: (meta: ResultMeta) => void) => (s: string) =>
  s === site ? { tamper: (m: ResultMeta) => void (when(m) && tamper(m)) } : 'answer';

for (const [what, sum, sumSq] of [
  ['a sum that is not a number', 'abc', 1],
  ['sums of 1e300 (finite, but an SD beyond float32)', 1e300, 1e300],
] as const) {
  test(`statistics with ${what}: that site is refused, the feature space published and saved is the honest sites'`, async (t) => {
    const { open } = stateFile(t);
    const store = open();
    t.after(() => store.close());
    const h = harness({
      sites: SITES,
      rounds: 1,
      quorum: QUORUM,
      store,
      behave: tamperedBy('c', (m) => m.kind === 'stats', (m) => Object.assign(m.featureStats!.numeric.age!, { sum, sumSq })),
    });
    const outcome = await alive(h.loop.run());
    assert.ok(outcome.warnings.some((w) => /^site "c" trained in no round: its statistics were not counted \(update refused: stats from site "c": featureStats\.numeric\["age"\]\.sum/.test(w)), JSON.stringify(outcome.warnings));
    const scaled = (cols: { mean: number; std: number }[]) => cols.every((c) => Number.isFinite(Math.fround(c.mean)) && Number.isFinite(Math.fround(c.std)));
    assert.ok(scaled(outcome.featureSpace.columns), JSON.stringify(outcome.featureSpace.columns.find((c) => c.feature === 'age')));
    assert.ok(scaled((store.load()!.setup as { space: { columns: { mean: number; std: number }[] } }).space.columns), 'the saved setup');
    assert.equal(outcome.history[0]!.participants, 2);
  });
}

test("a fit result's evaluation out of range, or its loss below 0, is refused for the round; unknown fields are not kept", async () => {
  const h = harness({
    sites: SITES,
    rounds: 2,
    quorum: QUORUM,
    behave: (site, task) => {
      if (site === 'c' && task.kind === 'fit' && task.round === 1) return { tamper: (m) => Object.assign(m.evaluation!, { auroc: 57, accuracy: -3 }) };
      if (site === 'c' && task.kind === 'fit' && task.round === 2) return { tamper: (m) => (m.metrics.loss = -5) };
      // Junk beside sound figures: dropped before the round's record (and the state file) keeps them.
      if (site === 'b' && task.kind === 'fit') return { tamper: (m) => Object.assign(m.evaluation!, { pad: 'x'.repeat(10_000) }) };
      return 'answer';
    },
  });
  const outcome = await alive(h.loop.run());
  assert.deepEqual(fitFailures(h, 1), [{ site: 'c', reason: 'update refused: fit from site "c": evaluation.auroc must be a number in [0, 1], or null where undefined (got 57)' }]);
  assert.deepEqual(fitFailures(h, 2), [{ site: 'c', reason: 'update refused: fit from site "c": metrics.loss must be a finite number >= 0 (got -5)' }]);
  for (const r of outcome.history) {
    assert.equal(r.accepted, true);
    assert.equal(r.metrics.eval_auroc, 0.7, 'the honest sites\' AUROC');
    assert.deepEqual(Object.keys(r.siteEvaluations.b!).sort(), ['accuracy', 'auroc', 'balancedAccuracy', 'ece', 'n']);
  }
});

/** Well-formed health sums of one reading, "r". */
const healthOf = (n: number): HealthSums => {
  const bins = () => new Array<number>(HIST_BINS).fill(n / (2 * HIST_BINS));
  return { n, sumW: n, sumW2: n, upW: 0, readings: [{ feature: 'r', column: 0, hist: [bins(), bins()], moments: [[1, 1, 1, 1, 1, 1], [1, 1, 1, 1, 1, 1]] }] };
};

test('debiased, plain: health sums of 1e999 refuse that site for the round, not the run; a refusal names the site', async () => {
  const from: (readonly string[] | undefined)[] = [];
  const debias: DebiasHooks = {
    decide: (spec) => ({ spec, balanceFeatures: [], report: { version: 3, mode: 'on', decision: 'on', weighting: 'none', dualBranch: false, share: 0, flagged: [], markers: [], reason: 'test' } }),
    fitBalance: () => {
      throw new Error('no stage 3 here');
    },
    health: (_spec, sums, names) => {
      from.push(names);
      sums.forEach((s, i) => validateHealthSums(s, ['r'], `health sums from ${names?.[i] ?? `site ${i + 1}`}`));
      return { weightedAssociation: { r: 0.6 }, reliance: { r: 0.1 }, conflictingShare: 0, effectiveSampleSize: 1, tolerance: 0.45 };
    },
    readings: () => ['r'],
  };
  const h = harness({
    sites: SITES,
    rounds: 2,
    quorum: QUORUM,
    debias,
    behave: (site, task) =>
      task.kind !== 'fit' ? 'answer' : { tamper: (m) => (m.health = (site === 'c' && task.round === 1 ? Infinity : healthOf(m.numExamples)) as HealthSums) },
  });
  const outcome = await alive(h.loop.run());
  assert.deepEqual(fitFailures(h, 1), [{ site: 'c', reason: 'update refused: fit from site "c": health: health sums must be an object' }]);
  assert.deepEqual(outcome.history.map((r) => [r.accepted, r.participants, r.health?.weightedAssociation.r]), [[true, 2, 0.6], [true, 3, 0.6]]);
  assert.deepEqual(from, [['site "a"', 'site "b"'], ['site "a"', 'site "b"', 'site "c"']]);
});

test("final evaluation: a site's own calibration out of range refuses its evaluation; float rounding is tolerated; the run ends with results", async () => {
  const calibration = calibrationSums([0, 1, 1, 0, 1], [0.2, 0.8, 0.6, 0.3, 0.9]);
  const own = { a: 1.1, b: 0.2, rows: 50, prevalence: 0.4, eceBefore: 0.1, eceAfter: 0.05 };
  const h = harness({
    sites: SITES,
    rounds: 1,
    quorum: QUORUM,
    behave: (site, task) =>
      task.kind !== 'evaluate'
        ? 'answer'
        : {
            tamper: (m) =>
              Object.assign(m, {
                calibration,
                // a: an honest site's mean of scores in [0, 1], off by rounding; c: a lie.
                siteCalibration: { ...own, meanScore: site === 'a' ? 1.0000000000000056 : site === 'c' ? 5 : 0.5 },
              }),
          },
  });
  const outcome = await alive(h.loop.run());
  assert.deepEqual(Object.keys(outcome.sites), ['a', 'b']);
  assert.deepEqual(outcome.warnings, ['final evaluation missing from c: update refused: evaluate from site "c": siteCalibration: meanScore is 5; must be in [0, 1]']);
  assert.deepEqual(outcome.problems, []);
  assert.deepEqual(outcome.calibration?.fittedOn, ['a', 'b']);
  assert.equal(outcome.calibration?.sites.a?.own?.meanScore, 1, 'clamped into [0, 1]');
});

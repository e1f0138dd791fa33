import assert from 'node:assert/strict';
import { test } from 'node:test';
import { calibrationSums, mergeCalibrationSums } from '../../../shared/metrics/calibration.ts';
import { compileSecAggConfig } from '../../../shared/secagg/config.ts';
import { decodedSum } from './helpers.ts';
import { checkScopeSurvivors, evaluationFromSum, evaluationLayout, evaluationValues, MIN_SCOPE_SITES, siteReport } from '../../../shared/secagg/eval-parts.ts';

const config = compileSecAggConfig({});
const metrics = (n: number, k: number) => ({ n, auroc: k / n, accuracy: (k - 1) / n, balancedAccuracy: 0.5 + 1 / (3 * n), ece: 1 / (7 * n), loss: 0.6931 });

const sum = (values: Record<string, number[]>[], sites: number) => decodedSum(evaluationLayout(config, sites), values);

test('the summed evaluation gives the held-out rows, the count-weighted means and the merged calibration sums per scope', () => {
  const cal = [calibrationSums([0, 1, 1, 0], [0.2, 0.7, 0.9, 0.4]), calibrationSums([1, 0, 1], [0.6, 0.3, 0.8]), calibrationSums([1, 0], [0.9, 0.1])];
  const m = [metrics(40, 31), metrics(25, 17), metrics(30, 20)];
  const s = evaluationFromSum(sum(m.map((x, i) => evaluationValues(x, cal[i], 'training', 3, 1e5)), 3), { training: 3, test: 0 });
  assert.equal(s.pooled.training!.n, 95);
  assert.ok(Math.abs(s.pooled.training!.auroc! - (31 + 17 + 20) / 95) < 1e-4);
  assert.equal(s.pooled.test, undefined);
  const merged = mergeCalibrationSums(cal);
  assert.equal(s.calibration.training!.n, merged.n);
  assert.ok(s.calibration.training!.nll.every((x, i) => Math.abs(x - merged.nll[i]!) < 1e-3));
  assert.ok(s.calibration.training!.bins.every((x, i) => Math.abs(x - merged.bins[i]!) < 1e-3));
});

test(`a scope of fewer than ${MIN_SCOPE_SITES} sites is not summed at the site, nor reported by the coordinator`, () => {
  const cal = calibrationSums([0, 1, 1], [0.2, 0.7, 0.9]);
  for (const n of [1, 2]) {
    const few = evaluationValues(metrics(90, 60), cal, 'test', n, 1e5);
    assert.ok(Object.values(few).every((v) => v.every((x) => x === 0)), `a test-only site among ${n} adds nothing`);
  }
  const training = [metrics(40, 31), metrics(25, 17)].map((m) => evaluationValues(m, cal, 'training', 3, 1e5));
  // Dropouts leaving two training sites in the sum: exact means beside their reports would pin their counts down.
  const s = evaluationFromSum(sum(training, 3), { training: 2, test: 0 });
  assert.deepEqual(s.pooled, {});
  assert.deepEqual(s.calibration, {});
});

test('a site\'s report: rounded rates, no row count, its recalibration without its rows', () => {
  const r = siteReport(metrics(18, 13), metrics(18, 11), { a: 1.23456, b: -0.4321, rows: 42, prevalence: 0.4, meanScore: 0.5, eceBefore: 0.12345, eceAfter: 0.05432 });
  assert.deepEqual(r.evaluation, { auroc: 0.72, accuracy: 0.67, balancedAccuracy: 0.52, ece: 0.01, loss: 0.69 });
  assert.equal(r.localEvaluation!.auroc, 0.61);
  assert.deepEqual(r.siteCalibration, { a: 1.23, b: -0.43, eceBefore: 0.12, eceAfter: 0.05 });
  assert.equal(siteReport(metrics(18, 13), undefined, undefined, 4).evaluation!.auroc, 0.7222);
});

test('a survivor list that leaves one site of a summed scope is not signed: its sums would be that site\'s own', () => {
  const roster = ['a', 'b', 'c', 'd', 'e', 'f', 'g'];
  const tests = ['e', 'f', 'g'];
  assert.doesNotThrow(() => checkScopeSurvivors(roster, tests, roster), 'everyone survived');
  assert.doesNotThrow(() => checkScopeSurvivors(roster, tests, ['a', 'b', 'c', 'e', 'f', 'g']), 'three training sites are still a sum');
  assert.doesNotThrow(() => checkScopeSurvivors(roster, tests, ['a', 'b', 'c', 'd']), 'no test-only site left: that scope sums nothing');
  assert.throws(() => checkScopeSurvivors(roster, tests, ['a', 'b', 'c', 'd', 'e', 'f']), /keeps 2 of the 3 test-only sites \(e, f\); a scope is summed over at least 3 or none/);
  assert.throws(() => checkScopeSurvivors(roster, tests, ['a', 'e', 'f', 'g']), /keeps 1 of the 4 training sites \(a\)/);
  // A scope of fewer invited sites sends zeros (evaluationValues), so its sites may survive as they are.
  assert.doesNotThrow(() => checkScopeSurvivors(['a', 'b', 'c', 'd'], ['c', 'd'], ['a', 'b', 'c']));
});

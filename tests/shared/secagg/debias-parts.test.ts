// A debiased round's health sums and pattern counts in the secure vector: the decoded sum
// of the sites' parts is the plain merge, up to quantization; the task's lists are checked.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { EncodedData } from '../../../shared/data/encode.ts';
import { healthSums, mergeHealthSums } from '../../../shared/data/debias-health.ts';
import type { PatternLabelCounts } from '../../../shared/data/patterns.ts';
import { addInto } from '../../../shared/secagg/fixed-point.ts';
import { compileSecAggConfig } from '../../../shared/secagg/config.ts';
import { debiasFromSum, debiasPartValues } from '../../../shared/secagg/debias-parts.ts';
import { SecAggRefusal } from '../../../shared/secagg/errors.ts';
import { secureFitLayout } from '../../../shared/secagg/wire.ts';
import { Rng } from '../../../shared/rng.ts';

function rows(n: number, seed: number): { d: EncodedData; w: Float32Array; s: Float32Array } {
  const rng = new Rng(seed);
  const x = new Float32Array(n * 2);
  const y = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    y[i] = rng.next() < 0.4 ? 1 : 0;
    x[i * 2] = 0.8 * (2 * y[i]! - 1) + rng.normal();
    x[i * 2 + 1] = rng.normal();
  }
  const d = { n, dim: 2, x, observed: new Float32Array(n * 2).fill(1), present: new Float32Array(n), y, patterns: new Array<string>(n).fill('11') };
  return { d, w: Float32Array.from({ length: n }, () => 0.2 + 2 * rng.next()), s: Float32Array.from({ length: n }, () => rng.next()) };
}

const readings = [
  { feature: 'a', column: 0 },
  { feature: 'b', column: 1 },
];
const parts = { readings: ['a', 'b'], patterns: ['10', '11'] };

test('the decoded sum of three sites\' parts is the plain merge of their health sums and counts', () => {
  const config = compileSecAggConfig({});
  const layout = secureFitLayout(2, 3, config, parts);
  const sites = [rows(120, 1), rows(300, 2), rows(45, 3)].map(({ d, w, s }) => healthSums(d, w, s, readings));
  const counts: PatternLabelCounts[] = [{ '11': [70, 50], '10': [1, 0] }, { '11': [180, 120] }, { '11': [27, 18], '01': [3, 4] }];
  const sum = new Uint32Array(layout.length);
  sites.forEach((h, i) => {
    const base = { weightedUpdate: [0, 0], numExamples: [0], metricWeights: [0, 0, 0, 0, 0, 0], 'train.loss': [0], 'eval.auroc': [0], 'eval.accuracy': [0], 'eval.balancedAccuracy': [0], 'eval.ece': [0], 'eval.loss': [0] };
    addInto(sum, layout.encode({ ...base, ...debiasPartValues(parts, h, counts[i]!) }).vector);
  });
  const got = debiasFromSum(parts, layout.decodeSum(sum));
  const want = mergeHealthSums(sites);
  assert.equal(got.health.n, want.n);
  for (const k of ['sumW', 'sumW2', 'upW'] as const) assert.ok(Math.abs(got.health[k] - want[k]) <= layout.errorBound(`health.${k}`, 3), k);
  for (const [k, r] of want.readings.entries())
    for (const c of [0, 1] as const) {
      r.hist[c].forEach((v, b) => assert.ok(Math.abs(got.health.readings[k]!.hist[c][b]! - v) <= layout.errorBound('health.hist', 3)));
      assert.equal(got.health.readings[k]!.moments[c][0], r.moments[c][0], 'row counts are exact');
      r.moments[c].forEach((v, j) => assert.ok(Math.abs(got.health.readings[k]!.moments[c][j]! - v) <= 0.1, `moment ${j}: ${got.health.readings[k]!.moments[c][j]} vs ${v}`));
    }
  // Pattern '01' is not in the published prior: left out, never named.
  assert.deepEqual(got.patternCounts, { '10': [1, 0], '11': [277, 188] });
});

test('a site whose readings are not the task\'s refuses; one without health sums adds zeros', () => {
  const h = healthSums(rows(50, 4).d, new Float32Array(50).fill(1), new Float32Array(50), readings);
  assert.throws(() => debiasPartValues({ readings: ['b', 'a'], patterns: [] }, h, {}), (e: Error) => e instanceof SecAggRefusal && /readings \[b, a\] are not this site's \[a, b\]/.test(e.message));
  const none = debiasPartValues(parts, undefined, {});
  assert.ok(Object.values(none).every((v) => v.every((x) => x === 0)));
  assert.equal(none['health.hist']!.length, 2 * 2 * 40);
});

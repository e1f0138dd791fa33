import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { EncodedData } from '../../../shared/data/encode.ts';
import type { FeatureSpace } from '../../../shared/data/feature-space.ts';
import {
  balanceFeatures,
  balanceResidual,
  cellKeys,
  countCells,
  fitOutcomeBalance,
  outcomeWeights,
  sumCellCounts,
  validateCellCounts,
  validateOutcomeBalance,
} from '../../../shared/data/outcome-balance.ts';
import { healthFigures, healthSums } from '../../../shared/data/debias-health.ts';
import { Rng } from '../../../shared/rng.ts';
import { residualWarnings } from '../../../shared/federation/debiasing-report.ts';

/**
 * A constructed table: labs (a) track the label weakly; a flagged reading r (numeric,
 * its own modality, present in 60% of rows) is tied to the label with overlap (a
 * Gaussian shift of 0.8 SD); a categorical device flag d knows the label too.
 */
function table(n: number, seed: number, shift = 0.8): { data: EncodedData; space: FeatureSpace } {
  const space: FeatureSpace = {
    modalities: [
      { name: 'labs', start: 0, end: 1 },
      { name: 'imaging', start: 1, end: 2 },
      { name: 'device', start: 2, end: 4 },
    ],
    columns: [
      { feature: 'a', featureIndex: 0, kind: 'numeric', mean: 0, std: 1 },
      { feature: 'r', featureIndex: 1, kind: 'numeric', mean: 0, std: 1 },
      { feature: 'd', featureIndex: 2, kind: 'category', category: 'no', mean: 0, std: 1 },
      { feature: 'd', featureIndex: 2, kind: 'category', category: 'yes', mean: 0, std: 1 },
    ],
  };
  const rng = new Rng(seed);
  const dim = 4;
  const x = new Float32Array(n * dim);
  const observed = new Float32Array(n * dim);
  const present = new Float32Array(n * 3);
  const y = new Float32Array(n);
  const patterns: string[] = [];
  for (let i = 0; i < n; i++) {
    const yi = rng.next() < 0.4 ? 1 : 0;
    y[i] = yi;
    const s = 2 * yi - 1;
    x[i * dim] = 0.3 * s + rng.normal();
    observed[i * dim] = 1;
    const imaging = rng.next() < (yi ? 0.75 : 0.45);
    if (imaging) {
      x[i * dim + 1] = shift * s + rng.normal();
      observed[i * dim + 1] = 1;
    }
    const yes = rng.next() < (yi ? 0.7 : 0.3);
    x[i * dim + (yes ? 3 : 2)] = 1;
    observed[i * dim + 2] = observed[i * dim + 3] = 1;
    present.set([1, imaging ? 1 : 0, 1], i * 3);
    patterns.push(`1${imaging ? 1 : 0}1`);
  }
  return { data: { n, dim, x, observed, present, y, patterns }, space };
}

const readings = [
  { feature: 'r', column: 1 },
  { feature: 'd', column: 3 },
];

test('outcome weights leave each flagged reading (and the pattern) with no association to the label', () => {
  const { data, space } = table(6000, 1);
  const feats = balanceFeatures(space, ['r', 'd']);
  // Two sites' counts, summed: the coordinator never sees a row.
  const half = (lo: number, hi: number) => countCells(cellKeys(data, feats).slice(lo, hi), data.y.slice(lo, hi));
  const counts = sumCellCounts([half(0, 3000), half(3000, 6000)]);
  assert.deepEqual(counts, countCells(cellKeys(data, feats), data.y));
  const t = fitOutcomeBalance(counts, ['r', 'd'], [true, false], 10);
  const w = outcomeWeights(t, data, feats);
  const before = healthFigures(healthSums(data, new Float32Array(data.n).fill(1), new Float32Array(data.n), readings), { r: 1, d: 1 });
  const after = healthFigures(healthSums(data, w, new Float32Array(data.n), readings), { r: 1, d: 1 });
  assert.ok(before.weightedAssociation.r! > 0.65 && before.weightedAssociation.d! > 0.65, JSON.stringify(before));
  // The categorical reading balances exactly; the numeric one within a few points (docs/results.md: a residual
  // the bin-level model leaves).
  assert.ok(Math.abs(after.weightedAssociation.d! - 0.5) < 0.02, `d: weighted AUROC ${after.weightedAssociation.d}`);
  assert.ok(Math.abs(after.weightedAssociation.r! - 0.5) < 0.07, `r: weighted AUROC ${after.weightedAssociation.r}`);
  // The pattern too: the weighted label rate is the same with and without imaging.
  const rate = (img: string) => {
    let a = 0;
    let b = 0;
    data.patterns.forEach((p, i) => p[1] === img && ((a += w[i]! * data.y[i]!), (b += w[i]!)));
    return a / b;
  };
  assert.ok(Math.abs(rate('1') - rate('0')) < 0.02, `label rate with imaging ${rate('1')}, without ${rate('0')}`);
  assert.ok(after.effectiveSampleSize > 0.5 && after.effectiveSampleSize < 1, `ESS ${after.effectiveSampleSize}`);
});

test('weights are clipped to [1/maxWeight, maxWeight], tempering moves them towards 1, and the share clipped is reported', () => {
  const { data, space } = table(3000, 2, 3); // a reading so strong that tails hold one label only
  const feats = balanceFeatures(space, ['r']);
  const counts = countCells(cellKeys(data, feats), data.y);
  for (const max of [2, 5]) {
    const t = fitOutcomeBalance(counts, ['r'], [true], max);
    const w = outcomeWeights(t, data, feats);
    assert.ok(w.every((v) => v <= max + 1e-6 && v >= 1 / max - 1e-6), `bounded by ${max}`);
    // At 2 the down-weighted rows of the one-label tails (weight prevalence / ~1) bind the clip.
    if (max === 2) assert.ok(t.clippedShare > 0, `a strong reading binds the clip: ${t.clippedShare}`);
    // The weight it moved, against the unclipped weights computed here.
    const free = outcomeWeights({ ...t, maxWeight: Infinity }, data, feats);
    let moved = 0;
    let total = 0;
    free.forEach((v, i) => ((moved += Math.abs(v - w[i]!)), (total += v)));
    assert.ok(Math.abs(t.clippedWeight! - moved / total) < 1e-3, `clippedWeight ${t.clippedWeight} vs ${moved / total}`);
    const half = outcomeWeights(t, data, feats, 0.5);
    w.forEach((v, i) => assert.ok(Math.abs(half[i]! - Math.sqrt(v)) < 1e-5));
    assert.ok(outcomeWeights(t, data, feats, 0).every((v) => v === 1));
  }
});

test('cell counts and the published table are shape-checked', () => {
  assert.throws(() => validateCellCounts({ '11|3': [1, -1] }, 1, 'site a'), /site a: cell "11\|3" must hold two non-negative integer counts/);
  assert.throws(() => validateCellCounts({ 'x|3': [1, 1] }, 1, 'site a'), /is not of the form pattern\|bins for 1 readings/);
  assert.throws(() => validateCellCounts({ '11|3,4': [1, 1] }, 1, 'site a'), /for 1 readings/);
  assert.deepEqual(validateCellCounts({ '11|3': [2, 0] }, 1, 'site a'), { '11|3': [2, 0] });
  const { data, space } = table(500, 3);
  const t = fitOutcomeBalance(countCells(cellKeys(data, balanceFeatures(space, ['r'])), data.y), ['r'], [true], 10);
  assert.deepEqual(validateOutcomeBalance(JSON.parse(JSON.stringify(t)), 'task'), t);
  assert.throws(() => validateOutcomeBalance({ ...t, levels: [] }, 'task'), /task: levels must hold one map of finite levels per feature/);
  assert.throws(() => balanceFeatures(space, ['zz']), /flagged feature "zz" is not in the feature space/);
});

test('one label only, or no rows: the table is neutral (every weight 1)', () => {
  const { data, space } = table(200, 4);
  const feats = balanceFeatures(space, ['r']);
  const t = fitOutcomeBalance({ '111|3': [5, 0] }, ['r'], [true], 10);
  assert.ok(outcomeWeights(t, data, feats).every((v) => Math.abs(v - 1) < 1e-9 || v > 0));
  assert.deepEqual(fitOutcomeBalance({}, ['r'], [true], 10).patterns, {});
});

test('rows of a pattern the table does not list weigh 1: no link of pattern to label is made', () => {
  const { data, space } = table(4000, 5);
  const feats = balanceFeatures(space, ['r']);
  // The table is fitted without pattern "101" (imaging absent), as where its label cells were under the minimum count.
  const counts = Object.fromEntries(Object.entries(countCells(cellKeys(data, feats), data.y)).filter(([k]) => !k.startsWith('101|')));
  const t = fitOutcomeBalance(counts, ['r'], [true], 10);
  assert.ok(!('101' in t.patterns) && '111' in t.patterns);
  const w = outcomeWeights(t, data, feats);
  data.patterns.forEach((p, i) => p === '101' && assert.equal(w[i], 1));
  assert.ok(data.patterns.some((p, i) => p === '111' && w[i] !== 1), 'listed patterns are weighted');
});

test('what the weights leave of a reading\'s link, from the counts, agrees with the rows\' figure; a reading left above 0.55 is warned of', () => {
  for (const [shift, maxWeight, warned] of [[0.4, 10, false], [3, 10, true], [3, 100, true]] as const) {
    const { data, space } = table(4000, 6, shift);
    const feats = balanceFeatures(space, ['r', 'd']);
    const counts = countCells(cellKeys(data, feats), data.y);
    const t = fitOutcomeBalance(counts, ['r', 'd'], [true, false], maxWeight);
    const [r, d] = balanceResidual(counts, t, [true, false]);
    // The rows' own figures under the weights (the health figures), against the counts' bin-level view.
    const rows = healthFigures(healthSums(data, outcomeWeights(t, data, feats), new Float32Array(data.n), readings), { r: 1, d: 1 });
    assert.ok(Math.abs(r!.weighted - rows.weightedAssociation.r!) < 0.03, `r: counts ${r!.weighted}, rows ${rows.weightedAssociation.r}`);
    assert.ok(r!.unweighted > 0.6 && r!.weighted < r!.unweighted);
    const warnings = residualWarnings({ decision: 'on', balance: { cells: 0, maxWeight, clippedShare: 0, residual: [r!, d!] } });
    const forR = warnings.find((w) => w.includes(" r's link"));
    if (!warned) assert.equal(forR, undefined, `shift ${shift}: ${r!.weighted}`);
    else {
      assert.ok(r!.weighted > 0.8, `shift 3 keeps most of its link at maxWeight ${maxWeight}: ${r!.weighted}`);
      assert.match(forR ?? '', /^outcome weights leave part of r's link to the label: in the weighted training rows it still tells the label at AUROC \d\.\d\d \(\d\.\d\d unweighted\), .*weighting: drop \(the default\) removes it/);
    }
  }
  // Mode off removes nothing: no such warning.
  assert.deepEqual(residualWarnings({ decision: 'off', balance: { cells: 0, maxWeight: 10, clippedShare: 0, residual: [{ feature: 'r', unweighted: 1, weighted: 1 }] } }), []);
});

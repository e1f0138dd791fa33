// What a site whose training rows hold one class sends, and what the federation makes of
// it beside sites of both classes: class moments, cell counts and the outcome-balance
// fit, calibration sums and their fit. Every number finite, nothing thrown.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { computeClassMoments, mergeClassMoments, validateClassMoments } from '../../../shared/data/class-moments.ts';
import type { EncodedData } from '../../../shared/data/encode.ts';
import { countCells, fitOutcomeBalance, sumCellCounts, validateCellCounts } from '../../../shared/data/outcome-balance.ts';
import { calibrationSums, fitCalibration, mergeCalibrationSums } from '../../../shared/metrics/calibration.ts';
import { validateCalibrationSums } from '../../../shared/metrics/calibration-check.ts';
import { classificationReport } from '../../../shared/metrics/classification.ts';
import { Rng } from '../../../shared/rng.ts';

/** n rows of 2 columns (the second missing in every third row), labels from `label(i)`, one pattern per half. */
function site(n: number, label: (i: number) => number, seed: number): EncodedData {
  const rng = new Rng(seed);
  const dim = 2;
  const x = new Float32Array(n * dim);
  const observed = new Float32Array(n * dim);
  const y = new Float32Array(n);
  const patterns: string[] = [];
  for (let i = 0; i < n; i++) {
    y[i] = label(i);
    x[i * dim] = rng.normal() + y[i]!;
    observed[i * dim] = 1;
    if (i % 3) {
      x[i * dim + 1] = rng.normal();
      observed[i * dim + 1] = 1;
    }
    patterns.push(i % 3 ? '11' : '10');
  }
  return { n, dim, x, observed, present: new Float32Array(n * 2).fill(1), y, patterns };
}

const finite = (v: unknown): boolean =>
  typeof v === 'number' ? Number.isFinite(v) : Array.isArray(v) ? v.every(finite) : v && typeof v === 'object' ? Object.values(v).every(finite) : true;

const oneClass = site(30, () => 1, 1);
const mixed = site(80, (i) => i % 2, 2);

test('class moments of a one-class site: the other class is zero rows, valid, and merges with both-class sites', () => {
  const m = computeClassMoments(oneClass);
  assert.equal(m.classes[0].rows, 0);
  assert.equal(m.classes[1].rows, 30);
  assert.ok(m.classes[0].colCount.every((c) => c === 0));
  validateClassMoments(JSON.parse(JSON.stringify(m)), 2);
  const all = mergeClassMoments([m, computeClassMoments(mixed)]);
  assert.equal(all.classes[0].rows, 40);
  assert.equal(all.classes[1].rows, 70);
  assert.ok(finite(all));
});

test('cell counts of a one-class site: valid; the balance fit on them alone is flat, beside both-class sites finite', () => {
  const keys = oneClass.patterns.map((p) => `${p}|a`);
  const c = countCells(keys, oneClass.y);
  assert.deepEqual(c, { '10|a': [0, 10], '11|a': [0, 20] });
  validateCellCounts(c, 1, 'x');
  const alone = fitOutcomeBalance(c, ['r'], [true], 10);
  assert.equal(alone.prevalence, 1);
  assert.deepEqual(alone.patterns, {});
  // Beside a both-class site whose pattern '01' only it has: a pattern all positive gets a finite level.
  const other = countCells(mixed.patterns.map((p) => `${p === '10' ? '01' : p}|a`), mixed.y);
  const fit = fitOutcomeBalance(sumCellCounts([c, other]), ['r'], [true], 10);
  assert.ok(finite(fit), JSON.stringify(fit));
  assert.ok(fit.clippedShare >= 0 && fit.clippedShare <= 1);
});

test('calibration sums over one-class rows are finite and valid, and the federated fit over them and others too', () => {
  const p = Float32Array.from({ length: 30 }, (_, i) => 0.5 + i / 70);
  const s = calibrationSums(new Uint8Array(30).fill(1), p);
  assert.ok(finite(s));
  validateCalibrationSums(JSON.parse(JSON.stringify(s)), 'x');
  const q = Float32Array.from({ length: 80 }, (_, i) => (i % 2 ? 0.7 : 0.3));
  const fit = fitCalibration(mergeCalibrationSums([s, calibrationSums(Uint8Array.from(mixed.y), q)]));
  assert.ok(finite(fit), JSON.stringify(fit));
  // Over the one-class rows alone, too (a site's leave-one-out fit may be the rows of one site).
  assert.ok(finite(fitCalibration(s)));
});

test('evaluation over one-class rows: AUROC undefined (NaN, null in JSON), the rest finite', () => {
  const r = classificationReport(new Uint8Array(20).fill(1), Float32Array.from({ length: 20 }, (_, i) => i / 20));
  assert.ok(Number.isNaN(r.auroc));
  assert.equal(JSON.parse(JSON.stringify(r)).auroc, null);
  assert.ok(r.accuracy >= 0 && r.accuracy <= 1 && r.ece >= 0 && r.ece <= 1);
});

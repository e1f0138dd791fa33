import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  accuracy,
  auroc,
  balancedAccuracy,
  classificationReport,
  ece,
  logLoss,
  meanAndSpread,
} from '../../../shared/metrics/classification.ts';
import { Rng } from '../../../shared/rng.ts';

const close = (actual: number, expected: number, tol = 1e-12) =>
  assert.ok(Math.abs(actual - expected) <= tol, `expected ${expected}, got ${actual}`);

/** The definition AUROC = P(s+ > s-) + P(s+ = s-)/2, counted over every pair. */
function bruteForceAuroc(labels: number[], scores: number[]): number {
  let sum = 0;
  let pairs = 0;
  for (let i = 0; i < labels.length; i++) {
    if (labels[i] !== 1) continue;
    for (let j = 0; j < labels.length; j++) {
      if (labels[j] !== 0) continue;
      pairs++;
      if (scores[i]! > scores[j]!) sum += 1;
      else if (scores[i] === scores[j]) sum += 0.5;
    }
  }
  return sum / pairs;
}

test('auroc: perfect ranking is 1, reversed is 0, all ties is 0.5', () => {
  assert.equal(auroc([0, 0, 1, 1], [0.1, 0.2, 0.8, 0.9]), 1);
  assert.equal(auroc([0, 0, 1, 1], [0.9, 0.8, 0.2, 0.1]), 0);
  assert.equal(auroc([0, 1, 0, 1, 1], [0.3, 0.3, 0.3, 0.3, 0.3]), 0.5);
});

test('auroc: ties count half, computed by hand', () => {
  // Positives 0.4, 0.8, 0.8 vs negatives 0.1, 0.4, 0.8:
  // 0.4 -> 1 + 0.5 + 0 = 1.5; each 0.8 -> 1 + 1 + 0.5 = 2.5; total 6.5 of 9 pairs.
  close(auroc([0, 0, 1, 1, 0, 1], [0.1, 0.4, 0.4, 0.8, 0.8, 0.8]), 6.5 / 9);
  // Unsorted input order and typed arrays give the same answer.
  close(
    auroc(new Float64Array([1, 0, 0, 1, 1, 0]), new Float32Array([0.8, 0.8, 0.1, 0.4, 0.8, 0.4])),
    6.5 / 9,
  );
});

test('auroc: NaN when only one class (or none) is present', () => {
  assert.ok(Number.isNaN(auroc([1, 1, 1], [0.2, 0.5, 0.9])));
  assert.ok(Number.isNaN(auroc([0, 0], [0.2, 0.5])));
  assert.ok(Number.isNaN(auroc([], [])));
});

test('auroc agrees with a brute-force pairwise count on random data with ties', () => {
  const rng = new Rng(20240601);
  for (let trial = 0; trial < 20; trial++) {
    const n = 5 + rng.int(150);
    const labels: number[] = [];
    const scores: number[] = [];
    // Coarse scores (multiples of 1/k) force many ties; labels correlate with scores.
    const k = 2 + rng.int(20);
    for (let i = 0; i < n; i++) {
      const s = Math.round(rng.next() * k) / k;
      scores.push(s);
      labels.push(rng.next() < 0.2 + 0.6 * s ? 1 : 0);
    }
    if (!labels.includes(0) || !labels.includes(1)) labels[0] = 1 - labels[0]!;
    if (!labels.includes(0) || !labels.includes(1)) continue;
    close(auroc(labels, scores), bruteForceAuroc(labels, scores), 1e-12);
  }
});

test('accuracy and balancedAccuracy by hand; a score equal to the threshold predicts 1', () => {
  const labels = [1, 1, 1, 0, 0, 0, 0, 0];
  const scores = [0.9, 0.6, 0.2, 0.1, 0.3, 0.7, 0.4, 0.5];
  // TPR = 2/3 (0.9, 0.6); TNR = 3/5 (0.1, 0.3, 0.4; 0.5 is predicted positive).
  close(accuracy(labels, scores), 5 / 8);
  close(balancedAccuracy(labels, scores), (2 / 3 + 3 / 5) / 2);
  // At threshold 0.65: TPR = 1/3, TNR = 4/5.
  close(balancedAccuracy(labels, scores, 0.65), (1 / 3 + 4 / 5) / 2);
  close(accuracy(labels, scores, 0.65), 5 / 8);
});

test('balancedAccuracy is NaN with one class, as AUROC: the present class\'s rate alone is accuracy, not balanced', () => {
  assert.ok(Number.isNaN(balancedAccuracy([1, 1, 1], [0.9, 0.2, 0.6])));
  assert.ok(Number.isNaN(balancedAccuracy([0, 0], [0.1, 0.7])));
  close(accuracy([0, 0], [0.1, 0.7]), 0.5);
  const r = classificationReport([0, 0, 0], [0.1, 0.7, 0.2]);
  assert.ok(Number.isNaN(r.auroc) && Number.isNaN(r.balancedAccuracy));
  assert.deepEqual(JSON.parse(JSON.stringify(r)), { n: 3, auroc: null, accuracy: 2 / 3, balancedAccuracy: null, ece: r.ece });
  assert.ok(Number.isNaN(balancedAccuracy([], [])));
  assert.ok(Number.isNaN(accuracy([], [])));
});

test('ece by hand, with score 1.0 in the last bin', () => {
  const labels = [0, 1, 1, 0, 1];
  const scores = [0.05, 0.15, 0.95, 1.0, 0.12];
  // bin 0: {0.05:0} |0 - 0.05| * 1/5; bin 1: {0.15:1, 0.12:1} |1 - 0.135| * 2/5;
  // bin 9: {0.95:1, 1.0:0} |0.5 - 0.975| * 2/5.
  close(ece(labels, scores), 0.05 / 5 + (0.865 * 2) / 5 + (0.475 * 2) / 5);
  // Two bins: [0, 0.5) holds the first three by score: |2/3 - 0.32/3| * 3/5; [0.5, 1]: as above.
  close(ece(labels, scores, 2), 0.56 * 0.6 + 0.475 * 0.4);
  // Perfectly calibrated: scores 0.25 with one positive in four.
  close(ece([1, 0, 0, 0], [0.25, 0.25, 0.25, 0.25]), 0);
  assert.ok(Number.isNaN(ece([], [])));
});

test('ece rejects scores outside [0, 1] and bad bin counts', () => {
  assert.throws(() => ece([0, 1], [0.5, 1.2]), /index 1.*\[0, 1\]/);
  assert.throws(() => ece([0, 1], [0.5, 0.7], 0), /bins/);
});

test('logLoss: mean cross-entropy, finite for confident mistakes', () => {
  close(logLoss([1, 0], [0.8, 0.4]), -(Math.log(0.8) + Math.log(0.6)) / 2);
  const worst = logLoss([1, 0], [0, 1]);
  assert.ok(Number.isFinite(worst) && worst > 30, `got ${worst}`);
  close(logLoss([1, 0], [1, 0]), 0, 1e-12);
});

test('input validation: length mismatch names both lengths; bad label names its index', () => {
  assert.throws(() => auroc([0, 1, 1], [0.1, 0.2]), /3 labels, 2 scores/);
  assert.throws(() => accuracy([0, 1], [0.1, 0.2, 0.3]), /2 labels, 3 scores/);
  assert.throws(() => auroc([0, 1, 2], [0.1, 0.2, 0.3]), /label at index 2 is 2/);
  assert.throws(() => balancedAccuracy([0, 0.5], [0.1, 0.2]), /label at index 1 is 0\.5/);
  assert.throws(() => ece([NaN, 1], [0.1, 0.2]), /label at index 0 is NaN/);
  assert.throws(() => auroc([0, 1], [0.1, NaN]), /score at index 1 is NaN/);
});

test('classificationReport has exactly the results-file fields and consistent values', () => {
  const labels = [1, 1, 1, 0, 0, 0, 0, 0];
  const scores = [0.9, 0.6, 0.2, 0.1, 0.3, 0.7, 0.4, 0.5];
  const r = classificationReport(labels, scores);
  assert.deepEqual(Object.keys(r).sort(), ['accuracy', 'auroc', 'balancedAccuracy', 'ece', 'n']);
  assert.equal(r.n, 8);
  close(r.auroc, auroc(labels, scores));
  close(r.accuracy, 5 / 8);
  close(r.balancedAccuracy, (2 / 3 + 3 / 5) / 2);
  close(r.ece, ece(labels, scores));
});

test('meanAndSpread: sample std, NaN ignored, n counts finite values', () => {
  const a = meanAndSpread([1, 2, 3, 4]);
  close(a.mean, 2.5);
  close(a.std, Math.sqrt(5 / 3));
  assert.equal(a.n, 4);
  const b = meanAndSpread([NaN, 2, 4]);
  close(b.mean, 3);
  close(b.std, Math.sqrt(2));
  assert.equal(b.n, 2);
  assert.deepEqual(meanAndSpread([0.7]), { mean: 0.7, std: 0, n: 1 });
  const e = meanAndSpread([NaN]);
  assert.equal(e.n, 0);
  assert.ok(Number.isNaN(e.mean) && Number.isNaN(e.std));
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { auroc } from '../../../shared/metrics/classification.ts';
import type { EncodedData } from '../../../shared/data/encode.ts';
import { healthFigures, healthSums, histogramAuc, mergeHealthSums, validateHealthSums, HIST_BINS } from '../../../shared/data/debias-health.ts';
import { Rng } from '../../../shared/rng.ts';

function rows(n: number, seed: number, link: number): EncodedData {
  const rng = new Rng(seed);
  const dim = 2;
  const x = new Float32Array(n * dim);
  const y = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    y[i] = rng.next() < 0.5 ? 1 : 0;
    x[i * dim] = link * (2 * y[i]! - 1) + rng.normal();
    x[i * dim + 1] = rng.normal();
  }
  return { n, dim, x, observed: new Float32Array(n * dim).fill(1), present: new Float32Array(n), y, patterns: new Array(n).fill('1') };
}

test('histogram AUROC agrees with the row-level AUROC up to the bin width, ties counted half', () => {
  const d = rows(4000, 1, 0.7);
  const h = healthSums(d, new Float32Array(d.n).fill(1), new Float32Array(d.n), [{ feature: 'r', column: 0 }]);
  const exact = auroc(d.y, Float32Array.from({ length: d.n }, (_, i) => d.x[i * 2]!));
  assert.ok(Math.abs(histogramAuc(h.readings[0]!.hist[0], h.readings[0]!.hist[1]) - exact) < 0.01);
  assert.equal(histogramAuc([1, 0], [1, 0]), 0.5);
  assert.equal(histogramAuc([1, 0], [0, 1]), 1);
  assert.ok(Number.isNaN(histogramAuc([0, 0], [0, 1])));
});

test('figures: direction-aware association, reliance of the score on the reading, ESS and the up-weighted share', () => {
  const d = rows(3000, 2, 0.8);
  // A score that uses the reading reversed within class.
  const scores = Float32Array.from({ length: d.n }, (_, i) => 1 / (1 + Math.exp(d.x[i * 2]!)));
  const w = Float32Array.from({ length: d.n }, (_, i) => (i % 4 === 0 ? 3 : 1));
  const f = healthFigures(healthSums(d, w, scores, [{ feature: 'r', column: 0 }]), { r: -1 });
  assert.ok(f.weightedAssociation.r! < 0.3, 'a negative label link is oriented: the reading is reversed relative to it');
  assert.ok(f.reliance.r! > 0.9, 'score falls with the reading, the reading falls with the label: reliance in its direction');
  const f2 = healthFigures(healthSums(d, w, scores, [{ feature: 'r', column: 0 }]), { r: 1 });
  assert.ok(f2.weightedAssociation.r! > 0.7 && f2.reliance.r! < -0.9);
  // Weights 3,1,1,1: mean 1.5; normalised 2, 2/3: ESS = 1.5^2 / 3 = 0.75; share on up-weighted rows 2/(2+3*2/3) = 0.5.
  assert.ok(Math.abs(f.effectiveSampleSize - 0.75) < 1e-6, `${f.effectiveSampleSize}`);
  assert.ok(Math.abs(f.conflictingShare - 0.5) < 1e-6, `${f.conflictingShare}`);
  // Weights a hair apart (pattern balancing with nothing to balance): nothing is up-weighted.
  const flat = Float32Array.from({ length: d.n }, (_, i) => (i % 2 ? 1.0001 : 0.9999));
  assert.equal(healthFigures(healthSums(d, flat, scores, [{ feature: 'r', column: 0 }]), { r: 1 }).conflictingShare, 0);
});

test('sums merge across sites and are shape-checked', () => {
  const a = rows(500, 3, 1);
  const b = rows(700, 4, 1);
  const r = [{ feature: 'r', column: 0 }];
  const one = (d: EncodedData) => healthSums(d, new Float32Array(d.n).fill(1), new Float32Array(d.n).fill(0.5), r);
  const m = mergeHealthSums([one(a), one(b)]);
  assert.equal(m.n, 1200);
  assert.equal(m.readings[0]!.hist[0].reduce((s, v) => s + v, 0) + m.readings[0]!.hist[1].reduce((s, v) => s + v, 0), 1200);
  assert.deepEqual(validateHealthSums(JSON.parse(JSON.stringify(m)), ['r'], 'site a'), m);
  assert.throws(() => validateHealthSums({ ...m, sumW: -1 }, ['r'], 'site a'), /site a: sumW must be a finite number >= 0/);
  assert.throws(() => validateHealthSums(m, ['q'], 'site a'), /readings\[0\] must be "q"/);
  const bad = JSON.parse(JSON.stringify(m));
  bad.readings[0].hist[0] = new Array(HIST_BINS - 1).fill(0);
  assert.throws(() => validateHealthSums(bad, ['r'], 'site a'), new RegExp(`hist must be two lists of ${HIST_BINS} finite numbers`));
});

test('sums a site could not have computed are refused: more rows than it has, weights past their normalised total, negative or huge figures', () => {
  const d = rows(300, 5, 1);
  const w = Float32Array.from({ length: d.n }, (_, i) => (i % 3 === 0 ? 4 : 1));
  const h = healthSums(d, w, Float32Array.from({ length: d.n }, (_, i) => (i % 10) / 10), [{ feature: 'r', column: 0 }]);
  const copy = () => JSON.parse(JSON.stringify(h)) as typeof h;
  assert.deepEqual(validateHealthSums(copy(), ['r'], 'site a', 300), h);
  assert.throws(() => validateHealthSums(copy(), ['r'], 'site a', 200), /site a: n 300 is more than the site's 200 rows/);
  const cases: [(x: typeof h) => void, RegExp][] = [
    [(x) => (x.sumW = 1e308), /sumW 1e\+308 is more than n 300/],
    [(x) => (x.sumW2 = 1e308), /sumW2 1e\+308 is more than n\^2/],
    [(x) => (x.upW = x.sumW * 2), /upW .* is more than sumW/],
    [(x) => (x.readings[0]!.hist[1][3] = -1e6), /readings\[0\]\.hist holds a negative weight/],
    [(x) => (x.readings[0]!.hist[1][3] = 1e308), /readings\[0\]\.hist adds up to more than sumW/],
    [(x) => (x.readings[0]!.moments[0][1] = -1), /readings\[0\]\.moments\[0\] are not sums of \d+ scores in \[0, 1\]/],
    [(x) => (x.readings[0]!.moments[1][4] = 1e308), /readings\[0\]\.moments\[1\] are not sums/],
  ];
  for (const [edit, message] of cases) {
    const x = copy();
    edit(x);
    assert.throws(() => validateHealthSums(x, ['r'], 'site a'), message);
  }
});

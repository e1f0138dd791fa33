import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  BIN_FIELDS,
  CALIBRATION_GRID,
  ECE_BINS,
  applyCalibration,
  calibrationSums,
  eceAt,
  fitCalibration,
  identityCell,
  leaveOneOutFits,
  mergeCalibrationSums,
  type CalibrationSums,
} from '../../../shared/metrics/calibration.ts';
import { validateCalibrationSums } from '../../../shared/metrics/calibration-check.ts';
import { classificationReport, ece } from '../../../shared/metrics/classification.ts';
import { ProtocolError } from '../../../shared/errors.ts';
import { Rng } from '../../../shared/rng.ts';

const close = (actual: number, expected: number, tol: number, what = '') =>
  assert.ok(Math.abs(actual - expected) <= tol, `${what} expected ${expected}, got ${actual} (tol ${tol})`);

const sigmoid = (z: number) => 1 / (1 + Math.exp(-z));
const clampedLogit = (p: number) => {
  const c = Math.min(Math.max(p, 1e-7), 1 - 1e-7);
  return Math.log(c / (1 - c));
};

const { slopes, intercepts } = CALIBRATION_GRID;
const NB = intercepts.length;
/** One slope step of the grid in ln(a). */
const LN_SLOPE_STEP = (2 / 7) * Math.log(2);
const INTERCEPT_STEP = 0.25;

/**
 * Rows whose model score is q = sigmoid(l), l ~ N(0, spread^2), and whose true
 * P(y = 1) is sigmoid(trueA * l + trueB): trueA = 1, trueB = 0 is a calibrated model.
 */
function rows(n: number, seed: number, trueA: number, trueB: number, spread = 1.5) {
  const rng = new Rng(seed);
  const y = new Float32Array(n);
  const p = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const l = spread * rng.normal();
    p[i] = sigmoid(l);
    y[i] = rng.next() < sigmoid(trueA * l + trueB) ? 1 : 0;
  }
  return { y, p };
}

const sumsOf = ({ y, p }: { y: Float32Array; p: Float32Array }) => calibrationSums(y, p);

function assertSumsClose(actual: CalibrationSums, expected: CalibrationSums) {
  assert.equal(actual.n, expected.n);
  assert.deepEqual(actual.grid, expected.grid);
  assert.equal(actual.nll.length, expected.nll.length);
  assert.equal(actual.bins.length, expected.bins.length);
  actual.nll.forEach((v, i) => close(v, expected.nll[i]!, 1e-9 * Math.max(1, expected.nll[i]!), `nll[${i}]`));
  actual.bins.forEach((v, i) => close(v, expected.bins[i]!, 1e-9 * Math.max(1, expected.bins[i]!), `bins[${i}]`));
}

test('CALIBRATION_GRID: 15 log-spaced slopes 0.25..4 with exactly 1, 17 intercepts -2..2 by 0.25 with 0', () => {
  assert.equal(slopes.length, 15);
  assert.equal(intercepts.length, 17);
  close(slopes[0]!, 0.25, 1e-15);
  close(slopes[14]!, 4, 1e-15);
  assert.equal(slopes.indexOf(1), 7, 'a = 1 is on the grid exactly');
  for (let i = 1; i < slopes.length; i++) close(Math.log(slopes[i]! / slopes[i - 1]!), LN_SLOPE_STEP, 1e-12, `ratio ${i}`);
  intercepts.forEach((b, i) => close(b, -2 + 0.25 * i, 1e-15, `intercept ${i}`));
  assert.equal(intercepts.indexOf(0), 8, 'b = 0 is on the grid exactly');
  assert.equal(identityCell(), 7 * NB + 8);
  assert.ok(Object.isFrozen(slopes) && Object.isFrozen(intercepts) && Object.isFrozen(CALIBRATION_GRID));
});

test('calibrationSums: every cell matches a row-by-row reference (log-loss and ECE of p\')', () => {
  const { y, p } = rows(400, 7, 0.7, 0.3, 3); // spread 3 gives clamped-looking extremes too
  p[0] = 0;
  p[1] = 1;
  p[2] = 1e-9;
  const sums = calibrationSums(y, p);
  assert.equal(sums.n, 400);
  assert.equal(sums.nll.length, slopes.length * NB);
  assert.equal(sums.bins.length, slopes.length * NB * ECE_BINS * BIN_FIELDS);
  slopes.forEach((a, ia) =>
    intercepts.forEach((b, ib) => {
      const cell = ia * NB + ib;
      const q = Array.from(p, (pi) => sigmoid(a * clampedLogit(pi) + b));
      let loss = 0;
      q.forEach((qi, i) => (loss -= y[i] === 1 ? Math.log(qi) : Math.log1p(-qi)));
      close(sums.nll[cell]!, loss, 1e-9 * loss, `nll of cell ${cell}`);
      close(eceAt(sums, cell), ece(y, q), 1e-9, `ECE of cell ${cell}`);
    }),
  );
});

test('ECE at the identity cell equals classificationReport\'s ECE on the same rows', () => {
  const rng = new Rng(3);
  const random = rows(2000, 11, 1, 0);
  const overconfident = rows(2000, 12, 0.4, 0.2, 4);
  const cases: Array<[string, ArrayLike<number>, ArrayLike<number>]> = [
    ['bin edges, 0 and 1', [0, 1, 0, 1, 1, 0, 1, 0, 1], [0, 0.1, 0.2, 0.3, 0.5, 0.7, 0.9, 0.95, 1]],
    ['float32 random', random.y, random.p],
    ['overconfident model', overconfident.y, overconfident.p],
    ['plain arrays, uniform scores', Array.from({ length: 500 }, () => (rng.next() < 0.3 ? 1 : 0)), Array.from({ length: 500 }, () => rng.next())],
    ['one row', [1], [0.42]],
  ];
  for (const [name, y, p] of cases) {
    const sums = calibrationSums(y, p);
    close(eceAt(sums, identityCell()), classificationReport(y, p).ece, 1e-12, name);
  }
});

test('sums of two halves, merged, equal the sums of the whole', () => {
  const { y, p } = rows(3001, 21, 0.6, -0.4);
  const whole = calibrationSums(y, p);
  const merged = mergeCalibrationSums([
    calibrationSums(y.subarray(0, 1200), p.subarray(0, 1200)),
    calibrationSums(y.subarray(1200), p.subarray(1200)),
  ]);
  assertSumsClose(merged, whole);
  // A single entry merges to a copy of itself.
  assertSumsClose(mergeCalibrationSums([whole]), whole);
});

test('mergeCalibrationSums: rejects no entries, a different grid, different lengths', () => {
  const a = calibrationSums([1, 0], [0.7, 0.2]);
  const otherGrid = calibrationSums([1, 0], [0.7, 0.2], { slopes: [0.5, 1], intercepts: [0] });
  assert.throws(() => mergeCalibrationSums([]), { message: "mergeCalibrationSums needs at least one site's sums" });
  assert.throws(() => mergeCalibrationSums([a, otherGrid]), { message: 'calibration sums of entry 1 use a different grid from entry 0' });
  const short = { ...a, bins: a.bins.slice(1) };
  assert.throws(() => mergeCalibrationSums([a, a, short]), {
    message: `calibration sums of entry 2 have ${a.bins.length - 1} bins values, entry 0 has ${a.bins.length}`,
  });
});

test('miscalibrated model (truth sigmoid(0.5 logit q - 0.5)): fit recovers a ~ 0.5, b ~ -0.5 and lowers ECE', () => {
  const { y, p } = rows(40_000, 31, 0.5, -0.5);
  const sums = calibrationSums(y, p);
  const fit = fitCalibration(sums);
  close(Math.log(fit.a), Math.log(0.5), LN_SLOPE_STEP + 1e-12, 'ln a');
  close(fit.b, -0.5, INTERCEPT_STEP + 1e-12, 'b');
  close(fit.nll, Math.min(...sums.nll), 1e-9, 'fit.nll is the minimum');
  assert.ok(fit.nll < sums.nll[identityCell()]!);
  const before = eceAt(sums, identityCell());
  const after = eceAt(sums, fit.cell);
  assert.ok(after < before, `ECE after ${after} should be below ECE before ${before}`);
  assert.ok(after < 0.02 && before > 0.05, `ECE before ${before}, after ${after}`);
  // The predictions file (applyCalibration) has the ECE the sums report (Float32 rounding aside).
  close(ece(y, applyCalibration(p, fit)), after, 1e-5, 'ECE of applied calibration');
});

test('well-calibrated model: fit is the identity a = 1, b = 0', () => {
  for (const seed of [41, 42]) {
    const { y, p } = rows(30_000, seed, 1, 0);
    const fit = fitCalibration(calibrationSums(y, p));
    close(fit.a, 1, 1e-15, `seed ${seed} a`);
    close(fit.b, 0, 1e-15, `seed ${seed} b`);
    assert.equal(fit.cell, identityCell());
  }
});

test('fitCalibration: ties go to the cell closest to the identity; no rows gives the identity', () => {
  // Every score 0.5: logit 0, so the slope does not matter and every a ties; b fits the base rate.
  const y = Array.from({ length: 400 }, (_, i) => (i % 4 === 0 ? 0 : 1)); // 75% positive: logit 1.0986
  const fit = fitCalibration(calibrationSums(y, new Array(400).fill(0.5)));
  close(fit.a, 1, 1e-15, 'a');
  close(fit.b, 1, 1e-15, 'b (grid point nearest logit(0.75))');

  const empty = calibrationSums([], []);
  assert.equal(empty.n, 0);
  assert.ok(empty.nll.every((v) => v === 0) && empty.bins.every((v) => v === 0));
  const idFit = fitCalibration(empty);
  assert.deepEqual(idFit, { a: 1, b: 0, cell: identityCell(), nll: 0 });
  assert.ok(Number.isNaN(eceAt(empty, identityCell())));
  assert.throws(() => eceAt(empty, slopes.length * NB), /calibration cell 255 is outside the grid's 255 cells/);
});

test('calibrationSums rejects what classification.ts rejects, with the same messages', () => {
  const cases: Array<[ArrayLike<number>, ArrayLike<number>, string]> = [
    [[1, 0], [0.5], 'labels and scores differ in length: 2 labels, 1 scores'],
    [[1, 2], [0.5, 0.5], 'label at index 1 is 2; labels must be 0 or 1'],
    [[1, 0], [0.5, NaN], 'score at index 1 is NaN; scores must be finite numbers'],
    [[1, 0], [1.5, 0.5], 'score at index 0 is 1.5; this metric needs probabilities in [0, 1]'],
  ];
  for (const [y, p, message] of cases) {
    assert.throws(() => calibrationSums(y, p), { message });
    assert.throws(() => ece(y, p), { message }, 'classification.ts agrees');
  }
});

test('validateCalibrationSums: accepts a site\'s sums after JSON, rejects bad shapes naming the field', () => {
  const good = sumsOf(rows(200, 51, 0.8, 0.1));
  assert.deepEqual(validateCalibrationSums(JSON.parse(JSON.stringify({ ...good, extra: 1 })), 'site a'), good);

  const cells = slopes.length * NB;
  const with_ = (patch: (o: Record<string, any>) => void) => {
    const o = JSON.parse(JSON.stringify(good));
    patch(o);
    return o;
  };
  const cases: Array<[string, unknown, string]> = [
    ['not an object', [1, 2], 'not an object'],
    ['null', null, 'not an object'],
    ['no grid', with_((o) => delete o.grid), 'grid is missing'],
    ['other slopes', with_((o) => (o.grid.slopes[3] += 0.01)), 'grid.slopes differs from the 15 slopes this coordinator uses'],
    ['short intercepts', with_((o) => o.grid.intercepts.pop()), 'grid.intercepts differs from the 17 intercepts this coordinator uses'],
    ['n negative', with_((o) => (o.n = -1)), 'n is -1; must be an integer >= 0'],
    ['n fractional', with_((o) => (o.n = 2.5)), 'n is 2.5; must be an integer >= 0'],
    ['n missing', with_((o) => delete o.n), 'n is undefined; must be an integer >= 0'],
    ['nll short', with_((o) => o.nll.pop()), `nll must be a list of ${cells} numbers`],
    ['nll not a list', with_((o) => (o.nll = {})), `nll must be a list of ${cells} numbers`],
    ['nll NaN', with_((o) => (o.nll[3] = NaN)), 'nll[3] is NaN; must be a finite number >= 0'],
    ['nll null (NaN after JSON)', JSON.parse(JSON.stringify(with_((o) => (o.nll[4] = NaN)))), 'nll[4] is null; must be a finite number >= 0'],
    ['nll negative', with_((o) => (o.nll[0] = -0.5)), 'nll[0] is -0.5; must be a finite number >= 0'],
    ['nll string', with_((o) => (o.nll[1] = '3')), 'nll[1] is 3; must be a finite number >= 0'],
    ['bins long', with_((o) => o.bins.push(0)), `bins must be a list of ${cells * 30} numbers`],
    ['bins Infinity', with_((o) => (o.bins[7] = Infinity)), 'bins[7] is Infinity; must be a finite number >= 0'],
    ['negative count', with_((o) => (o.bins[30] = -1)), 'bins[30] is -1; must be a finite number >= 0'],
    ['fractional count', with_((o) => (o.bins[30] += 0.5)), `bins[30] is ${good.bins[30]! + 0.5}; a bin count must be an integer`],
    ['counts do not add up to n', with_((o) => (o.bins[33] += 1)), `bins of cell 1 count 201 rows, n is 200`],
    ['sum of p\' above count', with_((o) => { o.bins[0] = 0; o.bins[1] = 0.5; o.bins[3] += good.bins[0]; }), "bins[1] is 0.5; a sum of p' cannot exceed its bin count 0"],
    ['sum of labels above count', with_((o) => { o.bins[0] = 0; o.bins[1] = 0; o.bins[2] = 1; o.bins[3] += good.bins[0]; }), 'bins[2] is 1; a sum of labels cannot exceed its bin count 0'],
  ];
  for (const [name, raw, why] of cases) {
    assert.throws(
      () => validateCalibrationSums(raw, 'site a'),
      (e: unknown) => e instanceof ProtocolError && e.reason === 'malformed' && e.message === `site a: ${why}`,
      `${name}: expected "site a: ${why}"`,
    );
  }
});

test('leaveOneOutFits: each site gets the fit on the other sites\' sums', () => {
  // A and B share a miscalibration; C is wildly different (truth sigmoid(3 logit q + 1.5)).
  const perSite = new Map<string, CalibrationSums>([
    ['a', sumsOf(rows(12_000, 61, 0.5, -0.5))],
    ['b', sumsOf(rows(12_000, 62, 0.5, -0.5))],
    ['c', sumsOf(rows(12_000, 63, 3, 1.5, 0.7))],
  ]);
  const s = (id: string) => perSite.get(id)!;
  const loo = leaveOneOutFits(perSite);
  assert.deepEqual([...loo.keys()], ['a', 'b', 'c']);
  for (const v of loo.values()) assert.equal(v.heldOut, true);

  // C's own fit is far from A and B's; its held-out fit is A and B's, and differs from the pooled fit.
  const own = fitCalibration(s('c'));
  assert.ok(own.a > 2 && own.b > 1, `c's own fit ${JSON.stringify(own)}`);
  const c = loo.get('c')!.fit;
  close(Math.log(c.a), Math.log(0.5), LN_SLOPE_STEP + 1e-12, 'c held out: ln a');
  close(c.b, -0.5, INTERCEPT_STEP + 1e-12, 'c held out: b');
  assert.notEqual(c.cell, fitCalibration(mergeCalibrationSums([...perSite.values()])).cell);
  assert.deepEqual(c, fitCalibration(mergeCalibrationSums([s('a'), s('b')])));
  assert.deepEqual(loo.get('a')!.fit, fitCalibration(mergeCalibrationSums([s('b'), s('c')])));
  assert.deepEqual(loo.get('b')!.fit, fitCalibration(mergeCalibrationSums([s('a'), s('c')])));
  // Held out, C's ECE is honest (and poor): worse than with its own fit.
  assert.ok(eceAt(s('c'), c.cell) > eceAt(s('c'), own.cell));

  // A single site has no one else: its own fit, marked as not held out.
  const single = leaveOneOutFits(new Map([['c', s('c')]]));
  assert.deepEqual(single.get('c'), { fit: own, heldOut: false });
  assert.equal(leaveOneOutFits(new Map()).size, 0);
});

test('applyCalibration is sigmoid(a * logit(clamp(p, 1e-7, 1 - 1e-7)) + b)', () => {
  const p = new Float32Array([0, 1e-9, 0.01, 0.2, 0.5, 0.73, 0.99, 1]);
  const params: Array<{ a: number; b: number }> = [
    { a: 0.5, b: -0.5 },
    { a: 2, b: 0.75 },
    { a: 4, b: -2 },
    { a: 0.25, b: 2 },
  ];
  for (const { a, b } of params) {
    const out = applyCalibration(p, { a, b });
    assert.ok(out instanceof Float32Array && out.length === p.length);
    p.forEach((pi, i) => {
      const expected = sigmoid(a * clampedLogit(pi) + b);
      close(out[i]!, expected, 1e-7 * Math.max(expected, 1e-30) + 1e-45, `a=${a} b=${b} p=${pi}`);
    });
  }
  // The identity leaves scores as they are (not clamped), like the identity cell of the sums.
  const id = applyCalibration(p, { a: 1, b: 0 });
  p.forEach((pi, i) => close(id[i]!, pi, 0, `identity p=${pi}`));
  assert.throws(() => applyCalibration(new Float32Array([0.5, NaN]), { a: 1, b: 0 }), {
    message: 'score at index 1 is NaN; scores must be finite numbers',
  });
  assert.throws(() => applyCalibration(p, { a: NaN, b: 0 }), /calibration parameters must be finite/);
});

test('calibrationSums on 100k rows counts every row in every cell, well within a generous time bound', () => {
  const { y, p } = rows(100_000, 71, 1, 0);
  const t = performance.now();
  const sums = calibrationSums(y, p);
  const ms = performance.now() - t;
  assert.equal(sums.n, 100_000);
  for (let cell = 0; cell < sums.nll.length; cell++) {
    let count = 0;
    for (let k = 0; k < ECE_BINS; k++) count += sums.bins[cell * ECE_BINS * BIN_FIELDS + k * BIN_FIELDS]!;
    close(count, 100_000, 0, `rows in cell ${cell}`);
  }
  // Generous: ~0.6 s on one shared core; only catches an accidental per-row allocation blow-up.
  assert.ok(ms < 20_000, `calibrationSums took ${ms.toFixed(0)} ms for 100k rows`);
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fractionalBitsFor, quantizationErrorBound } from '../../../shared/secagg/fixed-point.ts';
import { modelUpdateLayout, VectorLayout, weightedUpdate } from '../../../shared/secagg/layout.ts';
import { seeded } from './helpers.ts';

test('a sum of encoded reals decodes within the stated error bound, negatives included', () => {
  const sites = 10;
  const layout = new VectorLayout([{ name: 'x', length: 1000, kind: 'real', bound: 3 }], sites);
  const f = layout.part('x').fractionalBits;
  assert.equal(f, fractionalBitsFor(3, sites));
  assert.ok(sites * 3 * 2 ** f < 2 ** 31, 'the n-site sum cannot overflow the ring');
  const rnd = seeded(1);
  const plain = new Float64Array(1000);
  const sum = new Uint32Array(1000);
  for (let s = 0; s < sites; s++) {
    const x = Array.from({ length: 1000 }, () => (rnd() * 2 - 1) * 3);
    x.forEach((v, i) => (plain[i]! += v));
    const { vector } = layout.encode({ x });
    for (let i = 0; i < 1000; i++) sum[i] = sum[i]! + vector[i]!;
  }
  const decoded = layout.decodeSum(sum).x!;
  const bound = layout.errorBound('x');
  assert.equal(bound, quantizationErrorBound(sites, f));
  let worst = 0;
  for (let i = 0; i < 1000; i++) worst = Math.max(worst, Math.abs(decoded[i]! - plain[i]!));
  assert.ok(worst <= bound, `worst error ${worst} above the bound ${bound}`);
  assert.ok(worst > 0, 'reals are quantized, so some error is expected');
});

test('the fraction bits leave room for every site at its bound, where the 24-bit cap does not decide them', () => {
  // Bound 3 hits the cap (f = 24) and hid a scale one bit too fine (n B 2^f over 2^31: sums at the bound wrapped to the other sign).
  for (const [bound, sites] of [[1e6, 10], [1e4, 100], [250, 7], [2 ** 20, 3], [1, 2 ** 10]] as const) {
    const f = fractionalBitsFor(bound, sites);
    assert.ok(f >= 0 && f < 24, `${bound} x ${sites}: f ${f} below the cap`);
    assert.ok(sites * bound * 2 ** f < 2 ** 31, `${bound} x ${sites}: n B 2^${f} overflows the ring`);
    assert.ok(sites * bound * 2 ** (f + 1) >= 2 ** 31, `${bound} x ${sites}: f ${f} is not the finest that fits`);
    for (const sign of [1, -1]) {
      const layout = new VectorLayout([{ name: 'x', length: 1, kind: 'real', bound }], sites);
      const sum = new Uint32Array(1);
      for (let s = 0; s < sites; s++) sum[0] = sum[0]! + layout.encode({ x: [sign * bound] }).vector[0]!;
      assert.ok(Math.abs(layout.decodeSum(sum).x![0]! - sign * sites * bound) <= layout.errorBound('x'), `${sites} sites at ${sign * bound} decode to their sum`);
    }
  }
});

test('integer statistics encode exactly, negative sums included', () => {
  const layout = new VectorLayout(
    [
      { name: 'counts', length: 3, kind: 'count', bound: 1000 },
      { name: 'diffs', length: 2, kind: 'integer', bound: 50 },
    ],
    4,
  );
  const sum = new Uint32Array(layout.length);
  const inputs = [
    { counts: [0, 7, 1000], diffs: [-50, 3] },
    { counts: [1, 0, 999], diffs: [-50, -4] },
    { counts: [2, 5, 0], diffs: [-1, 0] },
  ];
  for (const v of inputs) {
    const e = layout.encode(v);
    assert.deepEqual(e.clipped, { counts: 0, diffs: 0 });
    for (let i = 0; i < sum.length; i++) sum[i] = sum[i]! + e.vector[i]!;
  }
  const d = layout.decodeSum(sum);
  assert.deepEqual([...d.counts!], [3, 12, 1999]);
  assert.deepEqual([...d.diffs!], [-101, -1]);
  assert.equal(layout.errorBound('counts'), 0);
});

test('out-of-bound values are clipped and counted; negative counts become 0', () => {
  const layout = new VectorLayout(
    [
      { name: 'w', length: 3, kind: 'real', bound: 1 },
      { name: 'n', length: 2, kind: 'count', bound: 100 },
    ],
    2,
  );
  const e = layout.encode({ w: [5, -5, 0.5], n: [-3, 1e12] });
  assert.deepEqual(e.clipped, { w: 2, n: 2 });
  const d = layout.decodeSum(e.vector);
  assert.deepEqual([...d.n!], [0, 100]);
  assert.ok(Math.abs(d.w![0]! - 1) <= layout.errorBound('w', 1) && Math.abs(d.w![1]! + 1) <= layout.errorBound('w', 1));
});

test('a decoded sum no honest encodings could give is named by part and index; honest sums at the bounds pass', () => {
  const layout = new VectorLayout(
    [
      { name: 'w', length: 2, kind: 'real', bound: 1 },
      { name: 'n', length: 2, kind: 'count', bound: 100 },
      { name: 's', length: 1, kind: 'wide', bound: 1e6 },
    ],
    3,
  );
  const honest = (v: Record<string, number[]>) => layout.encode(v).vector;
  const sum = new Uint32Array(layout.length);
  for (const x of [honest({ w: [1, -1], n: [100, 0], s: [1e6] }), honest({ w: [1, -1], n: [100, 0], s: [1e6] })]) for (let i = 0; i < sum.length; i++) sum[i] = sum[i]! + x[i]!;
  assert.equal(layout.outOfRange(layout.decodeSum(sum), 2), undefined);
  // A site that writes its own ring words: a count below zero, or past what the included sites could add.
  const hostile = sum.slice();
  hostile[layout.part('n').offset + 1] = (hostile[layout.part('n').offset + 1]! - 5) >>> 0;
  assert.match(layout.outOfRange(layout.decodeSum(hostile), 2) ?? '', /^part "n"\[1\] sums to -5, outside \[0, 200\] for 2 sites$/);
  assert.match(layout.outOfRange(layout.decodeSum(sum), 1) ?? '', /^part "w"\[0\] sums to 2, outside/, "two sites' sum is more than one site can give");
});

test('NaN, fractional counts, wrong lengths, unknown parts and ring overflow are refused', () => {
  const layout = new VectorLayout(
    [
      { name: 'w', length: 2, kind: 'real', bound: 1 },
      { name: 'n', length: 1, kind: 'count', bound: 10 },
    ],
    3,
  );
  assert.throws(() => layout.encode({ w: [NaN, 0], n: [1] }), /w\[0\] is NaN, not a finite number/);
  assert.throws(() => layout.encode({ w: [0, 0], n: [1.5] }), /n\[0\] is 1.5, not an integer/);
  assert.throws(() => layout.encode({ w: [0], n: [1] }), /part "w" has 1 values, expected 2/);
  assert.throws(() => layout.encode({ w: [0, 0] }), /part "n" is missing/);
  assert.throws(() => layout.encode({ w: [0, 0], n: [1], extra: [1] }), /no part "extra"/);
  assert.throws(() => new VectorLayout([{ name: 'n', length: 1, kind: 'count', bound: 2 ** 30 }], 4), /overflows the 32-bit ring/);
  assert.throws(() => new VectorLayout([{ name: 'w', length: 1, kind: 'real', bound: 1000 }], 10, 20), /20 fraction bits overflow the ring/);
  assert.throws(() => new VectorLayout([{ name: 'n', length: 1, kind: 'count', bound: 2.5 }], 2), /an integer bound is needed/);
});

test('the model-update layout gives the example-weighted mean FedAvg computes', () => {
  const opts = { clipBound: 10, maxExamples: 1000 };
  const layout = modelUpdateLayout(4, 3, opts);
  const sites = [
    { w: Float32Array.from([0.5, -1, 2, 0]), n: 100 },
    { w: Float32Array.from([0.25, 1, -2, 3]), n: 300 },
    { w: Float32Array.from([1, 0, 0, -0.125]), n: 50 },
  ];
  const sum = new Uint32Array(layout.length);
  for (const s of sites) {
    const { vector } = layout.encode(weightedUpdate(s.w, s.n, opts));
    for (let i = 0; i < sum.length; i++) sum[i] = sum[i]! + vector[i]!;
  }
  const d = layout.decodeSum(sum);
  const total = d.numExamples![0]!;
  assert.equal(total, 450);
  for (let i = 0; i < 4; i++) {
    const expected = sites.reduce((a, s) => a + s.w[i]! * s.n, 0) / 450;
    assert.ok(Math.abs(d.weightedUpdate![i]! / total - expected) <= layout.errorBound('weightedUpdate') / total);
  }
});

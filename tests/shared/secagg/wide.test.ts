import assert from 'node:assert/strict';
import { test } from 'node:test';
import { VectorLayout } from '../../../shared/secagg/layout.ts';
import { decodeWide, encodeWide, limbsFor, WIDE_MAX_SITES } from '../../../shared/secagg/wide.ts';

/** Ring sum of each site's encoding of its value. */
function ringSum(values: number[], limbs: number, f: number): Uint32Array {
  const sum = new Uint32Array(limbs);
  const one = new Uint32Array(limbs);
  for (const v of values) {
    encodeWide(v, limbs, f, one, 0);
    for (let k = 0; k < limbs; k++) sum[k] = sum[k]! + one[k]!;
  }
  return sum;
}

test('wide sums are exact at their fraction bits, signed, far past one 32-bit word', () => {
  for (const [bound, sites] of [[1e20, 10], [1e35, 100], [1, 3], [1e10, WIDE_MAX_SITES]] as const) {
    const limbs = limbsFor(bound, sites);
    const values = Array.from({ length: Math.min(sites, 200) }, (_, i) => (i % 2 ? -1 : 1) * bound * ((i % 7) / 7));
    const exact = values.reduce((a, v) => a + BigInt(Math.round(v * 2 ** 16)), 0n);
    assert.equal(decodeWide(ringSum(values, limbs, 16), 0, limbs, 16), Number(exact) / 2 ** 16, `bound ${bound}, ${sites} sites, ${limbs} limbs`);
  }
});

test('a layout with a wide part round-trips a sum of squares no 32-bit part could hold', () => {
  const layout = new VectorLayout([
    { name: 'n', length: 1, kind: 'count', bound: 1e5 },
    { name: 'sumSq', length: 2, kind: 'wide', bound: 1e5 * 1e12 },
  ], 5);
  const sites = [[300, 4.1e9, -2.5e10], [250, 7.7e11, 3.3e3]];
  const sum = new Uint32Array(layout.length);
  for (const [n, a, b] of sites) {
    const { vector } = layout.encode({ n: [n!], sumSq: [a!, b!] });
    for (let i = 0; i < sum.length; i++) sum[i] = sum[i]! + vector[i]!;
  }
  const d = layout.decodeSum(sum);
  assert.equal(d.n![0], 550);
  assert.ok(Math.abs(d.sumSq![0]! - (4.1e9 + 7.7e11)) <= layout.errorBound('sumSq', 2));
  assert.ok(Math.abs(d.sumSq![1]! - (-2.5e10 + 3.3e3)) <= layout.errorBound('sumSq', 2));
  // Past the bound: clipped and counted, as every part.
  assert.equal(layout.encode({ n: [1], sumSq: [2e17, 0] }).clipped.sumSq, 1);
  assert.throws(() => layout.encode({ n: [1], sumSq: [Number.NaN, 0] }), /sumSq\[0\] is NaN/);
  assert.throws(() => new VectorLayout([{ name: 'w', length: 1, kind: 'wide', bound: 1 }], WIDE_MAX_SITES + 1), /wide parts hold at most/);
});

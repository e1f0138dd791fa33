import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import {
  derangement,
  gceLoss,
  groupBalancedWeights,
  independencePenalty,
  lffWeights,
  permutationMatrix,
  RunningLosses,
  stopGradient,
  swapRows,
} from '../../../../../shared/model/variants/debiased/dual-branch.ts';
import { Rng } from '../../../../../shared/rng.ts';
import { testBackend } from './helpers.ts';

before(async () => void (await testBackend()));

const near = (a: number, b: number, tol: number, what = '') =>
  assert.ok(Math.abs(a - b) <= tol, `${what}: ${a} vs ${b} (tol ${tol})`);

/** The GCE formula in double precision: (1 - p_y^q) / q. */
const gceRef = (l: number, y: number, q: number) => {
  const p = 1 / (1 + Math.exp(-l));
  return (1 - (y ? p : 1 - p) ** q) / q;
};

test('GCE matches its formula and its gradient matches finite differences', () => {
  const logits = [-3, -0.7, 0, 0.4, 2.5, 8];
  const ys = [1, 0, 1, 0, 1, 0];
  for (const q of [0.7, 0.3]) {
    const l = tf.tensor1d(logits);
    const y = tf.tensor1d(ys);
    const v = gceLoss(l, y, q).dataSync();
    logits.forEach((li, i) => near(v[i]!, gceRef(li, ys[i]!, q), 1e-5, `value ${i}`));
    const g = tf.grad((t: tf.Tensor) => tf.sum(gceLoss(t as tf.Tensor1D, y, q)))(l).dataSync();
    const h = 1e-4;
    logits.forEach((li, i) => {
      const fd = (gceRef(li + h, ys[i]!, q) - gceRef(li - h, ys[i]!, q)) / (2 * h);
      near(g[i]!, fd, 1e-4, `gradient ${i} (q ${q})`);
    });
  }
  // A confident right answer costs ~0, a confident wrong one ~1/q (bounded, unlike CE).
  const ext = gceLoss(tf.tensor1d([20, -20]), tf.tensor1d([1, 1]), 0.7).dataSync();
  near(ext[0]!, 0, 1e-5, 'right');
  near(ext[1]!, 1 / 0.7, 1e-4, 'wrong');
});

test('group-balanced weights give each group its share of the batch weight', () => {
  const rng = new Rng(2);
  const n = 50;
  const r = Float32Array.from({ length: n }, () => rng.next() * 0.8);
  const base = Float32Array.from({ length: n }, () => 0.2 + rng.next() * 2);
  const total = base.reduce((a, b) => a + b, 0);
  for (const share of [0.5, 0.25]) {
    const w = groupBalancedWeights(r, base, share);
    let conf = 0;
    let aligned = 0;
    w.forEach((v, i) => (r[i]! > 0.5 ? (conf += v) : (aligned += v)));
    near(conf, share * total, 1e-3, 'conflicting');
    near(aligned, (1 - share) * total, 1e-3, 'aligned');
    // Within a group, weights stay proportional to the base weights.
    const i = r.findIndex((v) => v > 0.5);
    const j = r.findIndex((v, k) => v > 0.5 && k > i);
    near(w[i]! / w[j]!, base[i]! / base[j]!, 1e-4, 'proportional');
  }
  // One group empty: the other keeps all the weight.
  assert.deepEqual(Array.from(groupBalancedWeights(new Float32Array([0.1, 0.2]), new Float32Array([1, 3]), 0.5)), [1, 3]);
  assert.deepEqual(Array.from(groupBalancedWeights(new Float32Array([0.9, 0.6]), new Float32Array([1, 3]), 0.5)), [1, 3]);
});

test('neutral rows keep their weight; the two groups share the rest', () => {
  const r = new Float32Array([0.9, 0.2, 0.3, 0.8, 0.1, 0.7]);
  const base = new Float32Array([1, 1, 2, 1, 1, 3]);
  const neutral = Uint8Array.from([0, 0, 0, 0, 1, 1]);
  const w = groupBalancedWeights(r, base, 0.5, neutral);
  assert.deepEqual([w[4], w[5]], [1, 3]);
  near(w[0]! + w[3]!, 2.5, 1e-6, 'conflicting'); // half of the non-neutral total 5
  near(w[1]! + w[2]!, 2.5, 1e-6, 'aligned');
  near(w[2]! / w[1]!, 2, 1e-6, 'proportional');
  const all = groupBalancedWeights(r, base, 0.5, Uint8Array.from([1, 1, 1, 1, 1, 1]));
  assert.deepEqual(Array.from(all), Array.from(base));
});

test('LfF weights are the base times r normalised to mean 1 (over non-neutral rows)', () => {
  const w = lffWeights(new Float32Array([0.2, 0.6, 0.4]), new Float32Array([1, 1, 2]));
  assert.deepEqual(Array.from(w).map((v) => +v.toFixed(5)), [0.5, 1.5, 2]);
  const n = lffWeights(new Float32Array([0.2, 0.6, 0.9]), new Float32Array([1, 1, 2]), Uint8Array.from([0, 0, 1]));
  assert.deepEqual(Array.from(n).map((v) => +v.toFixed(5)), [0.5, 1.5, 2]);
});

test('running losses: first value taken as is, then EMA; unseen rows count as aligned', () => {
  const rl = new RunningLosses(0.7);
  rl.reset(4);
  rl.update(Int32Array.from([0, 2]), new Float32Array([1, 0.2]), new Float32Array([1, 0.8]));
  rl.update(Int32Array.from([0]), new Float32Array([2]), new Float32Array([0]));
  const r = rl.ratio(Int32Array.from([0, 1, 2, 9]));
  near(r[0]!, 1.3 / (1.3 + 0.7), 1e-6, 'row 0'); // bias 0.7*1+0.3*2, causal 0.7*1+0.3*0
  assert.equal(r[1], 0.5);
  near(r[2]!, 0.2, 1e-6, 'row 2');
  assert.equal(r[3], 0.5);
  near(rl.conflictingFraction(), 0.5, 1e-9, 'fraction');
  rl.update(Int32Array.from([9]), new Float32Array([1]), new Float32Array([1])); // grows past n
  assert.ok(rl.size >= 10);
});

test('feature swap pairs each row with another and keeps the bias code with its label', () => {
  const n = 7;
  const perm = derangement(n, new Rng(5));
  assert.deepEqual([...perm].sort(), [0, 1, 2, 3, 4, 5, 6]);
  perm.forEach((j, i) => assert.notEqual(j, i));
  const zb = tf.tensor2d(Array.from({ length: n * 2 }, (_, k) => (k % 2 ? 10 : 1) * Math.floor(k / 2)), [n, 2]);
  const y = tf.tensor1d([0, 1, 1, 0, 1, 0, 0]);
  const w = tf.tensor1d([1, 2, 3, 4, 5, 6, 7]);
  const s = swapRows(permutationMatrix(perm), zb, y, w);
  const z2 = s.zb.arraySync();
  const y2 = s.y.dataSync();
  const w2 = s.w.dataSync();
  const y0 = y.dataSync();
  for (let i = 0; i < n; i++) {
    const src = z2[i]![0]!; // the code tells which row it came from
    assert.equal(src, perm[i]);
    assert.equal(z2[i]![1], 10 * perm[i]!);
    assert.equal(y2[i], y0[src], `row ${i}: label follows its bias code`);
    assert.equal(w2[i], src + 1);
  }
});

test('the swap is differentiable through the permutation matrix (no gather)', () => {
  const P = permutationMatrix(Int32Array.from([2, 0, 1]));
  const v = tf.variable(tf.tensor2d([1, 2, 3], [3, 1]));
  const { grads } = tf.variableGrads(() => tf.sum(tf.mul(tf.matMul(P, v), tf.tensor2d([1, 10, 100], [3, 1]))) as tf.Scalar);
  // d/dv[j] = weight of the row that reads v[j]: row 1 reads 0, row 2 reads 1, row 0 reads 2.
  assert.deepEqual(Array.from(grads[v.name]!.dataSync()), [10, 100, 1]);
  v.dispose();
});

test('independence penalty: ~0 for independent codes, clearly positive for copies', () => {
  const rng = new Rng(11);
  const n = 3000;
  const a = tf.tensor2d(Array.from({ length: n * 6 }, () => rng.normal()), [n, 6]);
  const b = tf.tensor2d(Array.from({ length: n * 5 }, () => Math.max(0, rng.normal())), [n, 5]);
  const indep = independencePenalty(a, b).dataSync()[0]!;
  const copy = independencePenalty(a, a).dataSync()[0]!;
  const mixed = independencePenalty(a, tf.add(a, tf.mul(0.1, tf.randomNormal([n, 6], 0, 1, 'float32', 3))) as tf.Tensor2D).dataSync()[0]!;
  assert.ok(indep < 0.002, `independent: ${indep}`);
  assert.ok(copy > 0.1, `copies: ${copy}`);
  assert.ok(mixed > 0.1, `near copies: ${mixed}`);
  // Scale-free: shrinking a code does not lower it.
  near(independencePenalty(a, tf.mul(a, 0.05) as tf.Tensor2D).dataSync()[0]!, copy, 0.005, 'scaled copy');
});

test('stopGradient passes values and blocks gradients', () => {
  const v = tf.variable(tf.tensor1d([1, 2]));
  const { grads } = tf.variableGrads(() => tf.sum(tf.add(tf.mul(stopGradient(v), 3), v)) as tf.Scalar);
  assert.deepEqual(Array.from(grads[v.name]!.dataSync()), [1, 1]);
  assert.deepEqual(Array.from(stopGradient(v).dataSync()), [1, 2]);
  v.dispose();
});

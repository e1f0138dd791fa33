import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import {
  biasHeadLogits,
  crossCorrelationPenalty,
  derangement,
  groupBalancedWeights,
  lffWeights,
  movedCausalCodes,
  RunningLosses,
  weightedGce,
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

/** GCE per row written the plain way (autodiff): the reference for the fused op. */
const gceLoss = (logits: tf.Tensor1D, y: tf.Tensor1D, q: number): tf.Tensor1D => {
  const s = tf.sub(tf.mul(y, 2), 1);
  const pq = tf.exp(tf.mul(-q, tf.softplus(tf.neg(tf.mul(s, logits)))));
  return tf.div(tf.sub(1, pq), q) as tf.Tensor1D;
};

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

/** References written the plain way (autodiff): DisEnt's detach, and a row gather as a permutation matMul. */
const detach = tf.customGrad((...inputs: (tf.Tensor | tf.GradSaveFunc)[]) => ({
  value: tf.clone(inputs[0] as tf.Tensor),
  gradFunc: (dy: tf.Tensor) => [tf.zerosLike(dy)],
}));
const permutationMatrix = (perm: Int32Array) => {
  const n = perm.length;
  const m = new Float32Array(n * n);
  perm.forEach((j, i) => (m[i * n + j] = 1));
  return tf.tensor2d(m, [n, n]);
};

/** Max |a - b| over two gradient maps' entries, relative to the largest |b|. */
function gradGap(a: Record<string, tf.Tensor>, b: Record<string, tf.Tensor>): number {
  let gap = 0;
  for (const k of Object.keys(b)) {
    assert.ok(a[k], `gradient for ${k} missing`);
    const x = a[k].dataSync();
    const y = b[k]!.dataSync();
    const scale = Math.max(1e-6, ...Array.from(y, Math.abs));
    x.forEach((v, i) => (gap = Math.max(gap, Math.abs(v - y[i]!) / scale)));
  }
  return gap;
}

test("feature swap: every row gets another row's causal code and keeps its own bias code", () => {
  const n = 7;
  const perm = derangement(n, new Rng(5));
  assert.deepEqual([...perm].sort(), [0, 1, 2, 3, 4, 5, 6]);
  perm.forEach((j, i) => assert.notEqual(j, i));
  // z = [z_c | z_b], 2 + 1 columns; z_c encodes the row it came from.
  const z = Float32Array.from({ length: n * 3 }, (_, k) => (k % 3 === 2 ? -1 : 10 * Math.floor(k / 3) + (k % 3)));
  const moved = movedCausalCodes(z, n, 3, 2, perm);
  for (let i = 0; i < n; i++) {
    const j = perm[i]!; // row j is the pair (z_c of row i, z_b of row j)
    assert.deepEqual(Array.from(moved.subarray(j * 3, j * 3 + 3)), [10 * i, 10 * i + 1, 0]);
  }
});

test("bias head op equals DisEnt's swap written with detach and a permutation matrix, values and gradients", () => {
  const rng = new Rng(9);
  const n = 6;
  const H = 3;
  const D = 2 * H;
  const q = 0.7;
  const z = tf.variable(tf.tensor2d(Array.from({ length: n * D }, () => rng.normal()), [n, D]));
  const W = tf.variable(tf.tensor2d(Array.from({ length: D }, () => rng.normal()), [D, 1]));
  const b = tf.variable(tf.tensor1d([0.3]));
  const y = Float32Array.from({ length: n }, () => (rng.next() < 0.5 ? 1 : 0));
  const base = Float32Array.from({ length: n }, () => 0.5 + rng.next());
  const perm = derangement(n, rng);
  // Ours: swapped rows re-indexed, so labels and weights stay in place.
  const ours = () =>
    weightedGce(biasHeadLogits(z, H, W, b, movedCausalCodes(z.dataSync() as Float32Array, n, D, H, perm)), Float32Array.of(...y, ...y), Float32Array.of(...base, ...base.map((v) => 2 * v)), q);
  // Reference: row i reads (sg(z_c[i]), z_b[perm[i]]) with label y[perm[i]] and weight base[perm[i]].
  const reference = () =>
    tf.tidy(() => {
      const zc = detach(tf.slice(z, [0, 0], [-1, H])) as tf.Tensor2D;
      const zb = tf.slice(z, [0, H], [-1, H]) as tf.Tensor2D;
      const head = (t: tf.Tensor2D) => tf.reshape(tf.add(tf.matMul(t, W), b), [-1]) as tf.Tensor1D;
      const plain = head(tf.concat([zc, zb], 1) as tf.Tensor2D);
      const swapped = head(tf.concat([zc, tf.matMul(permutationMatrix(perm), zb)], 1) as tf.Tensor2D);
      const yS = Float32Array.from(perm, (j) => y[j]!);
      const wS = Float32Array.from(perm, (j) => 2 * base[j]!);
      return tf.add(
        tf.sum(tf.mul(gceLoss(plain, tf.tensor1d(y), q), tf.tensor1d(base))),
        tf.sum(tf.mul(gceLoss(swapped, tf.tensor1d(yS), q), tf.tensor1d(wS))),
      ) as tf.Scalar;
    });
  const a = tf.variableGrads(ours, [z, W, b]);
  const r = tf.variableGrads(reference, [z, W, b]);
  near(a.value.dataSync()[0]!, r.value.dataSync()[0]!, 1e-5, 'loss');
  assert.ok(gradGap(a.grads, r.grads) < 1e-5, `gradient gap ${gradGap(a.grads, r.grads)}`);
  // The causal half of z gets no gradient from the bias head.
  const gz = a.grads[z.name]!.arraySync() as number[][];
  gz.forEach((row) => row.slice(0, H).forEach((v) => assert.equal(v, 0)));
  assert.ok(gz.some((row) => row.slice(H).some((v) => v !== 0)));
  // Without a swap the op is the plain head on (sg(z_c), z_b).
  const plainOurs = biasHeadLogits(z, H, W, b, null).dataSync();
  const plainRef = tf.tidy(() => tf.reshape(tf.add(tf.matMul(z, W), b), [-1]).dataSync());
  plainOurs.forEach((v, i) => near(v, plainRef[i]!, 1e-6, `plain logit ${i}`));
  tf.dispose([z, W, b]);
});

test('weighted GCE: the weighted sum of the formula, and its gradient matches finite differences', () => {
  const logits = [-3, -0.7, 0, 0.4, 2.5, 8];
  const ys = Float32Array.from([1, 0, 1, 0, 1, 0]);
  const w = Float32Array.from([0.5, 1, 2, 0, 1.5, 1]);
  const l = tf.tensor1d(logits);
  for (const q of [0.7, 0.3]) {
    near(weightedGce(l, ys, w, q).dataSync()[0]!, logits.reduce((acc, li, i) => acc + w[i]! * gceRef(li, ys[i]!, q), 0), 1e-5, `value (q ${q})`);
    const g = tf.grad((t: tf.Tensor) => weightedGce(t as tf.Tensor1D, ys, w, q))(l).dataSync();
    const h = 1e-4;
    logits.forEach((li, i) => {
      const fd = (w[i]! * (gceRef(li + h, ys[i]!, q) - gceRef(li - h, ys[i]!, q))) / (2 * h);
      near(g[i]!, fd, 1e-4, `gradient ${i} (q ${q})`);
    });
  }
  // A confident right answer costs ~0, a confident wrong one ~1/q (bounded, unlike CE).
  const one = Float32Array.of(1);
  near(weightedGce(tf.tensor1d([20]), one, one, 0.7).dataSync()[0]!, 0, 1e-5, 'right');
  near(weightedGce(tf.tensor1d([-20]), one, one, 0.7).dataSync()[0]!, 1 / 0.7, 1e-4, 'wrong');
  assert.throws(() => weightedGce(l, ys.subarray(1), w, 0.7), /6 logits, 5 labels, 6 weights/);
});

test('independence penalty: the hand-written gradient equals autodiff of the formula', () => {
  const rng = new Rng(4);
  const n = 16;
  const [Hc, Hb] = [3, 4];
  // Correlated halves, and one near-constant column (the variance floor's regime).
  const vals = Array.from({ length: n * (Hc + Hb) }, (_, k) => {
    const row = Math.floor(k / (Hc + Hb));
    const col = k % (Hc + Hb);
    return col === 2 ? 1 + 1e-4 * rng.normal() : rng.normal() + (col >= Hc ? 0.8 * row : 0.5 * row);
  });
  const z = tf.variable(tf.tensor2d(vals, [n, Hc + Hb]));
  const formula = () =>
    tf.tidy(() => {
      const standardise = (t: tf.Tensor2D) => {
        const c = tf.sub(t, tf.mean(t, 0, true));
        return tf.mul(c, tf.rsqrt(tf.add(tf.mean(tf.square(c), 0, true), 1e-6))) as tf.Tensor2D;
      };
      const corr = tf.matMul(standardise(tf.slice(z, [0, 0], [-1, Hc])), standardise(tf.slice(z, [0, Hc], [-1, Hb])), true, false);
      return tf.mul(tf.sum(tf.square(corr)), 1 / (n * n * Hc * Hb)) as tf.Scalar;
    });
  const a = tf.variableGrads(() => crossCorrelationPenalty(z, Hc, 3), [z]);
  const r = tf.variableGrads(() => tf.mul(3, formula()) as tf.Scalar, [z]);
  near(a.value.dataSync()[0]!, r.value.dataSync()[0]!, 1e-5, 'value');
  assert.ok(gradGap(a.grads, r.grads) < 1e-3, `gradient gap ${gradGap(a.grads, r.grads)}`);
  assert.throws(() => crossCorrelationPenalty(z, 0), /split must be inside \(0, 7\)/);
  z.dispose();
});

test('independence penalty: ~0 for independent codes, clearly positive for copies', () => {
  const independencePenalty = (a: tf.Tensor2D, b: tf.Tensor2D) => crossCorrelationPenalty(tf.concat([a, b], 1) as tf.Tensor2D, a.shape[1]);
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

import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import type { PatternPrior } from '../../../../../shared/data/patterns.ts';
import { ParamSet } from '../../../../../shared/model/params.ts';
import {
  adjustedProbability,
  adjustExact,
  createConfounderHead,
  priorTensors,
  type ConfounderHead,
} from '../../../../../shared/model/variants/debiased/confounder.ts';
import { Rng } from '../../../../../shared/rng.ts';
import { testBackend } from './helpers.ts';

before(async () => void (await testBackend()));

const prior = (entries: [string, number][]): PatternPrior => ({
  version: 1,
  patterns: entries.map(([pattern, p]) => ({ pattern, p })),
  balancing: {},
  minCount: 1,
  totalRows: 100,
});
const close = (a: ArrayLike<number>, b: ArrayLike<number>, tol = 1e-5) => {
  assert.equal(a.length, b.length);
  for (let i = 0; i < a.length; i++) assert.ok(Math.abs(a[i]! - b[i]!) <= tol, `index ${i}: ${a[i]} vs ${b[i]}`);
};
const sigmoid = (v: number) => 1 / (1 + Math.exp(-v));

/**
 * A discrete toy: z takes two values (one-hot), m one of the patterns 10, 01, 11, and
 * the head returns the known logit of P(Y | z, m) from a table.
 */
function tableHead(table: number[][]): ConfounderHead {
  // c = the mask bits; phi(c) = one-hot of the pattern [10, 01, 11].
  const phi = (c: tf.Tensor2D) => {
    const [a, b] = tf.split(c, 2, 1) as [tf.Tensor2D, tf.Tensor2D];
    return tf.concat([tf.mul(a, tf.sub(1, b)), tf.mul(b, tf.sub(1, a)), tf.mul(a, b)], 1) as tf.Tensor2D;
  };
  const T = tf.tensor2d(table);
  const logit = (z: tf.Tensor2D, c: tf.Tensor2D) => tf.sum(tf.mul(tf.matMul(z, T), phi(c)), 1) as tf.Tensor1D;
  return {
    confounders: (present) => present,
    logit,
    ownLogit: logit,
    logitAll: (z, C) => tf.matMul(tf.matMul(z, T), phi(C), false, true) as tf.Tensor2D,
    attention: (z, C) => tf.zeros([z.shape[0], C.shape[0]]) as tf.Tensor2D,
  };
}

test('exact backdoor adjustment equals the hand-computed sum over the prior', () => {
  const P = [0.5, 0.3, 0.2];
  const probs = [
    [0.9, 0.6, 0.2],
    [0.1, 0.45, 0.7],
  ]; // P(Y = 1 | z, m)
  const head = tableHead(probs.map((r) => r.map((p) => Math.log(p / (1 - p)))));
  const pr = prior([
    ['10', P[0]!],
    ['01', P[1]!],
    ['11', P[2]!],
  ]);
  const z = tf.tensor2d([1, 0, 0, 1, 1, 0], [3, 2]);
  const present = tf.tensor2d([1, 1, 0, 1, 1, 0], [3, 2]); // own patterns must not matter
  const got = adjustedProbability(head, z, present, pr, 'exact').dataSync();
  const want = (zi: number) => probs[zi]!.reduce((s, p, m) => s + P[m]! * p, 0);
  close(got, [want(0), want(1), want(0)]);
  // 'none' uses the row's own pattern instead: row 0 has m = 11.
  close(adjustedProbability(head, z, present, pr, 'none').dataSync().slice(0, 2), [probs[0]![2]!, probs[1]![1]!]);
});

test('the prior is renormalised and a malformed pattern is named', () => {
  const head = tableHead([
    [0, 1, 2],
    [2, 1, 0],
  ]);
  const z = tf.tensor2d([1, 0], [1, 2]);
  const C = tf.tensor2d([1, 0, 0, 1], [2, 2]);
  const a = adjustExact(head, z, C, tf.tensor1d([2, 6])).dataSync()[0]!;
  close([a], [0.25 * sigmoid(0) + 0.75 * sigmoid(1)]);
  assert.throws(() => priorTensors(prior([['1x', 1]]), 2), /prior pattern "1x" \(entry 0\) must be 2 characters of 0\/1/);
  assert.throws(() => priorTensors(prior([['101', 1]]), 2), /must be 2 characters/);
});

function learnedHead(seed: number) {
  const params = new ParamSet();
  const head = createConfounderHead(params, 'd', 4, 3, 5, 6, new Rng(seed));
  // Random values everywhere, attention included, so no test passes by zeros.
  const rng = new Rng(seed + 1);
  params.setFlat(Float32Array.from({ length: params.size }, () => rng.normal() * 0.7));
  return { params, head };
}

test('the learned head: exact equals the per-pattern loop, NWGM equals exact for one pattern', () => {
  const { params, head } = learnedHead(3);
  const rng = new Rng(9);
  const z = tf.tensor2d(Array.from({ length: 5 * 4 }, () => rng.normal()), [5, 4]);
  const present = tf.tensor2d(Array.from({ length: 5 * 3 }, () => (rng.next() < 0.5 ? 1 : 0)), [5, 3]);
  const entries: [string, number][] = [
    ['111', 0.5],
    ['101', 0.3],
    ['010', 0.2],
  ];
  const loop = new Float32Array(5);
  for (const [pattern, p] of entries) {
    const bits = tf.tensor2d([...pattern].map(Number), [1, 3]);
    const c = tf.tile(head.confounders(bits), [5, 1]) as tf.Tensor2D;
    const pr = tf.sigmoid(head.logit(z, c)).dataSync();
    pr.forEach((v, i) => (loop[i]! += p * v));
  }
  close(adjustedProbability(head, z, present, prior(entries), 'exact').dataSync(), loop);
  for (const [pattern] of entries) {
    const one = prior([[pattern, 1]]);
    close(
      adjustedProbability(head, z, present, one, 'nwgm').dataSync(),
      adjustedProbability(head, z, present, one, 'exact').dataSync(),
    );
  }
  // With several patterns NWGM is an approximation: finite, in (0, 1), and not the exact value.
  const nw = adjustedProbability(head, z, present, prior(entries), 'nwgm').dataSync();
  assert.ok(nw.every((v) => v > 0 && v < 1));
  assert.ok(nw.some((v, i) => Math.abs(v - loop[i]!) > 1e-4));
  params.dispose();
});

test('an empty prior falls back to the row\'s own pattern', () => {
  const { params, head } = learnedHead(4);
  const z = tf.tensor2d([0.3, -1, 2, 0.5], [1, 4]);
  const present = tf.tensor2d([1, 0, 1], [1, 3]);
  const own = tf.sigmoid(head.logit(z, head.confounders(present))).dataSync();
  for (const mode of ['exact', 'nwgm', 'none'] as const)
    close(adjustedProbability(head, z, present, prior([]), mode).dataSync(), own);
  params.dispose();
});

test('the head is nonlinear in (z, c): the adjusted probability is not the probability at the mean confounder', () => {
  const { params, head } = learnedHead(5);
  const z = tf.tensor2d([1, -1, 0.5, 2], [1, 4]);
  const C = head.confounders(tf.tensor2d([1, 1, 1, 0, 0, 0], [2, 3]));
  const exact = adjustExact(head, z, C, tf.tensor1d([0.5, 0.5])).dataSync()[0]!;
  const atMean = tf.sigmoid(head.logit(z, tf.mean(C, 0, true) as tf.Tensor2D)).dataSync()[0]!;
  assert.ok(Math.abs(exact - atMean) > 1e-4, `${exact} vs ${atMean}`);
  params.dispose();
});

test('a pattern never seen in training still gets its own confounder embedding', () => {
  tf.tidy(() => {
    const params = new ParamSet();
    const head = createConfounderHead(params, 'unseen', 4, 3, 6, 5, new Rng(3));
    // Training saw 111 and 110; 011 never appeared, yet the dictionary maps its mask bits.
    const c = head.confounders(tf.tensor2d([[1, 1, 1], [1, 1, 0], [0, 1, 1]])).arraySync();
    const unseen = c[2]!;
    assert.equal(unseen.length, 6);
    assert.ok(unseen.every(Number.isFinite));
    const differs = (a: number[], b: number[]) => a.some((v, i) => Math.abs(v - b[i]!) > 1e-6);
    assert.ok(differs(unseen, c[0]!) && differs(unseen, c[1]!), 'distinct from the seen patterns');
    params.dispose();
  });
});

test('ownLogit (one op, hand-written gradient) equals autodiff of the plain formula, value and every gradient', () => {
  const { params, head } = learnedHead(7);
  const rng = new Rng(11);
  const n = 6;
  const z = tf.variable(tf.tensor2d(Array.from({ length: n * 4 }, () => rng.normal()), [n, 4]));
  const present = tf.tensor2d(Array.from({ length: n * 3 }, () => (rng.next() < 0.6 ? 1 : 0)), [n, 3]);
  const up = tf.tensor1d(Array.from({ length: n }, () => rng.normal())); // a non-uniform upstream gradient
  const [Wd, bd, Wz, Wc, b1, w2, b2, Wq] = params.variables();
  const vars = [z, ...params.variables()];
  const plain = () => {
    const c = tf.relu(tf.add(tf.matMul(present, Wd!), bd!));
    const h = tf.relu(tf.add(tf.add(tf.matMul(z, Wz!), tf.matMul(c, Wc!)), b1!));
    return tf.reshape(tf.add(tf.matMul(h, w2!), b2!), [-1]);
  };
  const ours = tf.variableGrads(() => tf.sum(tf.mul(head.ownLogit(z, present), up)) as tf.Scalar, vars);
  const ref = tf.variableGrads(() => tf.sum(tf.mul(plain(), up)) as tf.Scalar, vars);
  close(ours.value.dataSync(), ref.value.dataSync(), 1e-5);
  close(head.ownLogit(z, present).dataSync(), head.logit(z, head.confounders(present)).dataSync(), 1e-6);
  for (const v of vars) {
    if (v === Wq) {
      assert.equal(ours.grads[v.name], undefined, 'the attention is not read: no gradient');
      continue;
    }
    assert.deepEqual(ours.grads[v.name]!.shape, v.shape);
    close(ours.grads[v.name]!.dataSync(), ref.grads[v.name]!.dataSync(), 1e-5);
  }
  // Some hidden units are off (the relu masks matter) and the gradients are not all zero.
  assert.ok(Array.from(ref.grads[Wd!.name]!.dataSync()).some((v) => v !== 0));
  tf.dispose([z, present, up, ours.value, ref.value, ...Object.values(ours.grads), ...Object.values(ref.grads)]);
  params.dispose();
});

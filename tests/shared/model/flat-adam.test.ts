import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { loadBackend } from '../../../shared/model/backend.ts';
import { FlatAdam } from '../../../shared/model/flat-adam.ts';

before(async () => void (await loadBackend('wasm').catch(() => loadBackend('cpu'))));

/** A small regression with two variables, one decayed (W) and one not (b). */
function problem() {
  const x = tf.tensor2d([[1, 2], [3, -1], [0.5, 0.5], [-2, 1]]);
  const y = tf.tensor2d([[1], [0], [2], [-1]]);
  const W = tf.variable(tf.tensor2d([[0.3], [-0.2]]));
  const b = tf.variable(tf.tensor1d([0.1]));
  const data = () => tf.mean(tf.square(tf.sub(tf.add(tf.matMul(x, W), b), y))) as tf.Scalar;
  return { W, b, data, dispose: () => tf.dispose([x, y, W, b]) };
}

const close = (a: ArrayLike<number>, b: ArrayLike<number>, tol = 1e-5) =>
  Array.from(a).forEach((v, i) => assert.ok(Math.abs(v - b[i]!) <= tol, `index ${i}: ${v} vs ${b[i]}`));

test('matches tf.train.adam with weight decay written as an L2 loss term', () => {
  const ref = problem();
  const opt = tf.train.adam(0.05);
  const wd = 0.1;
  for (let i = 0; i < 20; i++)
    tf.tidy(() => {
      opt.minimize(() => tf.add(ref.data(), tf.mul(0.5 * wd, tf.sum(tf.square(ref.W)))) as tf.Scalar, false, [ref.W, ref.b]);
    });
  const ours = problem();
  const flat = new FlatAdam([ours.W, ours.b], { learningRate: 0.05, weightDecay: wd, decayMask: new Float32Array([1, 1, 0]) });
  let last = 0;
  for (let i = 0; i < 20; i++) last = flat.step(() => ours.data());
  close(ours.W.dataSync(), ref.W.dataSync());
  close(ours.b.dataSync(), ref.b.dataSync());
  // The reported loss includes the L2 term it stands for.
  const expected = tf.tidy(() => tf.add(ref.data(), tf.mul(0.5 * wd, tf.sum(tf.square(ref.W)))).dataSync()[0]!);
  assert.ok(Number.isFinite(last) && Math.abs(last - expected) < 0.05, `${last} vs ${expected}`);
  flat.dispose();
  opt.dispose();
  ref.dispose();
  ours.dispose();
});

test('the proximal pull equals a 0.5 * mu * ||w - anchor||^2 term', () => {
  const anchor = new Float32Array([1, 1, 1]);
  const ref = problem();
  const opt = tf.train.adam(0.05);
  const A = [tf.tensor2d([[1], [1]]), tf.tensor1d([1])];
  for (let i = 0; i < 15; i++)
    tf.tidy(() => {
      const prox = () => tf.add(tf.sum(tf.square(tf.sub(ref.W, A[0]!))), tf.sum(tf.square(tf.sub(ref.b, A[1]!))));
      opt.minimize(() => tf.add(ref.data(), tf.mul(0.5 * 0.3, prox())) as tf.Scalar, false, [ref.W, ref.b]);
    });
  const ours = problem();
  const flat = new FlatAdam([ours.W, ours.b], { learningRate: 0.05, proximalMu: 0.3, anchor });
  for (let i = 0; i < 15; i++) flat.step(() => ours.data());
  close(ours.W.dataSync(), ref.W.dataSync());
  close(ours.b.dataSync(), ref.b.dataSync());
  flat.dispose();
  opt.dispose();
  tf.dispose(A);
  ref.dispose();
  ours.dispose();
});

test('a variable the loss never touches is left alone, decay included', () => {
  const p = problem();
  const idle = tf.variable(tf.tensor1d([5, 5]));
  const before = tf.memory().numTensors;
  const flat = new FlatAdam([p.W, idle, p.b], { learningRate: 0.05, weightDecay: 0.5, decayMask: new Float32Array([1, 1, 1, 1, 0]) });
  for (let i = 0; i < 5; i++) flat.step(() => p.data());
  assert.deepEqual(Array.from(idle.dataSync()), [5, 5]);
  flat.dispose();
  assert.equal(tf.memory().numTensors, before, 'no tensors leak');
  idle.dispose();
  p.dispose();
});

test('entries outside the trainable mask never move, the rest train as without the mask', () => {
  const masked = problem();
  const free = problem();
  const a = new FlatAdam([masked.W, masked.b], { learningRate: 0.05, weightDecay: 0.1, decayMask: new Float32Array([1, 1, 0]), trainableMask: new Float32Array([1, 0, 1]) });
  const before = masked.W.dataSync()[1];
  for (let i = 0; i < 10; i++) a.step(() => masked.data());
  assert.equal(masked.W.dataSync()[1], before, 'W[1] is frozen');
  const b = new FlatAdam([free.W, free.b], { learningRate: 0.05, weightDecay: 0.1, decayMask: new Float32Array([1, 1, 0]) });
  for (let i = 0; i < 10; i++) b.step(() => free.data());
  assert.notEqual(free.W.dataSync()[1], before, 'without the mask it trains');
  assert.throws(() => new FlatAdam([masked.W], { learningRate: 0.1, trainableMask: new Float32Array(3) }), /trainableMask must have 2 entries/);
  a.dispose();
  b.dispose();
  masked.dispose();
  free.dispose();
});

test('variables that lose or never get a gradient follow the flat arithmetic (momentum, proximal pull)', () => {
  const lr = 0.05;
  const b1 = 0.9;
  const b2 = 0.999;
  /** One Adam step on one number, in float64. */
  const adam = ([m, v, w]: number[], g: number, t: number): number[] => {
    const m2 = b1 * m! + (1 - b1) * g;
    const v2 = b2 * v! + (1 - b2) * g * g;
    return [m2, v2, w! - (lr * (m2 / (1 - b1 ** t))) / (Math.sqrt(v2 / (1 - b2 ** t)) + 1e-7)];
  };
  const c = 0.7;
  for (const mu of [0, 0.3]) {
    // u gets the constant gradient c for 3 steps, then none: Adam's momentum keeps moving it.
    // idle never gets one: it stays put, unless a proximal pull moves it towards its anchor.
    const p = problem();
    const u = tf.variable(tf.tensor1d([0.4]));
    const idle = tf.variable(tf.tensor1d([2]));
    const idleId = idle.dataId;
    // Flat order: W (2), u (1), b (1), idle (1); the anchor is the start, except idle's.
    const anchor = new Float32Array([0.3, -0.2, 0.4, 0.1, 1]);
    const flat = new FlatAdam([p.W, u, p.b, idle], { learningRate: lr, ...(mu > 0 ? { proximalMu: mu, anchor } : {}) });
    let su = [0, 0, 0.4];
    let si = [0, 0, 2];
    for (let t = 1; t <= 6; t++) {
      const withU = t <= 3;
      flat.step(() => (withU ? (tf.add(p.data(), tf.mul(c, tf.sum(u))) as tf.Scalar) : p.data()));
      su = adam(su, (withU ? c : 0) + mu * (su[2]! - 0.4), t);
      si = adam(si, mu * (si[2]! - 1), t);
      assert.ok(Math.abs(u.dataSync()[0]! - su[2]!) < 1e-5, `mu ${mu}, step ${t}: u ${u.dataSync()[0]} vs ${su[2]}`);
      assert.ok(Math.abs(idle.dataSync()[0]! - si[2]!) < 1e-5, `mu ${mu}, step ${t}: idle ${idle.dataSync()[0]} vs ${si[2]}`);
    }
    if (mu > 0) assert.ok(si[2]! < 2, 'the pull moved idle');
    // Without the pull a variable that never had a gradient is not even written: the same tensor.
    else assert.ok(idle.dataId === idleId && idle.dataSync()[0] === 2);
    flat.dispose();
    tf.dispose([u, idle]);
    p.dispose();
  }
});

test("SCAFFOLD's correction is added to every step's gradient: matches Adam on the loss plus <c, w>", () => {
  const correction = new Float32Array([0.5, -1, 2]);
  const ref = problem();
  const opt = tf.train.adam(0.05);
  const cW = tf.tensor2d([[0.5], [-1]]);
  const cb = tf.tensor1d([2]);
  for (let i = 0; i < 10; i++)
    tf.tidy(() => {
      // d/dw <c, w> = c: the same gradient as adding c after the loss's.
      opt.minimize(() => tf.add(ref.data(), tf.add(tf.sum(tf.mul(cW, ref.W)), tf.sum(tf.mul(cb, ref.b)))) as tf.Scalar, false, [ref.W, ref.b]);
    });
  const ours = problem();
  const flat = new FlatAdam([ours.W, ours.b], { learningRate: 0.05, correction });
  for (let i = 0; i < 10; i++) flat.step(() => ours.data());
  close(ours.W.dataSync(), ref.W.dataSync());
  close(ours.b.dataSync(), ref.b.dataSync());
  assert.throws(() => new FlatAdam([ours.W, ours.b], { learningRate: 0.05, correction: new Float32Array(2) }), /correction must have 3 entries/);
  flat.dispose();
  opt.dispose();
  tf.dispose([cW, cb]);
  ref.dispose();
  ours.dispose();
});

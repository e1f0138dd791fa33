import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { affine } from '../../../shared/model/affine.ts';
import { loadBackend } from '../../../shared/model/backend.ts';
import { Rng } from '../../../shared/rng.ts';

before(async () => void (await loadBackend('wasm').catch(() => loadBackend('cpu'))));

const rng = new Rng(21);
const randn = (shape: [number, number] | [number]) =>
  tf.tensor(Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => rng.normal()), shape);

test('affine: values and every gradient equal autodiff of act(x1 W1 + x2 W2 + b)', () => {
  for (const act of ['linear', 'relu'] as const) {
    const x1 = tf.variable(randn([5, 3]));
    const x2 = tf.variable(randn([5, 2]));
    const W1 = tf.variable(randn([3, 4]));
    const W2 = tf.variable(randn([2, 4]));
    const b = tf.variable(randn([4]));
    const up = randn([5, 4]); // a non-uniform upstream gradient
    const vars = [x1, x2, W1, W2, b];
    const ours = () => tf.sum(tf.mul(affine([{ x: x1, W: W1 }, { x: x2, W: W2 }], b, act), up)) as tf.Scalar;
    const reference = () => {
      const pre = tf.add(tf.add(tf.matMul(x1, W1), tf.matMul(x2, W2)), b);
      return tf.sum(tf.mul(act === 'relu' ? tf.relu(pre) : pre, up)) as tf.Scalar;
    };
    const a = tf.variableGrads(ours, vars);
    const r = tf.variableGrads(reference, vars);
    assert.ok(Math.abs(a.value.dataSync()[0]! - r.value.dataSync()[0]!) < 1e-4, act);
    for (const v of vars) {
      assert.deepEqual(a.grads[v.name]!.shape, v.shape);
      const g = a.grads[v.name]!.dataSync();
      r.grads[v.name]!.dataSync().forEach((e, i) => assert.ok(Math.abs(g[i]! - e) < 1e-4, `${act} d${v.name}[${i}]: ${g[i]} vs ${e}`));
    }
    tf.dispose([...vars, up]);
  }
});

test('affine: a term marked grad:false gets no input gradient, its W still does', () => {
  const x = tf.variable(randn([4, 3]));
  const W = tf.variable(randn([3, 2]));
  const { grads } = tf.variableGrads(() => tf.sum(affine([{ x, W, grad: false }], null, 'relu')) as tf.Scalar, [x, W]);
  assert.equal(grads[x.name], undefined);
  assert.ok(grads[W.name]);
  assert.throws(() => affine([], null), /at least one term/);
  tf.dispose([x, W]);
});

test('affine with cols: the first cols outputs and every gradient equal autodiff of the full layer then a slice', () => {
  for (const act of ['linear', 'relu'] as const) {
    const x1 = tf.variable(randn([5, 3]));
    const x2 = tf.variable(randn([5, 2]));
    const W1 = tf.variable(randn([3, 6]));
    const W2 = tf.variable(randn([2, 6]));
    const b = tf.variable(randn([6]));
    const up = randn([5, 4]);
    const vars = [x1, x2, W1, W2, b];
    const ours = () => tf.sum(tf.mul(affine([{ x: x1, W: W1 }, { x: x2, W: W2 }], b, act, 4), up)) as tf.Scalar;
    const reference = () => {
      const pre = tf.add(tf.add(tf.matMul(x1, W1), tf.matMul(x2, W2)), b);
      return tf.sum(tf.mul(tf.slice(act === 'relu' ? tf.relu(pre) : pre, [0, 0], [-1, 4]), up)) as tf.Scalar;
    };
    assert.deepEqual(affine([{ x: x1, W: W1 }], b, act, 4).shape, [5, 4]);
    const a = tf.variableGrads(ours, vars);
    const r = tf.variableGrads(reference, vars);
    assert.ok(Math.abs(a.value.dataSync()[0]! - r.value.dataSync()[0]!) < 1e-4, act);
    for (const v of vars) {
      assert.deepEqual(a.grads[v.name]!.shape, v.shape, 'full-shape gradients');
      const g = a.grads[v.name]!.dataSync();
      r.grads[v.name]!.dataSync().forEach((e, i) => assert.ok(Math.abs(g[i]! - e) < 1e-4, `${act} d${v.name}[${i}]: ${g[i]} vs ${e}`));
    }
    // Beyond the window the weight and bias gradients are exactly zero.
    const gW = a.grads[W1.name]!.arraySync() as number[][];
    assert.ok(gW.every((row) => row[4] === 0 && row[5] === 0));
    assert.deepEqual(Array.from(a.grads[b.name]!.dataSync()).slice(4), [0, 0]);
    tf.dispose([...vars, up]);
  }
  const x = randn([2, 3]);
  const W = randn([3, 4]);
  assert.throws(() => affine([{ x, W }], null, 'linear', 5), /cols must be an integer in \[1, 4\], got 5/);
  assert.throws(() => affine([{ x, W }], null, 'linear', 0), /cols must be an integer/);
  tf.dispose([x, W]);
});

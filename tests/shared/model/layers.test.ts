import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import type { FeatureSpace } from '../../../shared/data/feature-space.ts';
import { loadBackend } from '../../../shared/model/backend.ts';
import { FlatAdam } from '../../../shared/model/flat-adam.ts';
import { multimodalEncoder, twinEncoder } from '../../../shared/model/layers.ts';
import { ParamSet } from '../../../shared/model/params.ts';
import { Rng } from '../../../shared/rng.ts';

before(async () => void (await loadBackend('wasm').catch(() => loadBackend('cpu'))));

const space: FeatureSpace = {
  modalities: [
    { name: 'a', start: 0, end: 2 },
    { name: 'b', start: 2, end: 3 },
  ],
  columns: ['x0', 'x1', 'x2'].map((f, i) => ({ feature: f, featureIndex: i, kind: 'numeric' as const, mean: 0, std: 1 })),
};

test('twin encoder: the halves are independent encoders, the bias half sees only its columns', () => {
  const H = 4;
  const params = new ParamSet();
  // The bias half may read column x2 only.
  const twin = twinEncoder(params, 't', space, 3, H, new Rng(2), Float32Array.from([0, 0, 1]));
  const x = tf.tensor2d([[0.5, -1, 2], [1, 1, -0.5]]);
  const x2 = tf.tensor2d([[3, 2, 2], [-4, 0, -0.5]]); // x0, x1 changed; x2 the same
  const present = tf.tensor2d([[1, 1], [1, 1]]);
  const halves = (t: tf.Tensor2D) => {
    const z = twin.encode(t, present).arraySync();
    return { zc: z.map((r) => r.slice(0, H)), zb: z.map((r) => r.slice(H)) };
  };
  const a = halves(x);
  const b = halves(x2);
  assert.deepEqual(a.zb, b.zb, 'bias half ignores the masked columns');
  assert.notDeepEqual(a.zc, b.zc, 'the causal half reads them');
  // Perturbing only bias-half weights leaves the causal code unchanged.
  const [Wm, , , Wf] = params.variables();
  const E = 2 * 3;
  tf.tidy(() => {
    const m = new Float32Array(Wm!.size);
    for (let j = 0; j < 3; j++) for (let c = E; c < 2 * E; c++) m[j * 2 * E + c] = 1;
    Wm!.assign(tf.add(Wm!, tf.mul(tf.tensor(m, Wm!.shape), 0.7)));
    const f = new Float32Array(Wf!.size);
    const cols = 2 * H;
    for (let r = 0; r < Wf!.shape[0]; r++) for (let c = H; c < cols; c++) f[r * cols + c] = 1;
    Wf!.assign(tf.add(Wf!, tf.mul(tf.tensor(f, Wf!.shape), 0.7)));
  });
  const c = halves(x);
  assert.deepEqual(c.zc, a.zc, 'causal code unchanged by bias-half weights');
  assert.notDeepEqual(c.zb, a.zb);
  tf.dispose([x, x2, present]);
  twin.dispose();
  params.dispose();
});

test('twin encoder: training keeps the block structure (masked weights stay zero, the bias half stays blind)', () => {
  const params = new ParamSet();
  const twin = twinEncoder(params, 't', space, 3, 4, new Rng(3), Float32Array.from([0, 0, 1]));
  const x = tf.tensor2d([[0.5, -1, 2], [1, 1, -0.5], [-2, 0.3, 1]]);
  const present = tf.tensor2d([[1, 1], [1, 0], [0, 1]]);
  const mask = params.trainableMask()!;
  const zerosAt = () => Array.from(params.getFlat()).flatMap((v, i) => (mask[i] === 0 && v !== 0 ? [i] : []));
  assert.ok(mask.some((m) => m === 0), 'the twin has structural zeros');
  const opt = new FlatAdam(params.variables(), { learningRate: 0.1, weightDecay: 0.01, decayMask: params.decayMask(), trainableMask: mask });
  // A loss that pulls every output, so every weight would move if it could.
  for (let i = 0; i < 20; i++) opt.step(() => tf.sum(tf.square(tf.sub(twin.encode(x, present), 1))) as tf.Scalar);
  assert.deepEqual(zerosAt(), [], 'masked weights are still zero');
  const zb = (t: tf.Tensor2D) => twin.encode(t, present).arraySync().map((r) => r.slice(4));
  assert.deepEqual(zb(x), zb(tf.tensor2d([[9, 9, 2], [-9, 5, -0.5], [0, 0, 1]])), 'bias half still ignores x0 and x1');
  opt.dispose();
  tf.dispose([x, present]);
  twin.dispose();
  params.dispose();
});

test('twin encoder, first branch only: the causal half of the code, and the gradients of that half (zero on the bias half)', () => {
  const H = 4;
  const params = new ParamSet();
  const twin = twinEncoder(params, 't', space, 3, H, new Rng(5), Float32Array.from([0, 0, 1]));
  // Random weights everywhere (biases and the absent embedding included), structural zeros kept.
  const rng = new Rng(6);
  params.setFlat(Float32Array.from({ length: params.size }, () => rng.normal() * 0.6));
  const x = tf.tensor2d([[0.5, -1, 2], [1, 1, -0.5], [-2, 0.3, 1]]);
  const present = tf.tensor2d([[1, 1], [1, 0], [0, 1]]);
  const up = tf.tensor2d([[1, -2, 0.5, 3], [0.2, 1, -1, 0.7], [-0.4, 0.9, 2, -1.5]]);
  const vars = params.variables();
  const ours = tf.variableGrads(() => tf.sum(tf.mul(twin.encode(x, present, true), up)) as tf.Scalar, vars);
  const ref = tf.variableGrads(() => tf.sum(tf.mul(tf.slice(twin.encode(x, present), [0, 0], [-1, H]), up)) as tf.Scalar, vars);
  assert.deepEqual(twin.encode(x, present, true).arraySync(), tf.slice(twin.encode(x, present), [0, 0], [-1, H]).arraySync());
  assert.ok(Math.abs(ours.value.dataSync()[0]! - ref.value.dataSync()[0]!) < 1e-5);
  for (const v of vars) {
    const g = ours.grads[v.name]!.dataSync();
    assert.deepEqual(ours.grads[v.name]!.shape, v.shape);
    ref.grads[v.name]!.dataSync().forEach((e, i) => assert.ok(Math.abs(g[i]! - e) < 1e-5, `d${v.name}[${i}]: ${g[i]} vs ${e}`));
  }
  const gWf = ours.grads[vars[3]!.name]!.arraySync() as number[][];
  assert.ok(gWf.every((row) => row.slice(H).every((v) => v === 0)), 'no gradient reaches the bias half of the fusion layer');
  // A single encoder has no second branch: first-only is the whole code.
  const single = new ParamSet();
  const enc = multimodalEncoder(single, 's', space, 3, H, new Rng(5));
  assert.deepEqual(enc.encode(x, present, true).arraySync(), enc.encode(x, present).arraySync());
  tf.dispose([x, present, up, ours.value, ref.value, ...Object.values(ours.grads), ...Object.values(ref.grads)]);
  twin.dispose();
  enc.dispose();
  params.dispose();
  single.dispose();
});

import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { countPatternLabels } from '../../../../../shared/data/patterns.ts';
import { derivePrior } from '../../../../../coordinator/priors.ts';
import { compileModelConfig } from '../../../../../shared/model/config.ts';
import type { FedModel, RoundContext } from '../../../../../shared/model/model.ts';
import { predictAll, trainLocal } from '../../../../../shared/model/trainer.ts';
import { createBaseline } from '../../../../../shared/model/variants/baseline.ts';
import { compileDebiasConfig } from '../../../../../shared/model/variants/debiased/config.ts';
import { buildDebiased, createDebiased } from '../../../../../shared/model/variants/debiased/index.ts';
import { biasView } from '../../../../../shared/model/variants/debiased/model.ts';
import { Rng } from '../../../../../shared/rng.ts';
import { numericSpace, testBackend, toyData } from './helpers.ts';

before(async () => void (await testBackend()));

const space = numericSpace({ labs: ['a', 'b'], imaging: ['c'], exam: ['d', 'e'] });
const data = toyData(space, 160, 1);
const prior = derivePrior(countPatternLabels(data.patterns, data.y), 3, 1);
const cfg = compileModelConfig({ modalityDim: 4, hiddenDim: 8, batchSize: 32, learningRate: 0.02, weightDecay: 1e-2, localEpochs: 6 });
const ctx = { round: 0, prior };
const evalCtx: RoundContext = { ...ctx, epoch: 0, globalEpoch: 0 };

async function train(model: FedModel, epochs = cfg.localEpochs) {
  model.attachTrainingSet?.(data.n);
  const losses: number[] = [];
  await trainLocal(model, data, ctx, { config: { ...cfg, localEpochs: epochs }, rng: new Rng(7), onProgress: (p) => losses.push(p.loss) });
  return losses;
}

test('the full model (both parts, swap after warm-up) trains: loss falls, predictions stay sane', async () => {
  const model = createDebiased(space, cfg, compileDebiasConfig({ mode: 'on', weighting: 'adaptive', swapWarmupEpochs: 2 }), 3);
  assert.equal(model.usesBalancing, true);
  const before = tf.memory().numTensors;
  const losses = await train(model);
  assert.equal(tf.memory().numTensors, before, 'no tensors leak from loss/afterStep');
  assert.ok(losses.every(Number.isFinite), `losses ${losses}`);
  // The swap term joins at epoch 2, so compare within the phases.
  assert.ok(losses[1]! < losses[0]!, `epochs 0-1: ${losses}`);
  assert.ok(losses[5]! < losses[2]!, `epochs 2-5: ${losses}`);
  const p = predictAll(model, data, evalCtx);
  assert.ok(p.every((v) => v > 0 && v < 1));
  const stats = model.stats();
  assert.equal(stats.trackedRows, data.n);
  assert.ok(stats.conflictingFraction > 0 && stats.conflictingFraction < 0.5, `conflicting ${stats.conflictingFraction}`);
  assert.deepEqual(model.describe!(), { mode: 'on', decision: 'on', dualBranch: true, share: 0.5, weighting: 'group-balanced', flagged: [], reason: "mode 'on': debiasing on by configuration" });
  model.dispose();
});

test('same seed, same weights and predictions; another seed differs', async () => {
  const run = async (seed: number) => {
    const m = createDebiased(space, cfg, compileDebiasConfig({ mode: 'on', swapWarmupEpochs: 0, adjustment: 'nwgm' }), seed);
    await train(m, 3);
    const out = { w: m.params.getFlat(), p: predictAll(m, data, evalCtx) };
    m.dispose();
    return out;
  };
  const a = await run(5);
  const b = await run(5);
  assert.deepEqual(a.w, b.w);
  assert.deepEqual(a.p, b.p);
  assert.notDeepEqual((await run(6)).w, a.w);
});

test('every term switched off is the baseline, weight for weight', async () => {
  const off = createDebiased(space, cfg, compileDebiasConfig({ mode: 'off', deconfound: false, balancing: false }), 4);
  const base = createBaseline(space, cfg, 4);
  assert.deepEqual(off.params.specs, base.params.specs);
  assert.deepEqual(off.params.getFlat(), base.params.getFlat());
  await train(off, 2);
  await train(base, 2);
  const [wa, wb] = [off.params.getFlat(), base.params.getFlat()];
  wa.forEach((v, i) => assert.ok(Math.abs(v - wb[i]!) < 1e-5, `weight ${i}`));
  off.dispose();
  base.dispose();
});

test('ablation layouts: the bias branch exists unless mode is off; auto waits for the decision', () => {
  const build = (debiasing: Record<string, unknown>) =>
    buildDebiased({ space, config: cfg, raw: { debiasing }, seed: 1 });
  const names = (m: FedModel) => m.params.specs.map((s) => s.name);
  const auto = build({ weighting: 'adaptive' });
  assert.equal(auto.dualBranch, false);
  assert.ok(names(auto).some((n) => n.startsWith('bias/')));
  assert.ok(names(auto).includes('deconfound/dictionary/W'));
  const decided = build({ active: true, weighting: 'adaptive' });
  assert.equal(decided.dualBranch, true);
  assert.deepEqual(decided.params.getFlat(), auto.params.getFlat(), 'the decision does not change the layout');
  const off = build({ mode: 'off' });
  assert.ok(!names(off).some((n) => n.startsWith('bias/')));
  // Part 1 off gives the linear head; adjustment modes then do not matter.
  assert.ok(names(build({ deconfound: false })).includes('classifier/W'));
  for (const m of [auto, decided, off]) m.dispose();
});

test('adjustment modes change prediction, not training; none uses the own pattern', async () => {
  const mk = (adjustment: string) => createDebiased(space, cfg, compileDebiasConfig({ mode: 'off', adjustment }), 8);
  const exact = mk('exact');
  const none = mk('none');
  await train(exact, 2);
  none.params.setFlat(exact.params.getFlat());
  const pe = predictAll(exact, data, evalCtx);
  const pn = predictAll(none, data, evalCtx);
  assert.ok(pe.some((v, i) => Math.abs(v - pn[i]!) > 1e-4), 'the adjustment must matter');
  // With a one-pattern prior the exact adjustment is the head at that pattern: rows with that pattern agree.
  const only = data.patterns[0]!;
  const one: RoundContext = { ...evalCtx, prior: { ...prior, patterns: [{ pattern: only, p: 1 }] } };
  const p1 = predictAll(exact, data, one);
  data.patterns.forEach((p, i) => p === only && assert.ok(Math.abs(p1[i]! - pn[i]!) < 1e-5));
  exact.dispose();
  none.dispose();
});

test('the bias view: flagged columns only, their modalities decide neutral rows', async () => {
  const flagged = [{ feature: 'c', labelCorr: 0.6, withinClassCorr: 0.05 }];
  const v = biasView(space, compileDebiasConfig({ mode: 'on', flagged }))!;
  assert.deepEqual(Array.from(v.columns), [0, 0, 1, 0, 0]);
  assert.deepEqual(v.modalities, [1]);
  assert.equal(biasView(space, compileDebiasConfig({ mode: 'on', flagged, biasInputs: 'all' })), null);
  assert.equal(biasView(space, compileDebiasConfig({ mode: 'on' })), null, 'nothing flagged: every column');
  assert.throws(
    () => biasView(space, compileDebiasConfig({ mode: 'on', flagged: [{ feature: 'zz', labelCorr: 1, withinClassCorr: 0 }] })),
    /flagged feature "zz" is not in the feature space/,
  );
  // Training through the view (with neutral rows: imaging absent) runs, leaks nothing and lowers the loss.
  const m = createDebiased(space, cfg, compileDebiasConfig({ active: true, weighting: 'adaptive', flagged, swapWarmupEpochs: 0 }), 2);
  const before = tf.memory().numTensors;
  const losses = await train(m, 4);
  assert.equal(tf.memory().numTensors, before);
  assert.ok(losses[3]! < losses[0]!, `losses ${losses}`);
  assert.equal(m.describe!().decision, 'on');
  // The guard's tempering moves the dual branch's row weights from its own (1) to the base weights (0): an audit's
  // mutant that ignored it passed every test.
  const base = Float32Array.from({ length: data.n }, (_, i) => 0.5 + (i % 3) / 2);
  const full = m.rowWeights(base, data.present, 1);
  assert.ok(full.some((w, i) => Math.abs(w - base[i]!) > 1e-3), 'the branch reweights the rows');
  assert.deepEqual(m.rowWeights(base, data.present, 0), base, 'tempered to nothing: the base weights');
  const half = m.rowWeights(base, data.present, 0.5);
  const scale = base.reduce((a, b) => a + b, 0) / full.reduce((a, b) => a + b, 0);
  half.forEach((w, i) => assert.ok(Math.abs(w - (base[i]! + 0.5 * (full[i]! * scale - base[i]!))) < 1e-5, `row ${i}: halfway`));
  m.dispose();
});

/**
 * The default debiased objective (a reading flagged, weighting 'drop': no dual branch)
 * written out with plain tfjs ops from the model's own parameters: the twin encoder
 * (both halves, then z_c sliced off), c_m = relu(m Wd + bd), h = relu(z_c Wz + c_m Wc + b1),
 * logit = h w2 + b2, balanced-weighted mean BCE. Autodiff of this is the reference.
 */
function plainDefaultLoss(params: Record<string, tf.Variable>, b: { x: tf.Tensor2D; present: tf.Tensor2D; y: tf.Tensor1D; weight: tf.Tensor1D }) {
  const K = space.modalities.length;
  const md = cfg.modalityDim;
  const E = K * md;
  const H = cfg.hiddenDim;
  const expand = new Float32Array(K * 2 * E);
  for (let k = 0; k < K; k++) for (let br = 0; br < 2; br++) for (let h = 0; h < md; h++) expand[k * 2 * E + br * E + k * md + h] = 1;
  const p = tf.matMul(b.present, tf.tensor2d(expand, [K, 2 * E]));
  const pm = tf.relu(tf.add(tf.matMul(b.x, params['encoders/modality/W']!), params['encoders/modality/b']!));
  const withAbsent = tf.add(tf.mul(pm, p), tf.mul(params['encoders/absent']!, tf.sub(1, p)));
  const z = tf.relu(tf.add(tf.matMul(tf.concat([withAbsent, b.present], 1), params['encoders/fusion/W']!), params['encoders/fusion/b']!));
  const zc = tf.slice(z, [0, 0], [-1, H]);
  const c = tf.relu(tf.add(tf.matMul(b.present, params['deconfound/dictionary/W']!), params['deconfound/dictionary/b']!));
  const h = tf.relu(tf.add(tf.add(tf.matMul(zc, params['deconfound/head/Wz']!), tf.matMul(c, params['deconfound/head/Wc']!)), params['deconfound/head/b1']!));
  const l = tf.reshape(tf.add(tf.matMul(h, params['deconfound/head/w2']!), params['deconfound/head/b2']!), [-1]);
  const bce = tf.add(tf.sub(tf.relu(l), tf.mul(l, b.y)), tf.log(tf.add(1, tf.exp(tf.neg(tf.abs(l))))));
  return { loss: tf.div(tf.sum(tf.mul(bce, b.weight)), tf.sum(b.weight)) as tf.Scalar, logit: l };
}

test('the default debiased step (flagged, drop: no dual branch) has the loss and gradients of the plain formula', () => {
  const model = createDebiased(space, cfg, compileDebiasConfig({ mode: 'on' }), 9);
  assert.equal(model.dualBranch, false);
  // Random weights everywhere (structural zeros kept), so no term passes by being zero.
  const rng = new Rng(10);
  model.params.setFlat(Float32Array.from({ length: model.params.size }, () => rng.normal() * 0.4));
  const vars = model.params.variables();
  const byName = Object.fromEntries(model.params.specs.map((s, i) => [s.name, vars[i]!]));
  const rows = Int32Array.from({ length: 24 }, (_, i) => (i * 7) % data.n);
  const pick = (a: Float32Array, w: number) => Float32Array.from({ length: rows.length * w }, (_, j) => a[rows[Math.floor(j / w)]! * w + (j % w)]!);
  const K = space.modalities.length;
  const b = {
    x: tf.tensor2d(pick(data.x, data.dim), [rows.length, data.dim]),
    present: tf.tensor2d(pick(data.present, K), [rows.length, K]),
    y: tf.tensor1d(pick(data.y, 1)),
    weight: tf.tensor1d(Float32Array.from(rows, (_, i) => 0.5 + (i % 4) * 0.3)),
    rows,
  };
  const ours = tf.variableGrads(() => model.loss(b, evalCtx), vars);
  const ref = tf.variableGrads(() => plainDefaultLoss(byName, b).loss, vars);
  const lossOurs = ours.value.dataSync()[0]!;
  assert.ok(Math.abs(lossOurs - ref.value.dataSync()[0]!) < 1e-6, `${lossOurs} vs ${ref.value.dataSync()[0]}`);
  model.params.specs.forEach((s, i) => {
    const v = vars[i]!;
    const [g, e] = [ours.grads[v.name], ref.grads[v.name]];
    // The attention and the bias head are not read: neither side gives them a gradient (so no decay either).
    if (s.name.includes('attention') || s.name.startsWith('bias/')) return assert.ok(!g && !e, s.name);
    assert.deepEqual(g!.shape, v.shape, s.name);
    const [gv, ev] = [g!.dataSync(), e!.dataSync()];
    ev.forEach((x, j) => assert.ok(Math.abs(gv[j]! - x) <= 1e-5 * Math.max(1, Math.abs(x)), `${s.name}[${j}]: ${gv[j]} vs ${x}`));
  });
  // Prediction reads the same causal code: with a one-pattern prior and 'exact' it is sigmoid(h(z_c, c_m)) of that pattern.
  const pattern = data.patterns[0]!;
  const onePattern: RoundContext = { ...evalCtx, prior: { ...prior, patterns: [{ pattern, p: 1 }] } };
  const predicted = model.predict(b.x, b.present, onePattern).dataSync();
  const expected = tf.sigmoid(plainDefaultLoss(byName, b).logit).dataSync();
  const same = rows.reduce((k, r, i) => (data.patterns[r] === pattern ? (assert.ok(Math.abs(predicted[i]! - expected[i]!) < 1e-5, `row ${i}`), k + 1) : k), 0);
  assert.ok(same > 0, 'some rows have that pattern');
  tf.dispose([b.x, b.present, b.y, b.weight, ours.value, ref.value, ...Object.values(ours.grads), ...Object.values(ref.grads)]);
  model.dispose();
});

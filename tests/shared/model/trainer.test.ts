// Local training yields to the event loop (so a site's gRPC keepalive is answered while
// it trains) without changing a single number, and a stop request ends it between batches.
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { derivePrior } from '../../../coordinator/priors.ts';
import { countPatternLabels } from '../../../shared/data/patterns.ts';
import { compileModelConfig } from '../../../shared/model/config.ts';
import { lossGradient, trainLocal, type LocalTrainOptions } from '../../../shared/model/trainer.ts';
import { createBaseline } from '../../../shared/model/variants/baseline.ts';
import { Rng } from '../../../shared/rng.ts';
import { numericSpace, testBackend, toyData } from './variants/debiased/helpers.ts';

before(async () => void (await testBackend()));

const space = numericSpace({ labs: ['a', 'b'], imaging: ['c'], exam: ['d', 'e'] });
const data = toyData(space, 256, 3);
const prior = derivePrior(countPatternLabels(data.patterns, data.y), 3, 1);
const cfg = compileModelConfig({ modalityDim: 4, hiddenDim: 8, batchSize: 8, localEpochs: 3 });

async function train(opts: Partial<LocalTrainOptions> = {}, epochs = cfg.localEpochs) {
  const model = createBaseline(space, cfg, 11);
  try {
    const losses: number[] = [];
    const summary = await trainLocal(model, data, { round: 1, prior }, {
      config: { ...cfg, localEpochs: epochs },
      rng: new Rng(5),
      onProgress: (p) => losses.push(p.loss),
      ...opts,
    });
    return { summary, losses, weights: model.params.getFlat() };
  } finally {
    model.dispose();
  }
}

test('yielding after every batch gives bit-identical weights and losses to never yielding', async () => {
  const never = await train({ yieldEveryMs: Infinity });
  const always = await train({ yieldEveryMs: 0 });
  const byDefault = await train();
  assert.ok(never.summary.steps > 50, `enough batches to yield between (${never.summary.steps})`);
  for (const other of [always, byDefault]) {
    assert.deepEqual(other.summary, never.summary);
    assert.deepEqual(other.losses, never.losses);
    assert.deepEqual(other.weights, never.weights);
  }
});

test('other callbacks run while a long training goes on', async () => {
  // Enough epochs for a few hundred ms on this machine: several default yield intervals.
  const t0 = performance.now();
  await train({}, 1);
  const epochs = Math.ceil(300 / Math.max(1, performance.now() - t0));
  let ticks = 0;
  const timer = setInterval(() => ticks++, 5);
  try {
    const t1 = performance.now();
    await train({}, epochs);
    const ms = performance.now() - t1;
    assert.ok(ms > 100, `training took ${ms.toFixed(0)} ms`);
    // A training that never yields lets no timer callback run until it returns.
    assert.ok(ticks >= 3, `${ticks} timer callbacks ran during ${ms.toFixed(0)} ms of training`);
  } finally {
    clearInterval(timer);
  }
});

test('a stop request ends training between batches, leaking no tensors', async () => {
  const model = createBaseline(space, cfg, 11);
  const tensors = tf.memory().numTensors;
  const ac = new AbortController();
  let epochs = 0;
  const stopped = trainLocal(model, data, { round: 1, prior }, {
    config: cfg,
    rng: new Rng(5),
    yieldEveryMs: 0,
    signal: ac.signal,
    // The stop arrives as a callback (as SIGTERM would): it is seen at the next yield.
    onProgress: () => void (++epochs === 1 && setImmediate(() => ac.abort())),
  });
  await assert.rejects(stopped, { name: 'AbortError' });
  assert.equal(epochs, 1, 'stopped within the second epoch');
  assert.equal(tf.memory().numTensors, tensors, 'optimizer state and batches freed');
  model.dispose();
});

test('an already aborted signal trains nothing', async () => {
  const ac = new AbortController();
  ac.abort(new Error('site stopping'));
  let progressed = false;
  await assert.rejects(train({ signal: ac.signal, onProgress: () => (progressed = true) }), /site stopping/);
  assert.equal(progressed, false);
});

test("lossGradient: the gradient of the mean training loss over every row, at the current weights, changing nothing", () => {
  const model = createBaseline(space, cfg, 11);
  try {
    const before = model.params.getFlat();
    const ones = new Float32Array(data.n).fill(1);
    const ctx = { round: 1, prior, epoch: 0, globalEpoch: 0 };
    const g = lossGradient(model, data, ctx, ones, 8);
    assert.deepEqual(model.params.getFlat(), before, 'weights unchanged');
    // The batch size only splits the sum: one batch of every row gives the same mean gradient.
    const whole = lossGradient(model, data, ctx, ones, data.n);
    for (let i = 0; i < g.length; i++) assert.ok(Math.abs(g[i]! - whole[i]!) < 1e-5, `entry ${i}: ${g[i]} vs ${whole[i]}`);
    // Against a finite difference of the full-batch loss along the gradient itself.
    const lossAt = (w: Float32Array) => {
      model.params.setFlat(w);
      const b = { x: tf.tensor2d(data.x, [data.n, data.dim]), present: tf.tensor2d(data.present, [data.n, data.present.length / data.n]), y: tf.tensor1d(data.y), weight: tf.tensor1d(ones), rows: Int32Array.from({ length: data.n }, (_, i) => i) };
      try {
        return tf.tidy(() => model.loss(b, ctx).dataSync()[0]!);
      } finally {
        tf.dispose([b.x, b.present, b.y, b.weight]);
      }
    };
    // Structural zeros (trainableMask) are reset by setFlat: step along the trainable entries only.
    const mask = model.params.trainableMask();
    const d = g.map((x, i) => (mask ? x * mask[i]! : x));
    const norm = Math.sqrt(d.reduce((a, x) => a + x * x, 0));
    const h = 1e-2 / norm;
    const slope = (lossAt(before.map((w, i) => w + h * d[i]!)) - lossAt(before.map((w, i) => w - h * d[i]!))) / (2 * h);
    assert.ok(Math.abs(slope - norm * norm) < 0.02 * norm * norm, `directional derivative ${slope} vs ||g||^2 ${norm * norm}`);
  } finally {
    model.dispose();
  }
});

import * as tf from '@tensorflow/tfjs';
import type { EncodedData } from '../data/encode.ts';
import { balancingWeight, type PatternPrior } from '../data/patterns.ts';
import { LoopYielder } from '../event-loop.ts';
import type { Rng } from '../rng.ts';
import type { ModelConfig } from './config.ts';
import { FlatAdam } from './flat-adam.ts';
import type { Batch, FedModel, RoundContext } from './model.ts';

export interface LocalTrainOptions {
  config: ModelConfig;
  rng: Rng;
  /** FedProx: 0.5 * mu * ||w - anchor||^2 joins the objective when mu > 0 (as its gradient). */
  proximalMu?: number;
  anchor?: Float32Array;
  /** SCAFFOLD (Karimireddy et al. 2020): c - c_i, added to every step's gradient so local steps follow the federation's gradient. */
  correction?: Float32Array;
  /** Global epochs already done before this round (for warm-up schedules). */
  globalEpochOffset?: number;
  onProgress?: (p: { epoch: number; epochs: number; loss: number; step: number }) => void;
  /** Per-row sample weights chosen by the caller (outcome balancing); default: the pattern balancing table, or 1. */
  rowWeights?: Float32Array;
  /** Ends training between batches (the site is stopping): the promise rejects with the signal's reason. */
  signal?: AbortSignal;
  /**
   * Yield to the event loop once this much time (ms) passed since the last yield, so a
   * long training does not starve gRPC keepalive; default DEFAULT_YIELD_EVERY_MS.
   * Infinity never yields. Yielding changes when the work runs, never what it computes.
   */
  yieldEveryMs?: number;
}

export interface LocalTrainSummary {
  loss: number;
  steps: number;
  examples: number;
  /** SCAFFOLD: the site's new control variate (lossGradient at the global model it received). */
  controlVariate?: Float32Array;
}

function batchTensors(d: EncodedData, idx: Int32Array, weights: Float32Array): Batch {
  const n = idx.length;
  const K = d.present.length / d.n;
  const x = new Float32Array(n * d.dim);
  const present = new Float32Array(n * K);
  const y = new Float32Array(n);
  const w = new Float32Array(n);
  for (let r = 0; r < n; r++) {
    const i = idx[r]!;
    x.set(d.x.subarray(i * d.dim, (i + 1) * d.dim), r * d.dim);
    present.set(d.present.subarray(i * K, (i + 1) * K), r * K);
    y[r] = d.y[i]!;
    w[r] = weights[i]!;
  }
  return {
    x: tf.tensor2d(x, [n, d.dim]),
    present: tf.tensor2d(present, [n, K]),
    y: tf.tensor1d(y),
    weight: tf.tensor1d(w),
    rows: idx,
  };
}

/**
 * Trains `model` in place on a site's rows for `config.localEpochs` epochs with Adam.
 * Async only so the event loop gets a turn between batches (see LocalTrainOptions.yieldEveryMs);
 * the caller must not touch the model until it resolves.
 */
export async function trainLocal(
  model: FedModel,
  data: EncodedData,
  ctx: Omit<RoundContext, 'epoch' | 'globalEpoch'>,
  opts: LocalTrainOptions,
): Promise<LocalTrainSummary> {
  const { config, signal } = opts;
  const yielder = new LoopYielder(opts.yieldEveryMs);
  // Called only when due, never awaited otherwise: with yields off (Infinity) the loop
  // stays free of awaits, so in-process sites interleave exactly as before.
  const pause = async () => {
    await yielder.yield();
    signal?.throwIfAborted();
  };
  signal?.throwIfAborted();
  // A turn before starting: the caller's own work (model creation, evaluation) and the
  // optimizer's set-up over every parameter must not add up to one long stretch.
  if (yielder.due) await pause();
  const weights = opts.rowWeights ?? patternWeights(model, data, ctx.prior);
  const mu = opts.proximalMu ?? 0;
  const optimizer = new FlatAdam(model.params.variables(), {
    learningRate: config.learningRate,
    weightDecay: config.weightDecay,
    decayMask: config.weightDecay > 0 ? model.params.decayMask() : undefined,
    proximalMu: mu,
    anchor: mu > 0 ? opts.anchor : undefined,
    trainableMask: model.params.trainableMask(),
    ...(opts.correction ? { correction: opts.correction } : {}),
  });
  let lastLoss = NaN;
  let steps = 0;
  const order = Array.from({ length: data.n }, (_, i) => i);
  try {
    if (yielder.due) await pause();
    for (let epoch = 0; epoch < config.localEpochs; epoch++) {
      opts.rng.shuffle(order);
      let sum = 0;
      let count = 0;
      const rc: RoundContext = { ...ctx, epoch, globalEpoch: (opts.globalEpochOffset ?? 0) + epoch };
      for (let s = 0; s < data.n; s += config.batchSize) {
        const idx = Int32Array.from(order.slice(s, s + config.batchSize));
        const b = batchTensors(data, idx, weights);
        try {
          sum += optimizer.step(() => model.loss(b, rc)) * idx.length;
          count += idx.length;
          model.afterStep?.(b, rc);
        } finally {
          tf.dispose([b.x, b.present, b.y, b.weight]);
        }
        steps++;
        // Only here, between batches: no batch tensors are alive and no tf.tidy scope is
        // open (one held across an await would collect other callers' tensors).
        if (yielder.due) await pause();
      }
      lastLoss = sum / Math.max(count, 1);
      opts.onProgress?.({ epoch: epoch + 1, epochs: config.localEpochs, loss: lastLoss, step: steps });
    }
  } finally {
    optimizer.dispose();
  }
  return { loss: lastLoss, steps, examples: data.n };
}

/**
 * The gradient of the training loss over all of a site's rows at the model's current
 * weights, flat in the parameters' order (SCAFFOLD's control variate, option I): batches of
 * `batchSize`, each batch's mean-loss gradient weighted by its rows. Weight decay is left
 * out: every site applies the same, so it cancels in c - c_i. The weights are not changed;
 * state a model's loss keeps (the dual branch's running losses) is the caller's to save
 * and restore (saveTrainingState), as SiteModelRunner does.
 */
export function lossGradient(
  model: FedModel,
  data: EncodedData,
  ctx: RoundContext,
  rowWeights: Float32Array,
  batchSize: number,
): Float32Array {
  const vars = model.params.variables();
  const total = new Float64Array(vars.reduce((a, v) => a + v.size, 0));
  for (let s = 0; s < data.n; s += batchSize) {
    const idx = Int32Array.from({ length: Math.min(batchSize, data.n - s) }, (_, i) => s + i);
    const b = batchTensors(data, idx, rowWeights);
    try {
      const flat = tf.tidy(() => {
        const { grads } = tf.variableGrads(() => model.loss(b, ctx), vars);
        return tf.concat(vars.map((v) => tf.reshape(grads[v.name] ?? tf.zerosLike(v), [-1])), 0);
      });
      const g = flat.dataSync();
      flat.dispose();
      for (let i = 0; i < g.length; i++) total[i]! += (g[i]! * idx.length) / data.n;
    } finally {
      tf.dispose([b.x, b.present, b.y, b.weight]);
    }
  }
  return Float32Array.from(total);
}

/** The pattern-outcome balancing weights of METHOD.md Part 1 (1 for a model that does not balance). */
export function patternWeights(model: Pick<FedModel, 'usesBalancing'>, data: EncodedData, prior: PatternPrior): Float32Array {
  const weights = new Float32Array(data.n).fill(1);
  if (model.usesBalancing)
    for (let i = 0; i < data.n; i++) weights[i] = balancingWeight(prior, data.patterns[i]!, data.y[i]!);
  return weights;
}

/** P(y = 1) for every row, in batches so memory stays flat for large sets. */
export function predictAll(model: FedModel, data: EncodedData, ctx: RoundContext, batchSize = 1024): Float32Array {
  const out = new Float32Array(data.n);
  const K = data.present.length / Math.max(data.n, 1);
  for (let s = 0; s < data.n; s += batchSize) {
    const e = Math.min(data.n, s + batchSize);
    const p = tf.tidy(() =>
      model.predict(
        tf.tensor2d(data.x.subarray(s * data.dim, e * data.dim), [e - s, data.dim]),
        tf.tensor2d(data.present.subarray(s * K, e * K), [e - s, K]),
        ctx,
      ),
    );
    out.set(p.dataSync() as Float32Array, s);
    p.dispose();
  }
  return out;
}

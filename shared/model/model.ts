import type * as tf from '@tensorflow/tfjs';
import type { PatternPrior } from '../data/patterns.ts';
import type { ParamSet } from './params.ts';

/** One mini-batch as tensors; `rows` index the site's training set (for per-row state). */
export interface Batch {
  x: tf.Tensor2D;
  present: tf.Tensor2D;
  y: tf.Tensor1D;
  /** Per-row sample weight (pattern-outcome balancing or 1). */
  weight: tf.Tensor1D;
  rows: Int32Array;
}

/** What the federation tells the model each round. */
export interface RoundContext {
  round: number;
  /** Local epoch within this round (0-based) and the global epoch count so far. */
  epoch: number;
  globalEpoch: number;
  prior: PatternPrior;
  /** The coordinator's tempering of debiasing weights (1 = full; absent = 1). */
  temper?: number;
}

/**
 * A model variant. The trainer (trainer.ts) owns batching, the optimizer, weight
 * decay and the proximal term; a variant owns its parameters, loss and prediction.
 */
export interface FedModel {
  readonly kind: string;
  readonly params: ParamSet;
  /** Whether the trainer should apply pattern-outcome balancing weights. */
  readonly usesBalancing: boolean;
  /** Training loss for a batch (called inside the optimizer's gradient tape). */
  loss(b: Batch, ctx: RoundContext): tf.Scalar;
  /** Optional bookkeeping after each step, outside the tape (per-row running losses...); must not change the parameters (the optimizer holds a flat copy). */
  afterStep?(b: Batch, ctx: RoundContext): void;
  /** P(y = 1) per row, the form used for evaluation and prediction. */
  predict(x: tf.Tensor2D, present: tf.Tensor2D, ctx: RoundContext): tf.Tensor1D;
  /** Prepares per-site state for a training set of n rows (called when the site's data is known). */
  attachTrainingSet?(n: number): void;
  /** The per-site state training carries across rounds (opaque), so a round asked again can start from the same state. */
  saveTrainingState?(): unknown;
  restoreTrainingState?(state: unknown): void;
  /** A JSON-able summary for results files (e.g. the debiasing decision). */
  describe?(): Record<string, unknown>;
  dispose(): void;
}

import * as tf from '@tensorflow/tfjs';
import type { FeatureSpace } from '../data/feature-space.ts';
import type { Rng } from '../rng.ts';
import { affine } from './affine.ts';
import type { ParamSet } from './params.ts';
import type { Batch, FedModel } from './model.ts';

/** The parameters of a dense layer, for layers that apply them in a custom op. */
export function denseParams(params: ParamSet, name: string, inDim: number, outDim: number, rng: Rng) {
  return { W: params.add(`${name}/W`, [inDim, outDim], 'glorot', rng), b: params.add(`${name}/b`, [outDim], 'zeros', rng) };
}

/** y = x W + b. */
export function dense(params: ParamSet, name: string, inDim: number, outDim: number, rng: Rng) {
  const { W, b } = denseParams(params, name, inDim, outDim, rng);
  return (x: tf.Tensor2D): tf.Tensor2D => affine([{ x, W }], b);
}

/**
 * The multimodal backbone encoder: one MLP per modality (a block-diagonal matrix,
 * so one matMul serves all modalities and no slice/gather gradients are needed on
 * wasm), a learned "absent" embedding replacing a missing modality's output, the
 * mask bits appended, and a fusion layer giving the representation z.
 */
export function multimodalEncoder(params: ParamSet, name: string, space: FeatureSpace, modalityDim: number, hiddenDim: number, rng: Rng) {
  return branchedEncoder(params, name, space, modalityDim, hiddenDim, rng, [null]);
}

/**
 * Two multimodal encoders (causal and bias) fused into one of double width: the
 * block-diagonal masks keep the halves apart, so the result equals two separate
 * encoders, while each step issues one encoder's kernels instead of two (kernel
 * launches, not arithmetic, dominate at our sizes on wasm). `biasColumns` limits
 * what the bias half reads (1 = visible). Output columns [0, H) causal, [H, 2H) bias.
 */
export function twinEncoder(
  params: ParamSet,
  name: string,
  space: FeatureSpace,
  modalityDim: number,
  hiddenDim: number,
  rng: Rng,
  biasColumns: Float32Array | null,
) {
  return branchedEncoder(params, name, space, modalityDim, hiddenDim, rng, [null, biasColumns]);
}

/**
 * B encoders side by side, each reading the columns its mask allows (null = all).
 * Masked weights start, and stay, at zero (ParamSet structural zeros, no gradient).
 */
function branchedEncoder(
  params: ParamSet,
  name: string,
  space: FeatureSpace,
  modalityDim: number,
  H: number,
  rng: Rng,
  columns: (Float32Array | null)[],
) {
  const D = space.columns.length;
  const K = space.modalities.length;
  const B = columns.length;
  const E = K * modalityDim;
  const m1 = new Float32Array(D * B * E);
  const expand = new Float32Array(K * B * E);
  space.modalities.forEach((m, k) => {
    for (let b = 0; b < B; b++)
      for (let h = 0; h < modalityDim; h++) {
        const col = b * E + k * modalityDim + h;
        for (let j = m.start; j < m.end; j++) m1[j * B * E + col] = columns[b] ? columns[b]![j]! : 1;
        expand[k * B * E + col] = 1;
      }
  });
  // Block structure as structural zeros of the parameters (ParamSet masks): they stay
  // zero through training and aggregation, so the forward pass multiplies no masks.
  const expandT = tf.keep(tf.tensor2d(expand, [K, B * E]));
  const Wm = params.add(`${name}/modality/W`, [D, B * E], 'glorot', rng, m1);
  const bm = params.add(`${name}/modality/b`, [B * E], 'zeros', rng);
  const absent = params.add(`${name}/absent`, [B * E], 'small', rng);
  const F = B * E + K;
  // Fusion: branch b's embeddings feed only branch b's outputs; the mask bits feed all.
  let m2: Float32Array | undefined;
  if (B > 1) {
    m2 = new Float32Array(F * B * H);
    for (let r = 0; r < F; r++)
      for (let c = 0; c < B * H; c++) m2[r * B * H + c] = r >= B * E || Math.floor(r / E) === Math.floor(c / H) ? 1 : 0;
  }
  const Wf = params.add(`${name}/fusion/W`, [F, B * H], 'glorot', rng, m2);
  const bf = params.add(`${name}/fusion/b`, [B * H], 'zeros', rng);
  /** The B codes side by side (n x B*H), or with `firstOnly` branch 0's code alone (n x H, the same values as its slice). */
  const encode = (x: tf.Tensor2D, present: tf.Tensor2D, firstOnly = false): tf.Tensor2D => {
    const perModality = affine([{ x, W: Wm, grad: false }], bm, 'relu');
    const p = tf.matMul(present, expandT);
    const withAbsent = tf.add(tf.mul(perModality, p), tf.mul(absent, tf.sub(1, p))) as tf.Tensor2D;
    const fused = tf.concat([withAbsent, present], 1) as tf.Tensor2D;
    // Branch 0's outputs are the first H columns of the fusion layer.
    return affine([{ x: fused, W: Wf }], bf, 'relu', firstOnly && B > 1 ? H : undefined);
  };
  return { encode, dispose: () => tf.dispose([expandT]) };
}

/** Mean binary cross-entropy from logits, per row (unreduced). */
export function bceWithLogits(logits: tf.Tensor1D, y: tf.Tensor1D): tf.Tensor1D {
  // max(l,0) - l*y + log(1 + exp(-|l|)), the numerically stable form.
  return tf.add(tf.sub(tf.relu(logits), tf.mul(logits, y)), tf.log1p(tf.exp(tf.neg(tf.abs(logits))))) as tf.Tensor1D;
}

/** Weighted mean: sum(w * v) / sum(w). */
export function weightedMean(v: tf.Tensor1D, w: tf.Tensor1D): tf.Scalar {
  return tf.div(tf.sum(tf.mul(v, w)), tf.maximum(tf.sum(w), 1e-12)) as tf.Scalar;
}

/** A plain binary classifier from a logit function: weighted BCE to train, sigmoid to predict. */
export function logitModel(
  kind: string,
  params: ParamSet,
  logits: (x: tf.Tensor2D, present: tf.Tensor2D) => tf.Tensor1D,
  dispose: () => void = () => params.dispose(),
): FedModel {
  return {
    kind,
    params,
    usesBalancing: false,
    loss: (b: Batch) => weightedMean(bceWithLogits(logits(b.x, b.present), b.y), b.weight),
    predict: (x, present) => tf.sigmoid(logits(x, present)) as tf.Tensor1D,
    dispose,
  };
}

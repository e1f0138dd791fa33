import * as tf from '@tensorflow/tfjs';
import type { FeatureSpace } from '../data/feature-space.ts';
import type { Rng } from '../rng.ts';
import type { ParamSet } from './params.ts';
import type { Batch, FedModel } from './model.ts';

/** y = x W + b. */
export function dense(params: ParamSet, name: string, inDim: number, outDim: number, rng: Rng) {
  const W = params.add(`${name}/W`, [inDim, outDim], 'glorot', rng);
  const b = params.add(`${name}/b`, [outDim], 'zeros', rng);
  return (x: tf.Tensor2D): tf.Tensor2D => tf.add(tf.matMul(x, W), b) as tf.Tensor2D;
}

/**
 * The multimodal backbone encoder: one MLP per modality (a block-diagonal matrix,
 * so one matMul serves all modalities and no slice/gather gradients are needed on
 * wasm), a learned "absent" embedding replacing a missing modality's output, the
 * mask bits appended, and a fusion layer giving the representation z.
 */
export function multimodalEncoder(
  params: ParamSet,
  name: string,
  space: FeatureSpace,
  modalityDim: number,
  hiddenDim: number,
  rng: Rng,
) {
  const D = space.columns.length;
  const K = space.modalities.length;
  const E = K * modalityDim;
  const blockMask = new Float32Array(D * E);
  const expand = new Float32Array(K * E);
  space.modalities.forEach((m, k) => {
    for (let j = m.start; j < m.end; j++)
      for (let h = 0; h < modalityDim; h++) blockMask[j * E + k * modalityDim + h] = 1;
    for (let h = 0; h < modalityDim; h++) expand[k * E + k * modalityDim + h] = 1;
  });
  const mask = tf.keep(tf.tensor2d(blockMask, [D, E]));
  const expandT = tf.keep(tf.tensor2d(expand, [K, E]));
  const Wm = params.add(`${name}/modality/W`, [D, E], 'glorot', rng);
  const bm = params.add(`${name}/modality/b`, [E], 'zeros', rng);
  const absent = params.add(`${name}/absent`, [E], 'small', rng);
  const fuse = dense(params, `${name}/fusion`, E + K, hiddenDim, rng);
  const encode = (x: tf.Tensor2D, present: tf.Tensor2D): tf.Tensor2D => {
    const perModality = tf.relu(tf.add(tf.matMul(x, tf.mul(Wm, mask) as tf.Tensor2D), bm));
    const p = tf.matMul(present, expandT);
    const withAbsent = tf.add(tf.mul(perModality, p), tf.mul(absent, tf.sub(1, p))) as tf.Tensor2D;
    return tf.relu(fuse(tf.concat([withAbsent, present], 1) as tf.Tensor2D));
  };
  return { encode, dispose: () => (mask.dispose(), expandT.dispose()) };
}

/**
 * Two multimodal encoders (causal and bias) fused into one of double width: the
 * block-diagonal masks keep the halves apart, so the result equals two separate
 * encoders, while each step issues one encoder's kernels instead of two (kernel
 * launches, not arithmetic, dominate at our sizes on wasm). `biasColumns` limits
 * what the bias half reads (1 = visible); masked weights start, and stay, at zero.
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
  const D = space.columns.length;
  const K = space.modalities.length;
  const E = K * modalityDim;
  const H = hiddenDim;
  const m1 = new Float32Array(D * 2 * E);
  const expand = new Float32Array(K * 2 * E);
  space.modalities.forEach((m, k) => {
    for (let j = m.start; j < m.end; j++)
      for (let h = 0; h < modalityDim; h++) {
        m1[j * 2 * E + k * modalityDim + h] = 1;
        m1[j * 2 * E + E + k * modalityDim + h] = biasColumns ? biasColumns[j]! : 1;
      }
    for (let h = 0; h < modalityDim; h++) {
      expand[k * 2 * E + k * modalityDim + h] = 1;
      expand[k * 2 * E + E + k * modalityDim + h] = 1;
    }
  });
  const F = 2 * E + K;
  const m2 = new Float32Array(F * 2 * H);
  for (let r = 0; r < F; r++)
    for (let c = 0; c < 2 * H; c++) {
      const half = c < H ? 0 : 1;
      m2[r * 2 * H + c] = r >= 2 * E || (r < E ? 0 : 1) === half ? 1 : 0;
    }
  const mask1 = tf.keep(tf.tensor2d(m1, [D, 2 * E]));
  const mask2 = tf.keep(tf.tensor2d(m2, [F, 2 * H]));
  const expandT = tf.keep(tf.tensor2d(expand, [K, 2 * E]));
  const Wm = params.add(`${name}/modality/W`, [D, 2 * E], 'glorot', rng);
  const bm = params.add(`${name}/modality/b`, [2 * E], 'zeros', rng);
  const absent = params.add(`${name}/absent`, [2 * E], 'small', rng);
  const Wf = params.add(`${name}/fusion/W`, [F, 2 * H], 'glorot', rng);
  const bf = params.add(`${name}/fusion/b`, [2 * H], 'zeros', rng);
  tf.tidy(() => {
    Wm.assign(tf.mul(Wm, mask1));
    Wf.assign(tf.mul(Wf, mask2));
  });
  /** Both codes side by side: columns [0, H) causal, [H, 2H) bias. */
  const encode = (x: tf.Tensor2D, present: tf.Tensor2D): tf.Tensor2D => {
    const perModality = tf.relu(tf.add(tf.matMul(x, tf.mul(Wm, mask1) as tf.Tensor2D), bm));
    const p = tf.matMul(present, expandT);
    const withAbsent = tf.add(tf.mul(perModality, p), tf.mul(absent, tf.sub(1, p))) as tf.Tensor2D;
    const fused = tf.concat([withAbsent, present], 1) as tf.Tensor2D;
    return tf.relu(tf.add(tf.matMul(fused, tf.mul(Wf, mask2) as tf.Tensor2D), bf)) as tf.Tensor2D;
  };
  return { encode, dispose: () => tf.dispose([mask1, mask2, expandT]) };
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

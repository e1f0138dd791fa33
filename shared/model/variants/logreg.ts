import * as tf from '@tensorflow/tfjs';
import type { FeatureSpace } from '../../data/feature-space.ts';
import { Rng } from '../../rng.ts';
import type { Batch, FedModel } from '../model.ts';
import { ParamSet } from '../params.ts';
import { bceWithLogits, dense, weightedMean } from '../layers.ts';

/** Logistic regression on the encoded features plus the modality mask bits (FLamby's Fed-Heart-Disease model). */
export function createLogReg(space: FeatureSpace, seed: number): FedModel {
  const params = new ParamSet();
  const rng = new Rng(seed);
  const K = space.modalities.length;
  const lin = dense(params, 'logreg', space.columns.length + K, 1, rng);
  const logits = (x: tf.Tensor2D, present: tf.Tensor2D) =>
    tf.reshape(lin(tf.concat([x, present], 1) as tf.Tensor2D), [-1]) as tf.Tensor1D;
  return {
    kind: 'logreg',
    params,
    usesBalancing: false,
    loss: (b: Batch) => weightedMean(bceWithLogits(logits(b.x, b.present), b.y), b.weight),
    predict: (x, present) => tf.sigmoid(logits(x, present)) as tf.Tensor1D,
    dispose: () => params.dispose(),
  };
}

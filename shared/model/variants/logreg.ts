import * as tf from '@tensorflow/tfjs';
import type { FeatureSpace } from '../../data/feature-space.ts';
import { Rng } from '../../rng.ts';
import type { FedModel } from '../model.ts';
import { ParamSet } from '../params.ts';
import { dense, logitModel } from '../layers.ts';

/** Logistic regression on the encoded features plus the modality mask bits (FLamby's Fed-Heart-Disease model). */
export function createLogReg(space: FeatureSpace, seed: number): FedModel {
  const params = new ParamSet();
  const rng = new Rng(seed);
  const lin = dense(params, 'logreg', space.columns.length + space.modalities.length, 1, rng);
  const logits = (x: tf.Tensor2D, present: tf.Tensor2D) =>
    tf.reshape(lin(tf.concat([x, present], 1) as tf.Tensor2D), [-1]) as tf.Tensor1D;
  return logitModel('logreg', params, logits);
}

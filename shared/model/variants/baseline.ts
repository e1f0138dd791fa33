import * as tf from '@tensorflow/tfjs';
import type { FeatureSpace } from '../../data/feature-space.ts';
import { Rng } from '../../rng.ts';
import type { ModelConfig } from '../config.ts';
import type { FedModel } from '../model.ts';
import { ParamSet } from '../params.ts';
import { dense, logitModel, multimodalEncoder } from '../layers.ts';

/** The multimodal backbone with every debiasing term off: encoder -> z -> linear classifier. */
export function createBaseline(space: FeatureSpace, cfg: ModelConfig, seed: number): FedModel {
  const params = new ParamSet();
  const rng = new Rng(seed);
  const enc = multimodalEncoder(params, 'encoder', space, cfg.modalityDim, cfg.hiddenDim, rng);
  const head = dense(params, 'classifier', cfg.hiddenDim, 1, rng);
  const logits = (x: tf.Tensor2D, present: tf.Tensor2D) => tf.reshape(head(enc.encode(x, present)), [-1]) as tf.Tensor1D;
  return logitModel('baseline', params, logits, () => (enc.dispose(), params.dispose()));
}

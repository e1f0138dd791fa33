import { z } from 'zod';
import { int, real } from '../config/fields.ts';
import { parseInput } from '../config/issues.ts';

/** Model and local-training settings, with documented defaults (docs/configuration.md). */
export const TRAINING_FIELDS = {
  /** Width of each modality's embedding. */
  modalityDim: int(1, 4096).default(8),
  /** Width of the fused representation z. */
  hiddenDim: int(1, 65536).default(32),
  /** Local epochs per federated round. */
  localEpochs: int(1, 1000).default(2),
  batchSize: int(1, 1 << 16).default(32),
  learningRate: real(1e-6, 10).default(0.01),
  /** L2 weight decay on weight matrices (PyTorch-style coefficient). */
  weightDecay: real(0, 10).default(1e-3),
};

/** The training part of a model section; its other fields (kind, debiasing) are checked by the model spec (factory.ts). */
const trainingSchema = z.object(TRAINING_FIELDS);

export type ModelConfig = z.output<typeof trainingSchema>;

export const DEFAULT_MODEL_CONFIG: ModelConfig = trainingSchema.parse({});

/** Fills defaults and rejects out-of-range training fields, naming them under `where`. */
export function compileModelConfig(raw: Record<string, unknown> = {}, where = 'model'): ModelConfig {
  return parseInput(trainingSchema, raw, { at: where });
}

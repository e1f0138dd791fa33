import { InputError } from '../errors.ts';

/** Model and local-training settings, with documented defaults (docs/configuration.md). */
export interface ModelConfig {
  /** Width of each modality's embedding. */
  modalityDim: number;
  /** Width of the fused representation z. */
  hiddenDim: number;
  /** Local epochs per federated round. */
  localEpochs: number;
  batchSize: number;
  learningRate: number;
  /** L2 weight decay on weight matrices (PyTorch-style coefficient). */
  weightDecay: number;
}

export const DEFAULT_MODEL_CONFIG: ModelConfig = {
  modalityDim: 8,
  hiddenDim: 32,
  localEpochs: 2,
  batchSize: 32,
  learningRate: 0.01,
  weightDecay: 1e-3,
};

const RANGES: Record<keyof ModelConfig, { min: number; max: number; int: boolean }> = {
  modalityDim: { min: 1, max: 4096, int: true },
  hiddenDim: { min: 1, max: 65536, int: true },
  localEpochs: { min: 1, max: 1000, int: true },
  batchSize: { min: 1, max: 1 << 16, int: true },
  learningRate: { min: 1e-6, max: 10, int: false },
  weightDecay: { min: 0, max: 10, int: false },
};

/** Fills defaults and rejects unknown or out-of-range fields with exact messages. */
export function compileModelConfig(raw: Record<string, unknown> = {}, where = 'model'): ModelConfig {
  const out: Record<string, number> = { ...DEFAULT_MODEL_CONFIG };
  for (const [k, v] of Object.entries(raw)) {
    const r = (RANGES as Partial<typeof RANGES>)[k as keyof ModelConfig]; // k may be any string
    if (!r) continue; // other sections (debiasing...) validate their own fields
    if (typeof v !== 'number' || !Number.isFinite(v) || v < r.min || v > r.max || (r.int && !Number.isInteger(v)))
      throw new InputError(
        `${where}.${k} must be ${r.int ? 'an integer' : 'a number'} in [${r.min}, ${r.max}], got ${JSON.stringify(v)}`,
      );
    out[k] = v;
  }
  return out as unknown as ModelConfig;
}

import type { FeatureSpace } from '../data/feature-space.ts';
import { InputError } from '../errors.ts';
import { compileModelConfig, type ModelConfig } from './config.ts';
import type { FedModel } from './model.ts';
import { createBaseline } from './variants/baseline.ts';
import { createLogReg } from './variants/logreg.ts';

export interface ModelBuildArgs {
  space: FeatureSpace;
  config: ModelConfig;
  /** The raw model section, for variants with settings of their own (debiasing). */
  raw: Record<string, unknown>;
  seed: number;
}

type Builder = (a: ModelBuildArgs) => FedModel;

/** Model variants by name; each file registers one builder here. */
const registry = new Map<string, Builder>([
  ['logreg', (a) => createLogReg(a.space, a.seed)],
  ['baseline', (a) => createBaseline(a.space, a.config, a.seed)],
]);

export function registerModel(name: string, build: Builder): void {
  registry.set(name, build);
}

export function modelNames(): string[] {
  return [...registry.keys()];
}

/** Builds a model variant; the same seed gives the same initial weights. */
export function createModel(
  kind: string,
  space: FeatureSpace,
  raw: Record<string, unknown> = {},
  seed = 1,
): FedModel {
  const build = registry.get(kind);
  if (!build) throw new InputError(`unknown model "${kind}"; expected one of: ${modelNames().join(', ')}`);
  return build({ space, config: compileModelConfig(raw), raw, seed });
}

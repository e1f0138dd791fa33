import type { FeatureSpace } from '../data/feature-space.ts';
import type { ModelBuildArgs } from './build-args.ts';
import { InputError } from '../errors.ts';
import { compileModelConfig, type ModelConfig } from './config.ts';
import type { FedModel } from './model.ts';
import { createBaseline } from './variants/baseline.ts';
import { createLogReg } from './variants/logreg.ts';
import { buildDebiased, withDebiasedTrainingDefaults } from './variants/debiased/index.ts';

export type { ModelBuildArgs } from './build-args.ts';

type Builder = (a: ModelBuildArgs) => FedModel;

/** Model variants by name; each file registers one builder here. */
const registry = new Map<string, Builder>([
  ['logreg', (a) => createLogReg(a.space, a.seed)],
  ['baseline', (a) => createBaseline(a.space, a.config, a.seed)],
  ['debiased', buildDebiased],
]);

/** Per-variant training defaults, applied under the user's settings (debiased: weight decay 1e-2). */
const trainingDefaults = new Map<string, (raw: Record<string, unknown>) => Record<string, unknown>>([
  ['debiased', withDebiasedTrainingDefaults],
]);

/** The validated training settings of a variant: its defaults, then the user's model section. */
export function trainingConfig(kind: string, raw: Record<string, unknown> = {}): ModelConfig {
  return compileModelConfig((trainingDefaults.get(kind) ?? ((r) => r))(raw));
}

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
  return build({ space, config: trainingConfig(kind, raw), raw, seed });
}

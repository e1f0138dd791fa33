import type { ModelBuildArgs } from '../../build-args.ts';
import { compileDebiasConfig, DEBIASED_TRAINING_DEFAULTS } from './config.ts';
import { createDebiased, type DebiasedModel } from './model.ts';

export { checkDebiasFeatures, compileDebiasConfig, debiasSettingsSchema, userDebiasSettingsSchema, DEFAULT_DEBIAS_CONFIG, DEBIASED_TRAINING_DEFAULTS, effectiveWeighting, usesDualBranch } from './config.ts';
export type { DebiasConfig, DebiasMode, FlaggedFeature, DecideOptions } from './config.ts';
export { createDebiased, type DebiasedModel } from './model.ts';
export { decideDebiasing, withDecision, type DebiasDecision, type DecideOverrides } from './decide.ts';

/**
 * The factory's builder for `debiased`: the model section's `debiasing` object holds
 * the settings and, in mode 'auto', the coordinator's resolved decision (see withDecision).
 */
export function buildDebiased(a: ModelBuildArgs): DebiasedModel {
  return createDebiased(a.space, a.config, compileDebiasConfig(a.raw.debiasing, 'model.debiasing'), a.seed);
}

/**
 * The raw model section with the variant's training defaults filled in where the user
 * set nothing (weight decay 1e-2; see DEBIASED_TRAINING_DEFAULTS), for the caller to
 * compile into the ModelConfig the trainer uses.
 */
export function withDebiasedTrainingDefaults(raw: Record<string, unknown>): Record<string, unknown> {
  return { ...DEBIASED_TRAINING_DEFAULTS, ...raw };
}

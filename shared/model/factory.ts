import { z } from 'zod';
import { choice, strict } from '../config/fields.ts';
import { allFaults, fieldError, parseInput, type InputSource } from '../config/issues.ts';
import type { FeatureSpace } from '../data/feature-space.ts';
import { compileModelConfig, TRAINING_FIELDS, type ModelConfig } from './config.ts';
import type { FedModel } from './model.ts';
import { createBaseline } from './variants/baseline.ts';
import { createLogReg } from './variants/logreg.ts';
import { buildDebiased, checkDebiasFeatures, compileDebiasConfig, userDebiasSettingsSchema, withDebiasedTrainingDefaults } from './variants/debiased/index.ts';

export interface ModelBuildArgs {
  space: FeatureSpace;
  config: ModelConfig;
  /** The raw model section, for variants with settings of their own (debiasing). */
  raw: Record<string, unknown>;
  seed: number;
}

interface Variant {
  build: (a: ModelBuildArgs) => FedModel;
  /** Training defaults applied under the user's settings (debiased: weight decay 1e-2). */
  trainingDefaults?: (raw: Record<string, unknown>) => Record<string, unknown>;
}

/** Model variants by name: the one list of model kinds every config and flag accepts. */
const registry = new Map<string, Variant>([
  ['debiased', { build: buildDebiased, trainingDefaults: withDebiasedTrainingDefaults }],
  ['baseline', { build: (a) => createBaseline(a.space, a.config, a.seed) }],
  ['logreg', { build: (a) => createLogReg(a.space, a.seed) }],
]);

export const MODEL_KINDS = [...registry.keys()] as [string, ...string[]];

/** The validated training settings of a variant: its defaults, then the user's model section. */
export function trainingConfig(kind: string, raw: Record<string, unknown> = {}): ModelConfig {
  return compileModelConfig((registry.get(kind)?.trainingDefaults ?? ((r) => r))(raw));
}

export function modelNames(): string[] {
  return [...MODEL_KINDS];
}

/** A model section: `debiased`, or `{ kind: debiased, ...settings }`; the kind decides which settings it may hold. */
const kindSchema = z.preprocess((v) => (typeof v === 'string' ? { kind: v } : v), z.looseObject({ kind: choice(MODEL_KINDS) }, { error: 'must be a model kind or a mapping { kind, ...settings }' }));

/**
 * Every field a model section may hold. `debiasing` is accepted beside any kind (a
 * baseline run keeps the section it was given) and read by the debiased variant.
 */
const sectionSchema = strict({ kind: z.string(), ...TRAINING_FIELDS, debiasing: userDebiasSettingsSchema.optional() });

/** model.debiasing fields the coordinator's decision sets (DebiasConfig `active`, `flagged`, `reason`). */
const DECIDED_FIELDS = ['active', 'flagged', 'reason'] as const;

/** A model section, validated whole (kind, training and debiasing settings); the raw settings are kept as written. */
export function compileModelSpec(section: unknown, source: InputSource = { at: 'model' }): { kind: string; raw: Record<string, unknown> } {
  // The settings and the kind are checked together, so a misspelt `kind` is named before the missing one.
  const settings = typeof section === 'object' && section !== null && !Array.isArray(section) ? (section as Record<string, unknown>) : undefined;
  const [, { kind, ...raw }] = allFaults<[void, { kind: string } & Record<string, unknown>]>([
    () => settings && checkSettings(settings, source),
    () => parseInput(kindSchema, section, source),
  ]);
  return { kind, raw };
}

/** A model section's settings besides its kind (checked on its own, by kindSchema). */
function checkSettings(settings: Record<string, unknown>, source: InputSource): void {
  // The run's decision writes these (the results' `debiasing` reports them); a file that sets them would pose as one.
  const debiasing = settings.debiasing;
  const decided = DECIDED_FIELDS.find((f) => typeof debiasing === 'object' && debiasing !== null && f in debiasing);
  if (decided) throw fieldError(source, `debiasing.${decided}`, 'is set by the run\'s debiasing decision, not by configuration: use mode (on, off, auto), suspect or trusted');
  parseInput(sectionSchema, { ...settings, kind: '' }, source);
  if (debiasing !== undefined) compileDebiasConfig(debiasing, { ...source, at: [source.at, 'debiasing'].filter((p) => p).join('.') });
}

/**
 * The feature names a model section holds (debiasing.suspect / trusted) checked against
 * the schema's features; `schema` is the schema file's path, for the message.
 */
export function checkModelFeatures(
  spec: { raw: Record<string, unknown> },
  features: readonly string[],
  source: InputSource & { schema: string },
): void {
  if (spec.raw.debiasing !== undefined)
    checkDebiasFeatures(spec.raw.debiasing, features, { ...source, at: [source.at, 'debiasing'].filter((p) => p).join('.') });
}

/** Builds a model variant; the same seed gives the same initial weights. */
export function createModel(
  kind: string,
  space: FeatureSpace,
  raw: Record<string, unknown> = {},
  seed = 1,
): FedModel {
  parseInput(choice(MODEL_KINDS), kind, { at: 'model.kind' });
  return registry.get(kind)!.build({ space, config: trainingConfig(kind, raw), raw, seed });
}

/**
 * The coordinator's `secureAggregation` section (docs/configuration.md): the settings of
 * shared/secagg/config.ts plus `enabled`, and what secure aggregation cannot go with,
 * refused at load with the reason rather than run weakened.
 */
import { MAX_SECURE_MODALITIES } from '../shared/secagg/stats-parts.ts';
import { bool, strict } from '../shared/config/fields.ts';
import { fieldError, parseInput, type InputSource } from '../shared/config/issues.ts';
import { secAggConfigSchema, type SecAggConfig } from '../shared/secagg/config.ts';

/** The shared settings' fields, with `enabled`, under the product's strict mapping (its unknown-field message). */
export const secureAggregationSchema = strict({ ...secAggConfigSchema.shape, enabled: bool().default(false) });

/** Strategies that only need the example-weighted mean, which is all a secure round reveals. */
export const SECURE_STRATEGIES: readonly string[] = ['fedavg', 'fedprox', 'fedadam', 'fedyogi', 'fedadagrad'];

/**
 * The compiled settings when enabled, else undefined. Throws InputError (`FILE: field: ...`)
 * for a bad field, a strategy that needs per-site updates, or too few training sites.
 * Every model goes: the debiased one's health sums and pattern counts are summed in the
 * secure vector too (shared/secagg/debias-parts.ts).
 */
export function compileSecureAggregation(raw: unknown, ctx: { strategy: string; model: string; trainingSites: number; modalities?: number }, source: InputSource = {}): SecAggConfig | undefined {
  const at = { ...source, at: [source.at, 'secureAggregation'].filter((p) => p).join('.') };
  const { enabled, ...config } = parseInput(secureAggregationSchema, raw ?? {}, at);
  if (!enabled) return undefined;
  if (!SECURE_STRATEGIES.includes(ctx.strategy)) {
    throw fieldError(at, 'enabled', `cannot be true with strategy ${ctx.strategy}: it needs each site's update (or, for scaffold, each site's gradient), and secure aggregation reveals only their sum (use one of ${SECURE_STRATEGIES.join(', ')})`);
  }
  if (ctx.trainingSites < config.minSites) {
    throw fieldError(at, 'minSites', `needs at least ${config.minSites} training sites, the federation has ${ctx.trainingSites}: with fewer, a site could read the others' values off the sum`);
  }
  // The statistics rounds sum a dense vector over every missingness pattern: refused now, not after the sites joined.
  if (ctx.modalities !== undefined && ctx.modalities > MAX_SECURE_MODALITIES)
    throw fieldError(at, 'enabled', `cannot be true with a schema of ${ctx.modalities} modalities: secure statistics hold at most ${MAX_SECURE_MODALITIES} (2^${MAX_SECURE_MODALITIES} missingness patterns); merge modalities in the schema`);
  // Checked here as RoundPlan would at the first round (thresholdFor), with the field's name.
  const n = ctx.trainingSites;
  const m = config.neighbours === undefined || config.neighbours >= n - 1 ? n : config.neighbours + 1;
  const t = config.threshold;
  if (t !== undefined && (t > m || 2 * t <= m)) {
    throw fieldError(at, 'threshold', `must be more than half of and at most the ${m} sites of a neighbourhood (got ${t}): fewer, and two groups could reveal both shares of one site`);
  }
  return config;
}

export type { SecAggConfig };

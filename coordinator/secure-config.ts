/**
 * The coordinator's `secureAggregation` section (docs/configuration.md): the settings of
 * shared/secagg/config.ts plus `enabled`, and what secure aggregation cannot go with,
 * refused at load with the reason rather than run weakened.
 */
import { bool } from '../shared/config/fields.ts';
import { fieldError, parseInput, type InputSource } from '../shared/config/issues.ts';
import { secAggConfigSchema, thresholdFor, type SecAggConfig } from '../shared/secagg/config.ts';

export const secureAggregationSchema = secAggConfigSchema.extend({ enabled: bool().default(false) });

/** Strategies that only need the example-weighted mean, which is all a secure round reveals. */
export const SECURE_STRATEGIES: readonly string[] = ['fedavg', 'fedprox', 'fedadam', 'fedyogi', 'fedadagrad'];

/**
 * The compiled settings when enabled, else undefined. Throws InputError (`FILE: field: ...`)
 * for a bad field, a strategy that needs per-site updates, a model whose rounds need
 * per-site sums not yet secured, or too few training sites.
 */
export function compileSecureAggregation(raw: unknown, ctx: { strategy: string; model: string; trainingSites: number }, source: InputSource = {}): SecAggConfig | undefined {
  const at = { ...source, at: [source.at, 'secureAggregation'].filter((p) => p).join('.') };
  const { enabled, ...config } = parseInput(secureAggregationSchema, raw ?? {}, at);
  if (!enabled) return undefined;
  if (!SECURE_STRATEGIES.includes(ctx.strategy)) {
    throw fieldError(at, 'enabled', `cannot be true with strategy ${ctx.strategy}: it needs each site's update, and secure aggregation reveals only their sum (use one of ${SECURE_STRATEGIES.join(', ')})`);
  }
  if (ctx.model === 'debiased') {
    throw fieldError(at, 'enabled', "cannot be true with model debiased yet: its per-round health monitor needs each site's health sums and pattern counts, which are not secured (use baseline or logreg)");
  }
  if (ctx.trainingSites < config.minSites) {
    throw fieldError(at, 'minSites', `is ${config.minSites}, but the federation has ${ctx.trainingSites} training sites: with fewer, a site could read the others' values off the sum`);
  }
  const n = ctx.trainingSites;
  const k = config.neighbours;
  try {
    thresholdFor(config, k === undefined || k >= n - 1 ? n : k + 1);
  } catch (e) {
    throw fieldError(at, 'threshold', `${(e as Error).message.replace(/^secureAggregation\.threshold /, 'is ')}`);
  }
  return config;
}

export type { SecAggConfig };

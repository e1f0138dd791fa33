/**
 * Secure-aggregation settings: one zod schema, compiled once into a validated,
 * defaults-filled object; the rest of secagg sees only `SecAggConfig`.
 */
import { z } from 'zod';
import { InputError } from '../errors.ts';

export const secAggConfigSchema = z
  .object({
    /**
     * Shamir threshold t for a neighbourhood of m sites (all invited sites, or a site and
     * its k SecAgg+ neighbours). Default floor(2m/3) + 1: Bonawitz et al. (Thm 6.3) need
     * t > 2m/3 against a malicious coordinator colluding with < m/3 sites; below m/2 two
     * disjoint groups could be asked for the two kinds of share, so that is refused.
     */
    threshold: z.number().int().min(2).optional(),
    /** Fewest invited sites a secure round runs with: with 2, each site learns the other's values from the sum. */
    minSites: z.number().int().min(3).default(3),
    /** |weight| bound: each model weight is clipped to [-clipBound, clipBound] before encoding. */
    clipBound: z.number().positive().max(1e6).default(10),
    /** Cap on a site's claimed example count; also bounds the example-weighted update w*n. */
    maxExamples: z.number().int().positive().max(1e7).default(100_000),
    /**
     * Fixed-point fraction bits of real parts. Left out, each part takes the most the
     * ring allows without overflow of the n-site sum (at most 24, float32's mantissa).
     */
    fractionalBits: z.number().int().min(0).max(24).optional(),
    /**
     * Decimals of the metrics a site reports by itself in a secure final evaluation (default
     * REPORT_DECIMALS, 2): exact rates are fractions whose denominators give away its
     * held-out row count; rounded, many counts fit.
     */
    reportDecimals: z.number().int().min(0).max(6).optional(),
    /** SecAgg+ (Bell et al. 2020): pair each site with k neighbours on a random ring instead of all sites. Even, >= 2. */
    neighbours: z
      .number()
      .int()
      .min(2)
      .refine((k) => k % 2 === 0, 'must be even (k/2 neighbours on each side of the ring)')
      .optional(),
  })
  .strict();

export type SecAggConfig = z.output<typeof secAggConfigSchema>;
export type SecAggConfigInput = z.input<typeof secAggConfigSchema>;

/** Validates raw settings (from a federation file); every problem names the field. */
export function compileSecAggConfig(raw: unknown = {}, where = 'secureAggregation'): SecAggConfig {
  const r = secAggConfigSchema.safeParse(raw ?? {});
  if (r.success) return r.data;
  const lines = r.error.issues.map((i) => `${[where, ...i.path.map(String)].join('.')}: ${i.message}`);
  throw new InputError(lines.join('; '));
}

/** The threshold for a neighbourhood of m sites (self included), checked against m. */
export function thresholdFor(config: SecAggConfig, m: number): number {
  const t = config.threshold ?? Math.floor((2 * m) / 3) + 1;
  if (t > m) throw new InputError(`secureAggregation.threshold ${t} exceeds the ${m} sites of a neighbourhood`);
  if (2 * t <= m) {
    throw new InputError(`secureAggregation.threshold ${t} must be more than half of the ${m} sites of a neighbourhood, or two groups could reveal both shares of one site`);
  }
  return t;
}

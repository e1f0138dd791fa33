/**
 * The federation's published summary: what a joining hospital compares its own
 * data with before it joins (`fedcausal site check`). Built only from the sums the
 * statistics rounds already agreed (feature sums, (pattern, label) counts), so it
 * says nothing about any one site; suppressed prior cells are named without counts.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { InputError } from '../errors.ts';
import type { FeatureSpace } from '../data/feature-space.ts';
import type { PatternLabelCounts, PatternPrior } from '../data/patterns.ts';
import { schemaToJson, type Schema } from '../data/schema.ts';
import type { FeatureStats } from '../data/stats.ts';

/** Bumped on any incompatible change to the JSON below; a reader refuses a newer one. */
export const SUMMARY_FORMAT = 1;

const finite = z.number().refine(Number.isFinite, 'must be a finite number');
const count = z.number().int().nonnegative();
const pattern = z.string().regex(/^[01]+$/, 'a pattern is a string of 0 and 1');

export const FederationSummarySchema = z.strictObject({
  format: z.literal('fedcausal-federation-summary'),
  version: z.number().int().positive().max(SUMMARY_FORMAT, `this fedcausal reads summary versions up to ${SUMMARY_FORMAT}`),
  federation: z.string().min(1),
  schema: z.strictObject({
    /** sha256 of the schema's canonical JSON (schemaToJson): equal fingerprints, same schema. */
    fingerprint: z.string().regex(/^[0-9a-f]{64}$/),
    modalities: z.array(z.string()).min(1),
    features: z.array(z.string()).min(1),
  }),
  rows: count,
  positives: count,
  /** positives / rows, over the training rows in the prior's patterns (rows of suppressed patterns are left out of all three); rows and positives to roughCount, the rate to 3 decimals. */
  labelRate: finite,
  /** Per numeric feature, the agreed scaling (the feature space's mean and SD, to 4 figures) and about how many values it rests on (roughCount). */
  numeric: z.record(z.string(), z.strictObject({ mean: finite, sd: finite, count })),
  /** Per categorical feature, the values the federation has seen (the agreed vocabulary). */
  categorical: z.record(z.string(), z.array(z.string())),
  prior: z.strictObject({
    version: z.number().int(),
    minCount: count,
    patterns: z.array(z.strictObject({ pattern, p: finite })),
    /** Patterns seen in the federation with fewer than minCount rows in all: left out of the prior. Empty as /api/summary publishes it (coordinator/http/summary.ts). */
    suppressed: z.array(pattern),
  }),
});

export type FederationSummary = z.infer<typeof FederationSummarySchema>;

/** The schema's fingerprint: sites and the summary agree when these are equal. */
export function schemaFingerprint(schema: Schema): string {
  return createHash('sha256').update(JSON.stringify(schemaToJson(schema))).digest('hex');
}

/** What the coordinator holds once the statistics rounds are done: all sums over the training sites. */
export interface AgreedStatistics {
  federation: string;
  schema: Schema;
  space: FeatureSpace;
  prior: PatternPrior;
  /** mergeFeatureStats of the sites' contributions (for the per-feature counts). */
  featureStats: FeatureStats;
  /** sumPatternCounts of the sites' (pattern, label) counts (for the label rate and the suppressed patterns). */
  patternCounts: PatternLabelCounts;
}

export function buildFederationSummary(a: AgreedStatistics): FederationSummary {
  const numeric: FederationSummary['numeric'] = {};
  const categorical: FederationSummary['categorical'] = {};
  for (const c of a.space.columns) {
    if (c.kind === 'numeric') numeric[c.feature] = { mean: fourFigures(c.mean), sd: fourFigures(c.std), count: roughCount(a.featureStats.numeric[c.feature]?.count ?? 0, a.prior.minCount) };
    // The "other" column is no value a site could hold: a site's value outside the list is folded there.
    else if (!c.other) (categorical[c.feature] ??= []).push(c.category!);
  }
  // A categorical feature nobody observed has no columns; it still has an (empty) vocabulary.
  for (const f of a.schema.categorical) categorical[f] ??= [];
  const inPrior = new Set(a.prior.patterns.map((p) => p.pattern));
  // Rows of the prior's patterns only: with every row counted, rows less the prior's own
  // denominator (recoverable from its exact shares) gave a suppressed pattern's count (a DPO review).
  let rows = 0;
  let positives = 0;
  for (const [p, [n0, n1]] of Object.entries(a.patternCounts)) {
    if (!inPrior.has(p)) continue;
    rows += n0 + n1;
    positives += n1;
  }
  return {
    format: 'fedcausal-federation-summary',
    version: SUMMARY_FORMAT,
    federation: a.federation,
    schema: {
      fingerprint: schemaFingerprint(a.schema),
      modalities: a.schema.modalities.map((m) => m.name),
      features: a.schema.modalities.flatMap((m) => m.features),
    },
    rows: roughCount(rows, a.prior.minCount),
    positives: roughCount(positives, a.prior.minCount),
    labelRate: rows > 0 ? Number((positives / rows).toFixed(3)) : 0,
    numeric,
    categorical,
    prior: {
      version: a.prior.version,
      minCount: a.prior.minCount,
      patterns: a.prior.patterns.map((p) => ({ pattern: p.pattern, p: p.p })),
      suppressed: Object.keys(a.patternCounts).filter((p) => !inPrior.has(p)).sort(),
    },
  };
}

/**
 * A count as the summary publishes it, to the nearest multiple of twice the minimum cell count
 * (10 at least): exact counts beside one another (a feature's values span suppressed patterns'
 * rows too; rows beside the balancing table's positives) gave a small cell back by subtraction
 * (two DPO reviews). With fourFigures' means and SDs, a count can no longer be worked back from
 * a mean (an exact mean of whole ages with a rounded count pinned the count down).
 */
export function roughCount(n: number, minCount: number): number {
  const base = Math.max(10, 2 * minCount);
  return Math.round(n / base) * base;
}

/** A mean or SD as the summary publishes it: 4 significant figures, too coarse for a sum over a count to be read back to the count. */
export function fourFigures(x: number): number {
  return Number.isFinite(x) && x !== 0 ? Number(x.toPrecision(4)) : x;
}

/** Validates a parsed summary; `where` (a file or URL) names the source in errors. */
export function parseFederationSummary(raw: unknown, where: string): FederationSummary {
  const r = FederationSummarySchema.safeParse(raw);
  if (r.success) return r.data;
  const issue = r.error.issues[0]!;
  const field = issue.path.length ? issue.path.join('.') : '(top level)';
  throw new InputError(`${where}: not a federation summary: field "${field}": ${issue.message}`);
}

/**
 * (pattern, label) counts: what each site contributes toward the global pattern
 * prior P(m) and the balancing table P(m)P(y)/P(m,y). Summed across sites by the
 * coordinator (coordinator/priors.ts); never row by row.
 */
export type PatternLabelCounts = Record<string, [number, number]>;

export function countPatternLabels(patterns: string[], labels: ArrayLike<number>): PatternLabelCounts {
  const out: PatternLabelCounts = {};
  patterns.forEach((p, i) => {
    const c = (out[p] ??= [0, 0]);
    c[labels[i] ? 1 : 0]++;
  });
  return out;
}

/** The published, normalised prior and balancing table every site uses. */
export interface PatternPrior {
  version: number;
  /** Patterns with their prior probability, sorted by pattern; suppressed cells are left out. */
  patterns: { pattern: string; p: number }[];
  /** pattern -> [weight for y=0, weight for y=1]; rows in unlisted or suppressed cells get weight 1. */
  balancing: Record<string, [number, number]>;
  minCount: number;
  totalRows: number;
}

/** Row weight for a (pattern, label) under a published prior. */
export function balancingWeight(prior: PatternPrior, pattern: string, label: number): number {
  const w = prior.balancing[pattern];
  return w ? w[label ? 1 : 0] : 1;
}

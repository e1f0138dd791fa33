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

/** Adds per-key [label 0, label 1] counts from every site (patterns, outcome-balancing cells). */
export function sumLabelCounts<T extends Record<string, [number, number]>>(all: readonly T[]): T {
  const out: Record<string, [number, number]> = {};
  for (const counts of all)
    for (const [k, [n0, n1]] of Object.entries(counts)) {
      const c = (out[k] ??= [0, 0]);
      c[0] += n0;
      c[1] += n1;
    }
  return out as T;
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

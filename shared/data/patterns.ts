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

/**
 * How well the missingness pattern alone tells the label, as an AUROC: each pattern scores
 * its share of positives, ties count half. 0.5: the pattern says nothing; what
 * pattern-outcome balancing trains as if it said. Negative counts (noised by DP) count as 0.
 */
export function patternLabelAuroc(counts: PatternLabelCounts): number {
  const cells = Object.values(counts)
    .map(([a, b]) => [Math.max(0, a), Math.max(0, b)] as const)
    .filter(([n0, n1]) => n0 + n1 > 0)
    .map(([n0, n1]) => ({ n0, n1, score: n1 / (n0 + n1) }))
    .sort((a, b) => a.score - b.score);
  const negatives = cells.reduce((a, c) => a + c.n0, 0);
  const positives = cells.reduce((a, c) => a + c.n1, 0);
  if (negatives === 0 || positives === 0) return NaN;
  let below = 0;
  let wins = 0;
  for (const c of cells) {
    wins += c.n1 * (below + 0.5 * c.n0);
    below += c.n0;
  }
  return wins / (negatives * positives);
}

/**
 * Whether the pattern and the label are dependent beyond chance: Pearson's chi-square over
 * the (pattern, label) table, as a z score (Wilson-Hilferty). With many patterns of a few rows
 * each, the pattern AUROC above is high from noise alone (an outside try: 254 patterns of
 * random missingness, about 10 rows each, scored 0.66; the rates it learns scored 0.48 at
 * another hospital), while the chi-square expects K - 1 from noise and says so.
 * Negative counts (noised by DP) count as 0. NaN where undefined (one class, one pattern).
 */
export function patternLabelDependence(counts: PatternLabelCounts): { chi2: number; dof: number; z: number } {
  const cells = Object.values(counts)
    .map(([a, b]) => [Math.max(0, a), Math.max(0, b)] as const)
    .filter(([n0, n1]) => n0 + n1 > 0);
  const n = cells.reduce((a, [n0, n1]) => a + n0 + n1, 0);
  const rate = cells.reduce((a, [, n1]) => a + n1, 0) / n;
  const dof = cells.length - 1;
  if (!(dof >= 1) || !(rate > 0 && rate < 1)) return { chi2: NaN, dof, z: NaN };
  let chi2 = 0;
  for (const [n0, n1] of cells) {
    const m = n0 + n1;
    chi2 += (n1 - m * rate) ** 2 / (m * rate) + (n0 - m * (1 - rate)) ** 2 / (m * (1 - rate));
  }
  const v = 2 / (9 * dof);
  return { chi2, dof, z: (Math.cbrt(chi2 / dof) - (1 - v)) / Math.sqrt(v) };
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

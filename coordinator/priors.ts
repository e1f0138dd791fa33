import { sumLabelCounts, type PatternLabelCounts, type PatternPrior } from '../shared/data/patterns.ts';

/** Default minimum cell count below which (pattern, label) cells are suppressed. */
export const DEFAULT_MIN_CELL_COUNT = 5;

/**
 * Adds (pattern, label) counts from every site. This is the one place the sum
 * happens, so secure aggregation can replace it with a masked sum later.
 */
export function sumPatternCounts(all: PatternLabelCounts[]): PatternLabelCounts {
  return sumLabelCounts(all);
}

/**
 * Derives the published prior and balancing table from summed counts.
 * - Prior P(m): patterns whose total count is at least minCount, normalised.
 * - Balancing w(m, y) = P(m)P(y)/P(m, y) over the patterns whose two cells both reach
 *   minCount (counts taken within that sub-table, so there the reweighted pattern is
 *   exactly independent of the label and the mean weight is 1). Every other row keeps weight 1.
 */
export function derivePrior(counts: PatternLabelCounts, minCount: number, version: number): PatternPrior {
  const patterns = Object.keys(counts).sort();
  const totals = patterns.map((p) => counts[p]![0] + counts[p]![1]);
  const included = patterns.map((p, i) => ({ pattern: p, total: totals[i]! })).filter((e) => e.total >= minCount);
  const sum = included.reduce((a, e) => a + e.total, 0);
  const prior = included.map((e) => ({ pattern: e.pattern, p: e.total / sum }));

  const balanced = patterns.filter((p) => counts[p]![0] >= minCount && counts[p]![1] >= minCount);
  let N = 0;
  const Ny: [number, number] = [0, 0];
  for (const p of balanced) {
    Ny[0] += counts[p]![0];
    Ny[1] += counts[p]![1];
  }
  N = Ny[0] + Ny[1];
  const balancing: PatternPrior['balancing'] = {};
  for (const p of balanced) {
    const [n0, n1] = counts[p]!;
    const Nm = n0 + n1;
    balancing[p] = [(Nm * Ny[0]) / (N * n0), (Nm * Ny[1]) / (N * n1)];
  }
  // The prior's own rows: every row would give the suppressed patterns' count back (their total less this).
  return { version, patterns: prior, balancing, minCount, totalRows: sum };
}

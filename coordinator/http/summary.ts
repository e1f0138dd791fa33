/**
 * GET /api/summary: the federation's published summary (shared/readiness/summary.ts),
 * which a joining hospital's `fedcausal site check` compares its own data with. Sums
 * only; 503 until the statistics rounds have produced it.
 */
import type { FederationSummary } from '../../shared/readiness/summary.ts';

/** Where the server reads the summary from: undefined until the statistics rounds are done. */
export type SummarySource = () => FederationSummary | undefined;

/** [HTTP status, JSON body] for the summary, or its absence. */
export function summaryReply(get: SummarySource | undefined): [number, unknown] {
  const s = get?.();
  if (s) return [200, publishedSummary(s)];
  return [503, { error: 'no federation summary yet: the coordinator publishes it after the statistics rounds' }];
}

/**
 * The summary as it goes to a joining hospital: the suppressed patterns unnamed. Its rows less
 * the prior's denominator, or exact means worked back to their counts, give how many rows the
 * rare patterns hold in all; named, that was a small cell with its pattern (a DPO review). A
 * site with rows in one is told its pattern is not in the prior, rare or unseen alike.
 */
export function publishedSummary(s: FederationSummary): FederationSummary {
  return { ...s, prior: { ...s.prior, suppressed: [] } };
}

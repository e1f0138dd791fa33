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
  if (s) return [200, s];
  return [503, { error: 'no federation summary yet: the coordinator publishes it after the statistics rounds' }];
}

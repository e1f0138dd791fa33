/**
 * The parts of the status only the dashboard reads (the round being collected, per-site
 * curves and failures, the event log, past runs); the coordinator fills them
 * (coordinator/dashboard-status.ts, coordinator/events.ts), the page and `status` read them.
 */

/** One entry of the coordinator's event log. */
export interface FederationEvent {
  /** ISO 8601. */
  at: string;
  kind: 'join' | 'drop' | 'leave' | 'refusal' | 'failure' | 'round' | 'state' | 'warning' | 'error';
  site?: string;
  round?: number;
  message: string;
  /** Why, for refusals and failures (the refusal reason code or the failure's text). */
  reason?: string;
}

export interface CurrentRound {
  round: number;
  /** fit, stats or evaluate. */
  kind: string;
  stage?: number;
  /** The sites asked, those that answered, those that failed (with why). */
  expected: string[];
  reported: string[];
  failed: { site: string; reason: string }[];
  /** ISO 8601: when the round stops waiting. */
  deadline: string;
  /** Awaited sites whose result is arriving now: its bytes so far of those it announced (absent: none). */
  uploading?: { site: string; receivedBytes: number; totalBytes: number }[];
  /** Awaited sites whose task is still being written to them (absent: none). */
  receivingTask?: string[];
}

/**
 * /api/status carries at most STATUS_ROUNDS rounds of `history` and `siteCurves`: every round
 * up to that, then the newest STATUS_RECENT_ROUNDS in full and an even sample of the earlier
 * ones (the charts' long view). A 30,000-round run sent 13 MB per poll, which a page on a
 * 10 Mbit/s link could not fetch within its timeout (an outside try); results.json keeps
 * every round. The dashboard's rounds table shows the newest STATUS_RECENT_ROUNDS.
 */
export const STATUS_ROUNDS = 300;
export const STATUS_RECENT_ROUNDS = 100;

/** The entries of `rounds` (oldest first) that /api/status carries, as STATUS_ROUNDS says. */
export function statusWindow<T>(rounds: readonly T[]): T[] {
  if (rounds.length <= STATUS_ROUNDS) return [...rounds];
  const recentFrom = rounds.length - STATUS_RECENT_ROUNDS;
  // A fixed stride, so a chart's sampled points stay put from one poll to the next (it changes only as the run grows past a multiple).
  const stride = Math.ceil(recentFrom / (STATUS_ROUNDS - STATUS_RECENT_ROUNDS));
  const earlier = Array.from({ length: Math.ceil(recentFrom / stride) }, (_, i) => rounds[i * stride]!);
  return [...earlier, ...rounds.slice(recentFrom)];
}

/**
 * Where a site's `lastFailure` happened, in words: statistics (round 0), a training round, or
 * the final evaluation (run as round rounds + 1). A value, not a type: the dashboard bundles it
 * (esbuild), so this module must import nothing.
 */
export function failureWhere(round: number, rounds: number): string {
  return round > rounds ? 'final evaluation' : round === 0 ? 'statistics' : `round ${round}`;
}

/**
 * A site's last problem, as the dashboard and `status` show it: its latest round failure where
 * it has one, followed by its last refused message (`refusal`, worded by the caller) where the
 * failure does not already say it; else the refusal. Both are worth showing (an outside try).
 */
export function siteProblem(failure: SiteDetail['lastFailure'], rounds: number, lastError: string | undefined, refusal: string, then: string): string {
  if (!failure) return lastError ? refusal : '';
  const failed = `${failureWhere(failure.round, rounds)}: ${failure.reason}`;
  return lastError && !failure.reason.includes(lastError) ? `${failed}${then}${refusal}` : failed;
}

export interface SiteDetail {
  /** Training rows in its last fit update. */
  rows?: number;
  /** Its latest failure with its reason (offline, refused update, deadline...), and in which round. */
  lastFailure?: { round: number; reason: string };
}

/** One round's held-out evaluation per site (the per-site curves) and the sites that failed it, with why. */
export interface SiteCurvePoint {
  round: number;
  sites: Record<string, { auroc?: number; loss?: number }>;
  failed: { site: string; reason: string }[];
}

export interface PastRun {
  name: string;
  complete?: boolean;
  model?: string;
  rounds?: number;
  /** The run's final AUROC from its results file, as /api/status `final.auroc` gave it (final-evaluation.ts finalAuroc). */
  finalAuroc?: number;
  /** Sites asked for a final evaluation that sent none: the AUROC leaves them out. */
  missing?: string[];
}

export interface DashboardStatus {
  current?: CurrentRound;
  siteDetails?: Record<string, SiteDetail>;
  siteCurves?: SiteCurvePoint[];
  events?: FederationEvent[];
  pastRuns?: PastRun[];
  /** The prior's suppression rule and the patterns it left out (from the published summary). */
  priorDetail?: { minCount: number; suppressed: string[]; modalities: string[] };
  /** Where differential privacy is on: what has been spent so far, and the budget where one is set. */
  privacy?: { epsilon: number; delta: number; maxEpsilon?: number };
}


/**
 * What the coordinator reports about itself on /api/status, declared once for the server
 * (coordinator/http) and its clients (`fedcausal status`, the dashboard). INTERFACES.md
 * fixes at least { round, state, sites: [{ name, online, lastSeen }] }; the rest may grow.
 */
import type { SecureAggregationReport } from '../secagg/wire.ts';
import type { DebiasingReport } from './debiasing-report.ts';
import type { FederationState, Transition } from './state.ts';
import type { DashboardStatus } from './dashboard-status.ts';
import type { ReadinessReport } from '../readiness/check.ts';
import type { FinalEvaluation } from './final-evaluation.ts';

export interface SiteStatus {
  name: string;
  /** Connected and heard from recently. */
  online: boolean;
  /** ISO 8601 time of the last message from the site; null if never seen. */
  lastSeen: string | null;
  /** Training rounds the site has answered (statistics rounds and the final evaluation not counted; with secure aggregation, rounds whose sum holds its input). */
  roundsCompleted: number;
  /** fedcausal version the site runs, as it said when it joined; absent before its first join. */
  version?: string;
  /** The most recent refused message (bad signature, a second copy of the kit...), for the operator; cleared when the site next completes a training round (with secure aggregation, when its input is in a round's sum). */
  lastError?: string;
  /** ISO 8601 time lastError was recorded. */
  lastErrorAt?: string;
  /** Why the site trains in no round of this run (its statistics were not counted); absent for a site that trains. */
  leftOut?: string;
  /** Its readiness verdict against the federation summary, from the sums it sent in the statistics round. */
  readiness?: ReadinessReport;
}

/** One committed round as the status shows it. */
export interface RoundSummary {
  round: number;
  participants: number;
  failures: number;
  /** Whether the strategy accepted the round (a refused one leaves the model as it was); absent from coordinators before 2026-11-28. */
  accepted?: boolean;
  /** Why it was not accepted. */
  reason?: string;
  /**
   * Federation-level metrics of the round: `train_*` from the sites' training, `eval_*` from their
   * held-out rows, scored with the model the round started from (after round - 1 rounds).
   */
  metrics: Record<string, number>;
  durationMs: number;
}

/** The dashboard's extras (current round, per-site curves, events, past runs) live in dashboard-status.ts. */
export interface FederationStatus extends DashboardStatus {
  federation: string;
  /** The current (or last finished) round, 0 before the first. */
  round: number;
  rounds: number;
  /** shared/federation/state.ts: the lifecycle and its legal moves. */
  state: FederationState;
  /** The last change of state: when and why (e.g. why the run failed). */
  stateChange?: Transition;
  /**
   * Once the run ended: complete, incomplete (finished with rounds not accepted, a final evaluation
   * below the quorum or a test site's missing) or failed. A training site's missing final evaluation,
   * the rest a quorum, leaves the run complete: `final.missing` names it, and the warnings.
   */
  outcome?: 'complete' | 'incomplete' | 'failed';
  /** Once the run ended with a report: its results.json, a path on the coordinator's host. */
  results?: string;
  strategy: string;
  model: string;
  sites: SiteStatus[];
  /** The committed rounds, oldest first: all of them up to STATUS_ROUNDS, then the newest STATUS_RECENT_ROUNDS and a sample of the rest (shared/federation/dashboard-status.ts). */
  history: RoundSummary[];
  /** How many rounds were committed in all (more than `history` holds on a long run; results.json has every one). */
  historyRounds?: number;
  prior?: { version: number; patterns: { pattern: string; p: number }[] };
  debiasing?: DebiasingReport;
  /** Present when fit rounds are securely aggregated (docs/secagg.md). */
  secureAggregation?: SecureAggregationReport;
  /**
   * Once the final evaluation is in: the final model's figures. A round's `eval_*` metrics
   * describe the model the round started from (after round - 1 rounds); these, the model
   * after the last round.
   */
  final?: FinalEvaluation;
}

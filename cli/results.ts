import type { FederationOutcome } from '../coordinator/round-loop.ts';
import type { CalibrationReport } from '../coordinator/calibration.ts';
import type { DebiasingReport } from '../shared/federation/debiasing-report.ts';
import { FEDCAUSAL_BUILD, FEDCAUSAL_VERSION } from '../shared/version.ts';
import type { SiteEvaluation } from '../shared/protocol/messages.ts';
import type { SecureAggregationReport } from '../shared/secagg/wire.ts';
import type { DpReport } from '../shared/privacy/dp.ts';
import type { FinalEvaluation } from '../shared/federation/final-evaluation.ts';

/** The results file of ../shared/docs/INTERFACES.md (extended with history and site-alone metrics). */
export interface ResultsFile {
  /** fedcausal's version. */
  version: string;
  /** The commit it was built from, where known (`fedcausal --version`): builds of one version differ. */
  build?: string;
  /** False when a round was not accepted or a final evaluation is missing; `problems` says which. */
  complete: boolean;
  problems?: string[];
  /** What a complete run lacks (a training site's final evaluation, the rest being a quorum), and what its figures cannot say; empty when nothing is. */
  warnings: string[];
  model: string;
  rounds: number;
  seed: number;
  strategy: string;
  /** The strategy's options the run set (absent: its defaults). */
  strategyOptions?: Readonly<Record<string, number>>;
  /** The model section's settings the run set, as configured (absent: the defaults); `debiasing` says what was decided. */
  modelSettings?: Readonly<Record<string, unknown>>;
  /** Per site, its final evaluation; without `n` in a securely aggregated run (a site's row count stays in the sum). */
  sites: Record<string, SiteEvaluation>;
  testSites: Record<string, SiteEvaluation>;
  localSites?: Record<string, SiteEvaluation>;
  /** A securely aggregated run: the final evaluation pooled over the sites in its sum (docs/secagg.md). */
  pooledEvaluation?: FederationOutcome['pooledEvaluation'];
  /**
   * The final model in one figure, as /api/status `final` gives it: `trainingRounds`, `auroc` (the
   * training sites' AUROCs weighted by their held-out rows; a secure run's pooled figure), the sites
   * asked that sent no final evaluation (`missing`, left out of it) and, in a secure run, the
   * decimals the sites' own figures were rounded to (`siteDecimals`). Per site: `sites`, `testSites`.
   */
  final: Omit<FinalEvaluation, 'sites' | 'testSites'>;
  prior: { pattern: string; p: number }[];
  priorVersion: number;
  debiasing?: DebiasingReport;
  /** Recalibration fitted on the training sites' held-out rows, with ECE before and after per site. */
  calibration?: CalibrationReport;
  /** Present when fit rounds were securely aggregated: the coordinator saw only sums (docs/secagg.md). */
  secureAggregation?: SecureAggregationReport;
  /** With differential privacy on (privacy.dp): ε at δ spent by the run, per round too (shared/privacy/dp.ts). */
  privacy?: DpReport;
  /** SHA-256 of the final global model (model.f32 beside the results file). */
  modelSha256: string;
  history: {
    round: number;
    participants: number;
    failures: number;
    /** Which sites failed the round, and why. */
    failed: { site: string; reason: string }[];
    accepted: boolean;
    metrics: Record<string, number>;
  }[];
}

export function buildResults(o: FederationOutcome): ResultsFile {
  return {
    version: FEDCAUSAL_VERSION,
    ...(FEDCAUSAL_BUILD ? { build: FEDCAUSAL_BUILD } : {}),
    complete: o.problems.length === 0,
    ...(o.problems.length ? { problems: o.problems } : {}),
    warnings: o.warnings,
    model: o.model,
    rounds: o.rounds,
    seed: o.seed,
    strategy: o.strategy,
    ...(o.strategyOptions ? { strategyOptions: o.strategyOptions } : {}),
    ...(o.modelSettings ? { modelSettings: o.modelSettings } : {}),
    sites: o.sites,
    testSites: o.testSites,
    ...(Object.keys(o.localSites).length ? { localSites: o.localSites } : {}),
    prior: o.prior,
    priorVersion: o.priorVersion,
    ...(o.debiasing ? { debiasing: o.debiasing } : {}),
    ...(o.calibration ? { calibration: o.calibration } : {}),
    ...(o.secureAggregation ? { secureAggregation: o.secureAggregation } : {}),
    ...(o.pooledEvaluation ? { pooledEvaluation: o.pooledEvaluation } : {}),
    final: finalSummary(o.final),
    ...(o.privacy ? { privacy: o.privacy } : {}),
    // Two runs with the same seed end with the same model: an interrupted and resumed one included.
    modelSha256: o.modelSha256,
    history: o.history.map((h) => ({
      round: h.round,
      participants: h.participants,
      failures: h.failures,
      failed: h.failed,
      accepted: h.accepted,
      metrics: h.metrics,
    })),
  };
}

/** The final evaluation's one figure and what it leaves out, without the per-site figures `sites` and `testSites` hold. */
function finalSummary(f: FinalEvaluation): ResultsFile['final'] {
  const { sites: _sites, testSites: _tests, ...rest } = f;
  return rest;
}

/** Exit status of a finished run: an incomplete run is a failure (INTERFACES.md), though its results are written. */
export function incompleteRunError(r: ResultsFile): Error | undefined {
  return r.complete ? undefined : new Error(`the run is incomplete: ${r.problems?.join('; ')}`);
}

/**
 * What a round and a run come to, as plain data: the aggregation of one fit round into
 * its record, and the final evaluation into the run's outcome. No waiting, no I/O: the
 * round loop (round-loop.ts) drives, these functions only compute.
 */
import { weightsSha256 } from '../shared/model/bundle.ts';
import type { FeatureSpace } from '../shared/data/feature-space.ts';
import type { OutcomeBalance } from '../shared/data/outcome-balance.ts';
import type { PatternPrior } from '../shared/data/patterns.ts';
import type { Logger } from '../shared/logger.ts';
import type { DpReport } from '../shared/privacy/dp.ts';
import type { EvalMetrics, ModelSpecMsg, SiteEvaluation } from '../shared/protocol/messages.ts';
import { calibrateFromSummed, calibrateFromSums, type CalibrationReport } from './calibration.ts';
import type { RoundCollector } from './collector.ts';
import { autoFlagged, flaggedTreatment, residualWarnings, unjudgedWarning, type DebiasHealth, type DebiasingReport } from '../shared/federation/debiasing-report.ts';
import { readinessWarnings, type Readiness } from './readiness.ts';
import { quorumShortfall } from './strategy/acceptance.ts';
import type { SecureAggregationReport } from '../shared/secagg/wire.ts';
import { REPORT_DECIMALS, type SummedEvaluation } from '../shared/secagg/eval-parts.ts';
import { finalEvaluationOf, type FinalEvaluation } from '../shared/federation/final-evaluation.ts';
import type { Acceptance, AcceptancePolicy, Aggregation, SiteFailure, SiteResult, Strategy, StrategyOptions } from './strategy/strategy.ts';
import { participationWarnings } from './participation.ts';

/** What the statistics rounds agreed: the model to train, the feature space, the prior and the outcome weights. */
export interface FederationSetup {
  spec: ModelSpecMsg;
  space: FeatureSpace;
  prior: PatternPrior;
  balance?: OutcomeBalance;
  /** The published summary and each site's readiness verdict (absent in state written before them). */
  readiness?: Readiness;
  /** Each training site's stage-1 row count, the most weight it may claim (absent in state written before it). */
  siteRows?: Record<string, number>;
  /** Training sites whose statistics were not counted, and why: they train in no round of the run (absent in older state). */
  leftOut?: Record<string, string>;
}

export interface RoundRecord {
  round: number;
  participants: number;
  failures: number;
  failed: SiteFailure[];
  accepted: boolean;
  /** Why the strategy did not accept the round (absent when accepted, and in records saved before it was kept). */
  reason?: string;
  /** Training loss (example-weighted) and the evaluation of the global model the round started from. */
  metrics: Record<string, number>;
  /** The slowest site's local training time: the rest of durationMs is federation overhead. */
  slowestTrainMs: number;
  /** Each site's held-out evaluation of the global model the round started from. */
  siteEvaluations: Record<string, EvalMetrics>;
  /** A debiased model's health figures for this round (from the sites' sums). */
  health?: DebiasHealth;
  durationMs: number;
}

export interface FederationOutcome {
  model: string;
  rounds: number;
  seed: number;
  sites: Record<string, SiteEvaluation>;
  testSites: Record<string, SiteEvaluation>;
  localSites: Record<string, SiteEvaluation>;
  /** A securely aggregated run: the evaluation pooled over the sites in the final evaluation's sum (example-weighted means, their held-out rows). */
  pooledEvaluation?: { sites: string[] } & SummedEvaluation['pooled'];
  prior: { pattern: string; p: number }[];
  priorVersion: number;
  featureSpace: FeatureSpace;
  history: RoundRecord[];
  /** The final global model (float32, canonical parameter order) and its SHA-256, to check two runs ended alike. */
  globalModel: Float32Array;
  modelSha256: string;
  debiasing?: DebiasingReport;
  calibration?: CalibrationReport;
  /** With differential privacy on: what the run spent (set by the caller, from createFederation's privacy()). */
  privacy?: DpReport;
  strategy: string;
  /** The strategy's options the run set (absent: its defaults). */
  strategyOptions?: Readonly<StrategyOptions>;
  /** The model section's settings as configured, before the run's decisions (absent: none set). */
  modelSettings?: Readonly<Record<string, unknown>>;
  /** Why the run is incomplete (rounds not accepted, the final evaluation below quorum or missing a test site); empty when complete. */
  problems: string[];
  /** What a complete run lacks (a training site's final evaluation, the rest being a quorum). */
  warnings: string[];
  /** Present when fit rounds were securely aggregated. */
  secureAggregation?: SecureAggregationReport;
  /** What the final model's scores depend on besides its weights (the run folder's model.json: fedcausal predict). */
  scoring: { spec: ModelSpecMsg; prior: PatternPrior; balance?: OutcomeBalance; round: number };
  /** The final evaluation summed up as every surface gives it (/api/status `final`, results.json `final`). */
  final: FinalEvaluation;
}

/**
 * A global model with a NaN or an infinity is never committed: every site would fail on it
 * next round. Finite updates can still aggregate to one (a server learning rate or mu
 * that overflows), so the round is refused, naming the strategy's settings to check.
 */
export function refuseNonFinite(next: Float32Array | null, strategy: string): { next: Float32Array | null; verdict: Acceptance } {
  const bad = next ? next.findIndex((v) => !Number.isFinite(v)) : -1;
  if (bad < 0) return { next, verdict: { accepted: true } };
  return {
    next: null,
    verdict: { accepted: false, reason: `the ${strategy} aggregate is not finite (parameter ${bad} is ${next![bad]}): check the strategy's options (serverLearningRate, proximalMu, tau)` },
  };
}

/**
 * Asks the strategy whether a fit round counts (it sees the failures too), then aggregates
 * its answers into the next global model (when accepted) and the round's record.
 */
export function aggregateRound(
  round: number,
  c: RoundCollector,
  aggregation: Aggregation,
  strategy: Strategy,
  policy: AcceptancePolicy,
  log: Logger,
): { record: RoundRecord; next: Float32Array | null } {
  // Timings stay out of the aggregated metrics, so results files are identical per seed.
  const results: SiteResult[] = [...c.results].map(([site, m]) => {
    const { trainMs: _t, ...metrics } = m.metrics;
    return { site, numExamples: m.numExamples, metrics, ...(m.controlVariate ? { controlVariate: m.controlVariate } : {}) };
  });
  const failures = [...c.failures.values()];
  let verdict = strategy.acceptFit(round, results, failures, policy);
  let next: Float32Array | null = null;
  if (verdict.accepted) ({ next, verdict } = refuseNonFinite(aggregation.finish(results, failures), strategy.name));
  if (!verdict.accepted) log.warn('round not accepted', { round, results: results.length, failures, reason: verdict.reason });
  for (const w of strategy.takeWarnings?.() ?? []) log.warn(w.message, w.fields);
  const evaluated = [...c.results].filter(([, m]) => m.evaluation);
  // n is the weight of the mean, not a metric to average.
  const evals: SiteResult[] = evaluated.map(([site, m]) => {
    const { n, ...metrics } = m.evaluation!;
    return { site, numExamples: n, metrics };
  });
  const record: RoundRecord = {
    round,
    participants: results.length,
    failures: failures.length,
    failed: failures,
    accepted: verdict.accepted,
    ...(verdict.accepted ? {} : { reason: verdict.reason }),
    metrics: {
      ...prefix('train_', strategy.aggregateEvaluate(round, results)),
      ...prefix('eval_', strategy.aggregateEvaluate(round, evals)),
    },
    slowestTrainMs: Math.max(0, ...[...c.results.values()].map((m) => m.metrics.trainMs ?? 0)),
    siteEvaluations: Object.fromEntries(evaluated.map(([site, m]) => [site, m.evaluation!])),
    durationMs: 0,
  };
  return { record, next };
}

export interface FinalInputs {
  ev: RoundCollector;
  spec: ModelSpecMsg;
  global: Float32Array;
  rounds: number;
  strategy: string;
  strategyOptions?: Readonly<StrategyOptions> | undefined;
  /** The model section as configured (the spec before the debiasing decision). */
  modelSettings?: Readonly<Record<string, unknown>>;
  prior: PatternPrior;
  space: FeatureSpace;
  /** The published outcome-balancing table, where there is one. */
  balance?: OutcomeBalance | undefined;
  /** The final evaluation's round. */
  round: number;
  history: RoundRecord[];
  decisionReport: DebiasingReport | undefined;
  trainingSites: string[];
  /** Training sites left out of every fit round (their statistics were not counted), and why. */
  leftOut?: Record<string, string>;
  /** Each training site's readiness verdict from the statistics round (absent in secure mode and in older state). */
  readiness?: Readiness['sites'];
  testSites: string[];
  minSitesToAccept: number;
  log: Logger;
  secureAggregation?: SecureAggregationReport | undefined;
  /** A securely aggregated final evaluation: its decoded sum, or why it aborted (the sites' own reports are in `ev`). */
  summedEvaluation?: SummedEvaluation | { error: string };
  /** Decimals of a site's own report in a secure final evaluation (secureAggregation.reportDecimals). */
  reportDecimals?: number;
  /** Sites that joined without their schema (an earlier build), with the version each said: their schema.json was never compared. */
  uncheckedSchemas?: Record<string, string>;
}

/** The debiasing report's warnings, short, where a reader of `warnings` alone sees them (the full words are in `debiasing`), each after `debiasing: `. */
function debiasingWarnings(d: DebiasingReport | undefined): string[] {
  const auto = autoFlagged(d);
  return [
    ...(auto.length ? [`${auto.join(', ')} flagged as ${auto.length === 1 ? 'a shortcut' : 'shortcuts'} by auto and ${flaggedTreatment(d!.weighting)} (debiasing.flagged; a real one goes in model.debiasing.trusted)`] : []),
    ...(d?.pattern?.note ? [`the missingness pattern alone tells the label at AUROC ${d.pattern.auroc.toFixed(2)} and pattern-outcome balancing removes it (debiasing.pattern.note says what to weigh)`] : []),
    ...[unjudgedWarning(d)].filter((w) => w !== undefined),
    ...residualWarnings(d),
  ].map((w) => `debiasing: ${w}`);
}

/** The run's outcome from the final evaluation: metrics per site, what is missing, the calibration. */
export function finalOutcome(f: FinalInputs): FederationOutcome {
  const outcome = outcomeHead(f);
  // Secure: each site's own report (rates, no row count); its counts and sums are only in the sum.
  const secure = f.summedEvaluation !== undefined;
  const evaluationOf = (site: string) => (secure ? f.ev.results.get(site)?.report?.evaluation : f.ev.results.get(site)?.evaluation);
  const evaluated = new Set(f.trainingSites.filter((s) => evaluationOf(s)));
  outcome.warnings.push(...participationWarnings(f.trainingSites, f.leftOut ?? {}, f.history, evaluated));
  outcome.warnings.push(...readinessWarnings(f.readiness));
  // A re-try: an earlier build's site with another label definition trained and the run read "complete" with no warning.
  for (const [site, software] of Object.entries(f.uncheckedSchemas ?? {}))
    outcome.warnings.push(
      `site "${site}" sent no schema when it joined (${software ? `fedcausal ${software}, ` : ''}an earlier build): its schema.json was never compared with the federation's; check that its kit holds the coordinator's schema.json (the label's definition above all), or upgrade it`,
    );
  outcome.warnings.push(...debiasingWarnings(f.decisionReport));
  siteEvaluations(outcome, f, evaluationOf, secure);
  missingEvaluations(outcome, f, evaluated.size);
  if (f.summedEvaluation) {
    if ('error' in f.summedEvaluation) outcome.problems.push(`final evaluation not summed: ${f.summedEvaluation.error}`);
    else secureCalibration(outcome, f.summedEvaluation, f, f.log);
  } else plainCalibration(outcome, f);
  outcome.final = finalEvaluationOf({
    trainingRounds: f.round - 1,
    sites: outcome.sites,
    testSites: outcome.testSites,
    ...(outcome.pooledEvaluation ? { pooledEvaluation: outcome.pooledEvaluation } : {}),
    asked: [...f.trainingSites, ...f.testSites],
    ...(secure ? { siteDecimals: f.reportDecimals ?? REPORT_DECIMALS } : {}),
  });
  return outcome;
}

/** What the run was (model, strategy, prior, history, final model) and the rounds it did not accept. */
function outcomeHead(f: FinalInputs): FederationOutcome {
  return {
    model: f.spec.kind,
    rounds: f.rounds,
    seed: f.spec.seed,
    strategy: f.strategy,
    ...(f.strategyOptions ? { strategyOptions: f.strategyOptions } : {}),
    ...(f.modelSettings && Object.keys(f.modelSettings).length ? { modelSettings: f.modelSettings } : {}),
    sites: {},
    testSites: {},
    localSites: {},
    prior: f.prior.patterns,
    priorVersion: f.prior.version,
    featureSpace: f.space,
    history: f.history,
    globalModel: f.global,
    modelSha256: weightsSha256(f.global),
    ...(f.decisionReport ? { debiasing: f.decisionReport } : {}),
    ...(f.secureAggregation ? { secureAggregation: f.secureAggregation } : {}),
    scoring: { spec: f.spec, prior: f.prior, ...(f.balance ? { balance: f.balance } : {}), round: f.round },
    // Set once the evaluations are in (finalOutcome).
    final: { trainingRounds: f.round - 1, sites: {}, testSites: {} },
    warnings: [],
    problems: f.history
      .filter((h) => !h.accepted)
      .map((h) => `round ${h.round} not accepted: ${h.reason ?? quorumShortfall(h.participants, f, h.failed)}`),
  };
}

/** Each site's final evaluation (and local-only baseline), in configured site order, not arrival order, so results files are stable. */
function siteEvaluations(outcome: FederationOutcome, f: FinalInputs, evaluationOf: (site: string) => FederationOutcome['sites'][string] | undefined, secure: boolean): void {
  for (const site of [...f.trainingSites, ...f.testSites]) {
    const m = f.ev.results.get(site);
    const e = evaluationOf(site);
    if (!m || !e) continue;
    (f.testSites.includes(site) ? outcome.testSites : outcome.sites)[site] = e;
    const local = secure ? m.report?.localEvaluation : m.localEvaluation;
    if (local) outcome.localSites[site] = local;
  }
}

/**
 * A training site lost for good is what the quorum tolerates: while the final evaluation
 * still rests on a quorum of training sites (`evaluated` of them), its absence is a warning;
 * below that, or a held-out test site missing (the reason it is in the federation), the run
 * is incomplete.
 */
function missingEvaluations(outcome: FederationOutcome, f: FinalInputs, evaluated: number): void {
  for (const x of f.ev.failures.values()) {
    const message = `final evaluation missing from ${x.site}: ${x.reason}`;
    f.log.warn('final evaluation missing', { ...x });
    if (f.trainingSites.includes(x.site) && evaluated >= f.minSitesToAccept) outcome.warnings.push(message);
    else outcome.problems.push(message);
  }
}

/** The recalibration of a plain run, from each site's calibration sums. */
function plainCalibration(outcome: FederationOutcome, f: FinalInputs): void {
  const results = f.ev.results;
  const sumsOf = (sites: string[], field: 'calibration' | 'siteCalibration') => new Map(sites.flatMap((s) => { const c = results.get(s)?.[field]; return c ? [[s, c] as [string, unknown]] : []; }));
  const calibration = fitOrWarn(outcome, f.log, () => calibrateFromSums(sumsOf(f.trainingSites, 'calibration'), sumsOf(f.testSites, 'calibration'), sumsOf(f.trainingSites, 'siteCalibration')));
  if (calibration) {
    outcome.calibration = calibration;
    f.log.info('calibration fitted on the training sites\' held-out rows', { a: calibration.a, b: calibration.b });
  }
}

/** The pooled evaluation and the recalibration of a secure run, from the decoded sum and the sites' own reports. */
function secureCalibration(outcome: FederationOutcome, s: SummedEvaluation, f: FinalInputs, log: Logger): void {
  outcome.pooledEvaluation = { sites: s.sites ?? [], ...s.pooled };
  const own = Object.fromEntries(
    f.trainingSites.flatMap((site) => {
      const c = f.ev.results.get(site)?.report?.siteCalibration;
      return c ? [[site, c]] : [];
    }),
  );
  const training = f.trainingSites.filter((x) => (s.sites ?? []).includes(x));
  const calibration = fitOrWarn(outcome, log, () => calibrateFromSummed(s.calibration.training, s.calibration.test, training, own));
  if (calibration) {
    outcome.calibration = calibration;
    log.info('calibration fitted on the training sites\' summed held-out rows', { a: calibration.a, b: calibration.b });
  }
}

/**
 * The recalibration, or a warning without it: every site's figures were checked on arrival
 * (result-figures.ts), so a failure here is a fault of ours, and the run's results (every
 * round's model and evaluation) are still written; an exception here once ended a run after
 * its last round with no results at all.
 */
function fitOrWarn(outcome: FederationOutcome, log: Logger, fit: () => CalibrationReport | undefined): CalibrationReport | undefined {
  try {
    return fit();
  } catch (e) {
    const message = `calibration not fitted: ${(e as Error).message.slice(0, 300)}`;
    log.warn('calibration not fitted', { error: (e as Error).message });
    outcome.warnings.push(message);
    return undefined;
  }
}

function prefix(p: string, m: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(m).map(([k, v]) => [p + k, v]));
}

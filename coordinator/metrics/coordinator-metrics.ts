import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { FEDCAUSAL_BUILD, FEDCAUSAL_VERSION } from '../../shared/version.ts';
import { PROTOCOL_VERSION } from '../../shared/protocol/messages.ts';
import { FINAL_AUROC_MEANING, type FinalEvaluation } from '../../shared/federation/final-evaluation.ts';

/** What the metrics read live at each scrape (so no value depends on catching an event). */
export interface MetricsSource {
  round(): number;
  roundsPlanned(): number;
  state(): string;
  /** `leftOut`: why the site trains in no round of this run (absent for a site that trains). */
  sites(): { name: string; online: boolean; leftOut?: string }[];
  /** How the run ended, once it has (`complete`, `incomplete`, `failed`); undefined before. */
  outcome?(): string | undefined;
  /** The final evaluation, once it is in; undefined before. */
  finalEvaluation?(): FinalEvaluation | undefined;
}

/** A committed round, as the metrics need it. */
export interface RoundObservation {
  accepted: boolean;
  durationSeconds: number;
  participants: number;
  metrics: Record<string, number>;
  failed: { site: string; reason: string }[];
}

const ROUND_SECONDS = [1, 2, 5, 10, 30, 60, 120, 300, 600, 1800, 3600];

/** How the run ended, and the final model's AUROC, federation and per site: no sample before each is known. */
function endGauges(source: MetricsSource, registers: Registry[]): void {
  new Gauge({
    name: 'fedcausal_run_complete',
    help: 'Once the run has finished: 1 if complete, 0 if incomplete (its results say why). No sample before (nor for a failed run).',
    registers,
    collect() {
      const outcome = source.outcome?.();
      // An unlabelled gauge reads 0 unless removed: no sample at all until a finished run's outcome is known.
      if (outcome === 'complete' || outcome === 'incomplete') this.set(outcome === 'complete' ? 1 : 0);
      else this.remove();
    },
  });
  new Gauge({
    name: 'fedcausal_final_auroc',
    help: `Once the final evaluation is in: the final model's held-out AUROC, ${FINAL_AUROC_MEANING}. No sample before.`,
    registers,
    collect() {
      const auroc = source.finalEvaluation?.()?.auroc;
      if (auroc !== undefined) this.set(auroc);
      else this.remove();
    },
  });
  new Gauge({
    name: 'fedcausal_final_site_auroc',
    help: "Once the final evaluation is in: the final model's AUROC on each site's held-out rows (test-only sites too; none where a site's rows hold one class).",
    labelNames: ['site'],
    registers,
    collect() {
      this.reset();
      const f = source.finalEvaluation?.();
      for (const [site, e] of Object.entries({ ...f?.sites, ...f?.testSites })) if (typeof e.auroc === 'number' && Number.isFinite(e.auroc)) this.set({ site }, e.auroc);
    },
  });
}

/** The usual build-info gauge: which release answers here, so a mixed network can be seen (an outside try). */
function buildInfo(registers: Registry[]): void {
  new Gauge({ name: 'fedcausal_build_info', help: 'Always 1: the fedcausal version, build (commit) and protocol of this coordinator.', labelNames: ['version', 'build', 'protocol'], registers }).set(
    { version: FEDCAUSAL_VERSION, build: FEDCAUSAL_BUILD ?? 'unknown', protocol: String(PROTOCOL_VERSION) },
    1,
  );
}

/**
 * The coordinator's /metrics (prom-client): every metric declared once, here, with one
 * help text and its unit in the name. Counters for what only rises (rounds, refusals,
 * failures, bytes), histograms for durations (a 10 s scrape misses no round), gauges read
 * live from the federation at scrape time, plus process and Node.js runtime metrics.
 */
const METRIC_PREFIX = 'fedcausal_';

export class CoordinatorMetrics {
  readonly registry = new Registry();
  private readonly roundsTotal: Counter<'outcome'>;
  private readonly roundDuration: Histogram;
  private readonly phaseDuration: Histogram<'phase'>;
  private readonly participants: Gauge;
  private readonly roundMetric: Gauge<'metric'>;
  private readonly siteFailures: Counter<'site' | 'reason'>;
  private readonly refusals: Counter<'reason' | 'site'>;
  private readonly bytes: Counter<'direction'>;
  private readonly httpRequests: Counter<'path'>;
  private readonly debias: {
    association: Gauge<'feature'>;
    reliance: Gauge<'feature'>;
    conflictingShare: Gauge;
    effectiveSampleSize: Gauge;
    priorDrift: Gauge;
    temper: Gauge;
    tempered: Counter;
  };

  constructor(source: MetricsSource, knownStates: readonly string[]) {
    const registers = [this.registry];
    // Prefixed like ours: the stable interface promises every metric name starts fedcausal_ (an outside try found 25 that did not).
    collectDefaultMetrics({ register: this.registry, prefix: METRIC_PREFIX });
    // Three of prom-client's defaults are gauges named like counters (promtool's lint refuses
    // them); the same figures stay available by type in nodejs_active_handles, _requests, _resources.
    for (const name of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']) this.registry.removeSingleMetric(METRIC_PREFIX + name);
    buildInfo(registers);
    new Gauge({ name: 'fedcausal_round', help: 'The federated round in progress (0 before the first).', registers, collect() { this.set(source.round()); } });
    new Gauge({ name: 'fedcausal_rounds_planned', help: 'Rounds this run is configured for.', registers, collect() { this.set(source.roundsPlanned()); } });
    new Gauge({
      name: 'fedcausal_federation_state',
      help: 'The federation state: 1 for the current one, 0 for the others.',
      labelNames: ['state'],
      registers,
      collect() {
        const now = source.state();
        for (const s of new Set([...knownStates, now])) this.set({ state: s }, s === now ? 1 : 0);
      },
    });
    new Gauge({
      name: 'fedcausal_federation_training',
      help: '1 from the first training round to the final evaluation, waiting for sites between rounds included (the alert on missing rounds reads it).',
      registers,
      collect() {
        this.set(runningRounds(source.state(), source.round()) ? 1 : 0);
      },
    });
    new Gauge({ name: 'fedcausal_sites_enrolled', help: 'Sites in the signed manifest.', registers, collect() { this.set(source.sites().length); } });
    new Gauge({ name: 'fedcausal_sites_connected', help: 'Sites connected now.', registers, collect() { this.set(source.sites().filter((s) => s.online).length); } });
    new Gauge({
      name: 'fedcausal_site_online',
      help: 'Whether an enrolled site is connected (1) or not (0).',
      labelNames: ['site'],
      registers,
      collect() {
        for (const s of source.sites()) this.set({ site: s.name }, s.online ? 1 : 0);
      },
    });
    new Gauge({
      name: 'fedcausal_site_left_out',
      help: 'Whether an enrolled site is left out of training in this run (1: its statistics were not counted, it trains in no round) or not (0).',
      labelNames: ['site'],
      registers,
      collect() {
        for (const s of source.sites()) this.set({ site: s.name }, s.leftOut ? 1 : 0);
      },
    });
    endGauges(source, registers);
    this.roundsTotal = new Counter({ name: 'fedcausal_rounds_total', help: 'Rounds committed, by whether their aggregate was accepted.', labelNames: ['outcome'], registers });
    // Both outcomes from 0 at start: increase() sees the first accepted round (a series born at 1 shows none), and the
    // alert on missing rounds (deploy/prometheus/alerts.yml) reads the accepted series.
    for (const outcome of ['accepted', 'rejected']) this.roundsTotal.inc({ outcome }, 0);
    this.roundDuration = new Histogram({ name: 'fedcausal_round_duration_seconds', help: 'Wall time of a committed round.', buckets: ROUND_SECONDS, registers });
    this.phaseDuration = new Histogram({ name: 'fedcausal_phase_duration_seconds', help: 'Wall time of a round phase (configure, collect, aggregate, evaluate, commit).', labelNames: ['phase'], buckets: ROUND_SECONDS, registers });
    this.participants = new Gauge({ name: 'fedcausal_round_participants', help: 'Sites whose update was aggregated in the last committed round.', registers });
    this.roundMetric = new Gauge({ name: 'fedcausal_round_metric', help: 'Federation-level metric of the last committed round (loss, auroc, ...): eval_* score the model the round started from (after round - 1 rounds); fedcausal_final_auroc, the final model.', labelNames: ['metric'], registers });
    this.siteFailures = new Counter({ name: 'fedcausal_site_failures_total', help: 'Sites that failed a round, by site and reason.', labelNames: ['site', 'reason'], registers });
    this.refusals = new Counter({
      name: 'fedcausal_refusals_total',
      help: 'Messages refused by the coordinator, by reason and site (a site is named only once its signature verified; otherwise "unknown").',
      labelNames: ['reason', 'site'],
      registers,
    });
    this.bytes = new Counter({ name: 'fedcausal_payload_bytes_total', help: 'Payload bytes exchanged with the sites, by direction (in: from sites, out: to sites).', labelNames: ['direction'], registers });
    this.httpRequests = new Counter({ name: 'fedcausal_http_requests_total', help: 'HTTP requests served, by endpoint.', labelNames: ['path'], registers });
    this.debias = {
      association: new Gauge({ name: 'fedcausal_debias_weighted_association', help: 'Weighted AUROC of a flagged reading against the label in the training rows (0.5 balanced, below reversed).', labelNames: ['feature'], registers }),
      reliance: new Gauge({ name: 'fedcausal_debias_reliance', help: 'Within-class correlation of the model score with a flagged reading (0 unused, below 0 reversed).', labelNames: ['feature'], registers }),
      conflictingShare: new Gauge({ name: 'fedcausal_debias_conflicting_share_ratio', help: 'Share of training weight on up-weighted (bias-conflicting) rows.', registers }),
      effectiveSampleSize: new Gauge({ name: 'fedcausal_debias_effective_sample_size_ratio', help: 'Effective sample size of the training weights, as a share of the rows.', registers }),
      priorDrift: new Gauge({ name: 'fedcausal_debias_prior_drift_ratio', help: 'Total variation distance of the pattern prior from the previous round.', registers }),
      temper: new Gauge({ name: 'fedcausal_debias_temper_ratio', help: 'Tempering factor of the debiasing weights (1 = full strength).', registers }),
      tempered: new Counter({ name: 'fedcausal_debias_tempered_total', help: 'Rounds after which the debiasing weights were tempered.', registers }),
    };
  }

  roundCommitted(r: RoundObservation): void {
    this.roundsTotal.inc({ outcome: r.accepted ? 'accepted' : 'rejected' });
    this.roundDuration.observe(r.durationSeconds);
    this.participants.set(r.participants);
    for (const [metric, v] of Object.entries(r.metrics)) if (Number.isFinite(v)) this.roundMetric.set({ metric }, v);
    for (const f of r.failed) this.siteFailures.inc({ site: f.site, reason: reasonLabel(f.reason) });
  }

  phase(phase: string, seconds: number): void {
    this.phaseDuration.observe({ phase }, seconds);
  }

  refused(reason: string, site: string | undefined): void {
    this.refusals.inc({ reason, site: site ?? 'unknown' });
  }

  payloadBytes(direction: 'in' | 'out', bytes: number): void {
    this.bytes.inc({ direction }, bytes);
  }

  httpRequest(path: string): void {
    this.httpRequests.inc({ path });
  }

  debiasHealth(h: {
    weightedAssociation: Record<string, number>;
    reliance: Record<string, number>;
    conflictingShare: number;
    effectiveSampleSize: number;
    priorDrift: number;
    temper: number;
    tempered: boolean;
  }): void {
    for (const [feature, v] of Object.entries(h.weightedAssociation)) if (Number.isFinite(v)) this.debias.association.set({ feature }, v);
    for (const [feature, v] of Object.entries(h.reliance)) if (Number.isFinite(v)) this.debias.reliance.set({ feature }, v);
    if (Number.isFinite(h.conflictingShare)) this.debias.conflictingShare.set(h.conflictingShare);
    if (Number.isFinite(h.effectiveSampleSize)) this.debias.effectiveSampleSize.set(h.effectiveSampleSize);
    if (Number.isFinite(h.priorDrift)) this.debias.priorDrift.set(h.priorDrift);
    if (Number.isFinite(h.temper)) this.debias.temper.set(h.temper);
    if (h.tempered) this.debias.tempered.inc();
  }

  /** The exposition text and its content type, for the HTTP handler. */
  async render(): Promise<{ body: string; contentType: string }> {
    return { body: await this.registry.metrics(), contentType: this.registry.contentType };
  }
}

/**
 * Between the first training round and the final evaluation: training, aggregating, committed,
 * or waiting for a round's quorum (a stall there is what the missing-rounds alert is for).
 */
function runningRounds(state: string, round: number): boolean {
  return state === 'training' || state === 'aggregating' || state === 'committed' || (state === 'waiting-for-sites' && round > 0);
}

/** The live gauges read the same status `/api/status` serves. */
export function metricsSourceFromStatus(status: () => { round: number; rounds: number; state: string; sites: { name: string; online: boolean; leftOut?: string }[]; outcome?: string; final?: FinalEvaluation }): MetricsSource {
  return {
    round: () => status().round,
    roundsPlanned: () => status().rounds,
    state: () => status().state,
    sites: () => status().sites,
    outcome: () => status().outcome,
    finalEvaluation: () => status().final,
  };
}

const SITE_REPORTED = 'site reported a failure';

/**
 * A failure reason as a label: numbers dropped (deadlines, sizes) and length bounded, so the
 * series stay few, and worded to read without them: "no answer within the 60s round deadline"
 * is "no answer within the round deadline", "not back within 30s" is "not back within the time
 * allowed"; any other number is N.
 */
export function reasonLabel(reason: string): string {
  // A site's own words vary as it likes: each text would be a series (a hostile site grew them every round).
  if (reason.startsWith(SITE_REPORTED)) return SITE_REPORTED;
  return reason
    .replace(/\bthe \d+(\.\d+)?\s?m?s (?=[a-z])/g, 'the ')
    .replace(/\bwithin \d+(\.\d+)?\s?m?s\b/g, 'within the time allowed')
    .replace(/\d+(\.\d+)?/g, 'N')
    .slice(0, 80);
}

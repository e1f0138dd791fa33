/**
 * The coordinator's side of a secure fit round (docs/secagg.md), on the round loop's
 * task/result exchange: the fit results carry key advertisements, then four 'secagg'
 * exchanges (ShareKeys, MaskedInput, ConsistencyCheck, Unmasking) each run as a round of
 * their own through the same collector. Only the sum of the sites' encoded vectors is
 * ever decoded: sum n_u w_u, sum n_u and the example-weighted metric sums (a debiased
 * model's health sums and pattern counts too). The strategy gets the weighted mean as one
 * aggregate; per-site values never reach it.
 */
import { randomBytes } from 'node:crypto';
import { ProtocolError, StorageError } from '../shared/errors.ts';
import type { Logger } from '../shared/logger.ts';
import type { ResultMeta } from '../shared/protocol/messages.ts';
import type { SecAggConfig } from '../shared/secagg/config.ts';
import { SecAggCoordinator } from '../shared/secagg/coordinator.ts';
import { debiasFromSum, type SecureDebias } from '../shared/secagg/debias-parts.ts';
import { EVALUATION_SUM, evaluationLayout } from '../shared/secagg/eval-parts.ts';
import { SecAggAbort, SecAggRefusal } from '../shared/secagg/errors.ts';
import type { VectorLayout } from '../shared/secagg/layout.ts';
import { RoundPlan } from '../shared/secagg/round-plan.ts';
import {
  advertFromWire,
  advertToWire,
  requestToWire,
  responseFromWire,
  phaseOf,
  purposeOf,
  SECAGG_PHASE,
  secaggStage,
  SECURE_METRICS,
  secureFitLayout,
  shareFromWire,
  shareToWire,
  signatureFromWire,
  toB64,
  type SecAggTask,
  type SecureAggregationReport,
  type SecureFitTask,
} from '../shared/secagg/wire.ts';
import type { RoundCollector } from './collector.ts';
import { refuseNonFinite, type RoundRecord } from './round-outcome.ts';
import type { AcceptancePolicy, Aggregation, SiteFailure, SiteResult, Strategy } from './strategy/strategy.ts';

/** Runs one 'secagg' exchange (stage = phase) with `sites`, each task carrying `secagg`; undefined once the run is stopping. */
export type RunPhase = (stage: number, sites: string[], secagg: SecAggTask) => Promise<RoundCollector | undefined>;

const SESSION_NONCE_BYTES = 8;

type Replay = (on: (o: number, v: Float32Array) => void) => void;

/** A message a site sent must be its own, not one it names another site in. */
function own<T extends { site: string }>(site: string, m: T, what: string): T {
  if (m.site !== site) throw new SecAggRefusal(`${site} sent ${what} for ${m.site}`, 'misaddressed');
  return m;
}

/** The aggregate's name in the strategy's bookkeeping: it sees one contribution, the sum. */
const SUM_SITE = 'secure-sum';

interface Active {
  plan: RoundPlan;
  layout: VectorLayout;
  coordinator: SecAggCoordinator;
  debias: SecureDebias | undefined;
  /** The task whose results carry the key advertisements: a fit round, a statistics stage or the final evaluation. */
  kind: 'fit' | 'stats' | 'evaluate';
  stage: number | undefined;
  /** The tens digit of its phases' 'secagg' stages. */
  purpose: number;
}

/** What a secure sum gives: the decoded totals, the sites in them, and who failed on the way. */
export interface SecureSum {
  /** The secure session the sum ran under. */
  session: string;
  sums: Record<string, Float64Array>;
  included: string[];
  failures: Map<string, SiteFailure>;
}


/** What the round loop gets from a secure round: its record, the next model, and a debiased round's summed figures. */
export interface SecureRoundResult {
  record: RoundRecord;
  next: Float32Array | null;
  /** The federation's health sums and pattern counts, as one result (the debias monitor's input); absent when the round aborted. */
  summed?: Pick<ResultMeta, 'health' | 'patternCounts'>;
}

export class SecureAggregator {
  private active: Active | undefined;
  private last: { threshold: number; fractionalBits: number } | undefined;

  constructor(
    private readonly o: {
      federation: string;
      config: SecAggConfig;
      signingKey: (site: string) => Uint8Array | undefined;
      log: Logger;
    },
  ) {}

  get config(): SecAggConfig {
    return this.o.config;
  }

  get summary(): SecureAggregationReport {
    const c = this.o.config;
    return { enabled: true, ...this.last, minSites: c.minSites, clipBound: c.clipBound, maxExamples: c.maxExamples, ...(c.neighbours ? { neighbours: c.neighbours } : {}) };
  }

  /** What the fit task of `round` adds: its session, the settings, the invited sites' enrolled keys (and a debiased round's parts). */
  fitTask(round: number, sites: string[], modelSize: number, debias?: SecureDebias): SecureFitTask {
    const task = this.open({ kind: 'fit', stage: undefined, purpose: 0 }, round, sites, (maxSites) => secureFitLayout(modelSize, maxSites, this.o.config, debias), debias);
    this.last = { threshold: this.active!.plan.threshold, fractionalBits: this.active!.layout.part('weightedUpdate').fractionalBits };
    return { ...task, ...(debias ? { debias } : {}) };
  }

  /** What statistics stage `stage`'s task adds to make it a secure sum of `layoutFor`'s vector (stats-parts.ts). */
  statsTask(round: number, stage: number, sites: string[], layoutFor: (maxSites: number) => VectorLayout): SecureFitTask {
    return this.open({ kind: 'stats', stage, purpose: stage }, round, sites, layoutFor);
  }

  /** What the final evaluation's task adds: every evaluated site sums its held-out count, metrics and calibration sums (eval-parts.ts). */
  evaluationTask(round: number, sites: string[], testSites: string[]): SecureFitTask {
    const task = this.open({ kind: 'evaluate', stage: undefined, purpose: EVALUATION_SUM }, round, sites, (maxSites) => evaluationLayout(this.o.config, maxSites));
    return { ...task, testSites };
  }

  private open(what: Pick<Active, 'kind' | 'stage' | 'purpose'>, round: number, sites: string[], layoutFor: (maxSites: number) => VectorLayout, debias?: SecureDebias): SecureFitTask {
    // Fresh per attempt: a round a restarted coordinator runs again is another session, never a second use of the first one's.
    const name = what.kind === 'stats' ? `stats-${what.stage}` : what.kind;
    const session = `${this.o.federation}/${round}/${name}/${randomBytes(SESSION_NONCE_BYTES).toString('hex')}`;
    const keys = new Map<string, Uint8Array>();
    for (const s of sites) {
      const k = this.o.signingKey(s);
      if (!k) throw new Error(`secure aggregation: site "${s}" has no enrolled signing key`);
      keys.set(s, k);
    }
    const plan = new RoundPlan(session, keys, this.o.config);
    const layout = layoutFor(plan.sites.length);
    this.active = { plan, layout, coordinator: new SecAggCoordinator(plan, layout.length), debias, ...what };
    return { session, config: this.o.config, roster: Object.fromEntries([...keys].map(([s, k]) => [s, toB64(k)])) };
  }

  /** Whether a result of this kind and stage belongs to the open secure sum (its advertisement or one of its phases). */
  owns(kind: string, stage: number | undefined): boolean {
    const a = this.active;
    if (!a) return false;
    if (kind === 'secagg') return purposeOf(stage) === a.purpose;
    return kind === a.kind && stage === a.stage;
  }

  /**
   * The most payload bytes a secure result may claim (checked before spooling): the masked
   * input carries the ring vector, every other one only its meta; undefined when `kind` is
   * not a secure one (the plain bound applies).
   */
  maxResultPayload(kind: string, stage: number | undefined, metaBytes: number): number | undefined {
    if (!this.owns(kind, stage)) return undefined;
    const a = this.active;
    return 4 + metaBytes + (kind === 'secagg' && phaseOf(stage) === SECAGG_PHASE.mask && a ? 4 * a.layout.length : 0);
  }

  /**
   * A result of a secure fit round or one of its phases, checked and folded in as it
   * arrives (a masked vector goes into the running sum, never kept). A refusal throws
   * ProtocolError: the endpoint refuses the message and the site fails this phase.
   */
  deliver(site: string, kind: string, stage: number | undefined, meta: ResultMeta, replay: (on: (o: number, v: Float32Array) => void) => void): void {
    const a = this.active;
    if (!a || !this.owns(kind, stage)) throw new ProtocolError(`no secure round open for a ${kind} result from "${site}"`, 'not-expected');
    const s = meta.secagg;
    if (!s) throw new ProtocolError(`a secure ${kind} result from "${site}" without its secagg field`, 'malformed');
    try {
      const phase = kind === 'secagg' ? phaseOf(stage) : 0;
      const handle = this.phases[phase];
      if (!handle) throw new SecAggRefusal(`unknown secure aggregation phase ${String(stage)}`, 'malformed');
      handle(a, site, s, meta, replay);
    } catch (e) {
      // The coordinator's own disk failing (reading a spooled masked vector) is not the site's refusal.
      if (e instanceof StorageError) throw e;
      const reason = e instanceof SecAggRefusal ? e.reason : 'malformed';
      throw new ProtocolError(`secure aggregation refused (${reason}): ${(e as Error).message}`, reason === 'bad-signature' ? 'bad-signature' : 'malformed', { cause: e });
    }
  }

  /** Per phase (0: the fit result's advertisement, then the 'secagg' stages), how a site's answer is checked and folded in. */
  private readonly phases: Record<number, (a: Active, site: string, s: Record<string, unknown>, meta: ResultMeta, replay: Replay) => void> = {
    0: (a, site, s, meta) => {
      if (meta.weights !== 0) throw new SecAggRefusal(`a secure ${a.kind} result from ${site} carries ${meta.weights} plain weights`, 'malformed');
      // The advertisement is all it may carry: a count or a sum beside it would be a site's own value in the clear.
      const extra: string[] = (['featureStats', 'patternCounts', 'classMoments', 'classMomentsWithinSite', 'cellCounts', 'health', 'evaluation', 'localEvaluation', 'calibration', 'siteCalibration'] as const).filter((f) => meta[f] !== undefined);
      if (meta.report !== undefined && a.kind !== 'evaluate') extra.push('report');
      if (extra.length > 0 || meta.numExamples !== 0) throw new SecAggRefusal(`a secure ${a.kind} result from ${site} carries ${extra.length > 0 ? extra.join(', ') : 'an example count'} in the clear`, 'malformed');
      a.coordinator.receiveAdvertisement(own(site, advertFromWire(s.advert), 'a key advertisement'));
    },
    [SECAGG_PHASE.share]: (a, site, s) => {
      if (!Array.isArray(s.shares)) throw new SecAggRefusal(`shares from ${site} must be a list`, 'malformed');
      a.coordinator.receiveShares({ site, shares: s.shares.map(shareFromWire) });
    },
    [SECAGG_PHASE.mask]: (a, site, _s, meta, replay) => {
      if (meta.weights !== a.layout.length) throw new SecAggRefusal(`the masked input from ${site} has ${meta.weights} values, expected ${a.layout.length}`, 'malformed');
      // One site's vector at a time, added to the running sum at once (the float32 frame carries ring words bit for bit).
      const masked = new Uint32Array(a.layout.length);
      replay((offset, v) => masked.set(new Uint32Array(v.buffer, v.byteOffset, v.length), offset));
      a.coordinator.receiveMaskedInput({ site, masked });
    },
    [SECAGG_PHASE.confirm]: (a, site, s) => a.coordinator.receiveSurvivorSignature(own(site, signatureFromWire(s.signature), 'a survivor signature')),
    [SECAGG_PHASE.unmask]: (a, site, s) => a.coordinator.receiveUnmaskResponse(own(site, responseFromWire(s.response), 'an unmasking answer')),
  };

  /**
   * Runs the phases after the fit round `fit` and aggregates: returns the round's record,
   * the next global model and the summed debiasing figures, or a record not accepted (the
   * reason: too few sites at some phase, SecAggAbort) and null.
   */
  async aggregate(round: number, fit: RoundCollector, aggregation: Aggregation, strategy: Strategy, policy: AcceptancePolicy, runPhase: RunPhase): Promise<SecureRoundResult> {
    const slowestTrainMs = Math.max(0, ...[...fit.results.values()].map((m) => m.metrics.trainMs ?? 0));
    const base = (participants: string[], failures: Map<string, SiteFailure>): RoundRecord => ({
      round,
      participants: participants.length,
      failures: failures.size,
      failed: [...failures.values()],
      accepted: false,
      metrics: {},
      slowestTrainMs,
      siteEvaluations: {},
      durationMs: 0,
    });
    const debias = this.active?.debias;
    const failures = new Map<string, SiteFailure>(fit.failures);
    try {
      // A sum of fewer than minSites would be so few sites' updates and counts that the minimum is there against it (a re-review: 2 of 3 at threshold 2).
      const atLeastMin = (survivors: readonly string[]) => {
        if (survivors.length < this.config.minSites)
          throw new SecAggAbort(`only ${survivors.length} sites' inputs reached the sum, fewer than secure aggregation's minimum of ${this.config.minSites} (secureAggregation.minSites); nothing is decoded`);
      };
      const { sums, included } = await this.collect(fit, runPhase, failures, atLeastMin);
      const total = sums.numExamples![0]!;
      const results: SiteResult[] = included.map((site) => ({ site, numExamples: 0, metrics: {} }));
      let verdict = strategy.acceptFit(round, results, [...failures.values()], policy);
      let next: Float32Array | null = null;
      if (verdict.accepted && total > 0) {
        const w = sums.weightedUpdate!;
        const mean = new Float32Array(w.length);
        for (let i = 0; i < w.length; i++) mean[i] = w[i]! / total;
        aggregation.add(SUM_SITE, total, 0, mean);
        ({ next, verdict } = refuseNonFinite(aggregation.finish([{ site: SUM_SITE, numExamples: total, metrics: {} }], [...failures.values()]), strategy.name));
        if (!verdict.accepted) this.o.log.warn('round not accepted', { round, reason: verdict.reason });
      }
      const record = { ...base(included, failures), accepted: verdict.accepted, ...(verdict.accepted ? {} : { reason: verdict.reason }), metrics: metricMeans(sums) };
      this.o.log.info('secure round aggregated', { round, included: included.length, accepted: verdict.accepted });
      return { record, next, ...(debias ? { summed: debiasFromSum(debias, sums) } : {}) };
    } catch (e) {
      if (!(e instanceof SecAggAbort)) throw e;
      this.o.log.warn('secure round aborted', { round, reason: e.message });
      return { record: { ...base([], failures), reason: e.message }, next: null };
    }
  }

  /**
   * Runs the four phases after the task whose results carried the advertisements (`first`)
   * and decodes the sum. `failures` collects who failed on the way (a survivor whose input
   * is in the sum is not one). Throws SecAggAbort below the threshold: no sum is released.
   */
  async collect(
    first: RoundCollector,
    runPhase: RunPhase,
    failures = new Map<string, SiteFailure>(first.failures),
    /** Throws SecAggAbort where the sum over these survivors must not be decoded; before any survivor is asked to unmask. */
    checkSurvivors?: (survivors: readonly string[]) => void,
  ): Promise<SecureSum> {
    const a = this.active;
    if (!a) throw new Error(`secure ${first.kind} round ${first.round}: no secure task was prepared`);
    const note = (c: RoundCollector) => {
      for (const f of c.failures.values()) if (!failures.has(f.site)) failures.set(f.site, f);
    };
    try {
      // Refusals of the phase that fell below the threshold: an abort says why the sites would not go on.
      let refusals: SiteFailure[] = [];
      const phase = async (p: number, sites: string[], task: Omit<SecAggTask, 'session'>) => {
        const c = await runPhase(secaggStage(a.purpose, p), sites, { session: a.plan.session, ...task });
        if (!c) throw new SecAggAbort(`secure round ${a.plan.session} stopped: the coordinator is shutting down`);
        note(c);
        refusals = [...c.failures.values()];
      };
      const end = <T>(f: () => T): T => {
        try {
          return f();
        } catch (e) {
          throw e instanceof SecAggAbort && refusals.length > 0 ? new SecAggAbort(`${e.message}. ${sitesSaid(refusals)}`) : e;
        }
      };
      const adverts = a.coordinator.endAdvertise();
      await phase(SECAGG_PHASE.share, adverts.map((x) => x.site), { adverts: adverts.map(advertToWire) });
      const routed = end(() => a.coordinator.endShareKeys());
      await phase(SECAGG_PHASE.mask, [...routed.keys()], { shares: [...routed.values()].flat().map(shareToWire) });
      const list = end(() => a.coordinator.endMaskedInput());
      checkSurvivors?.(list.survivors);
      await phase(SECAGG_PHASE.confirm, list.survivors, { survivors: list.survivors });
      const request = end(() => a.coordinator.endConsistencyCheck());
      await phase(SECAGG_PHASE.unmask, request.survivors, { request: requestToWire(request) });
      const result = await a.coordinator.finish();
      // A survivor that answered no later phase is still in the sum (its input is); it is not a failure of this round.
      for (const s of result.included) failures.delete(s);
      this.o.log.info('secure sum decoded', { session: a.plan.session, included: result.included.length, dropped: result.dropped, threshold: a.plan.threshold });
      const sums = a.layout.decodeSum(result.sum);
      // A site that wrote its ring words itself (past its clipping) shows only here: refuse the totals, never use them.
      const bad = a.layout.outOfRange(sums, result.included.length);
      if (bad) throw new SecAggAbort(`secure sum ${a.plan.session} refused: ${bad}; a site sent values outside its bounds`);
      return { session: a.plan.session, sums, included: result.included, failures };
    } finally {
      this.active = undefined;
    }
  }
}

/** The sites' reasons, each once with the sites that gave it ("cleveland, va: <reason>"). */
function sitesSaid(failures: readonly SiteFailure[]): string {
  const by = new Map<string, string[]>();
  for (const f of failures) by.set(f.reason, [...(by.get(f.reason) ?? []), f.site]);
  return `The sites said: ${[...by].map(([reason, sites]) => `${sites.sort().join(', ')}: ${reason}`).join('; ')}`;
}

/** train_loss, eval_auroc...: the example-weighted means the plain round reports, from the summed (weight, weight * value) pairs. */
function metricMeans(sums: Record<string, Float64Array>): Record<string, number> {
  const out: Record<string, number> = {};
  SECURE_METRICS.forEach(({ name }, i) => {
    const w = sums.metricWeights![i]!;
    if (w > 0) out[name.replace('.', '_')] = sums[name]![0]! / w;
  });
  return out;
}

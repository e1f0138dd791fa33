import type { Schema } from '../shared/data/schema.ts';
import { InputError, StorageError } from '../shared/errors.ts';
import { FederationStateMachine, type FederationState, type Transition } from '../shared/federation/state.ts';
import type { Logger } from '../shared/logger.ts';
import type { ModelSpecMsg, ResultMeta, TaskKind, TaskMeta } from '../shared/protocol/messages.ts';
import type { WireMessage } from '../shared/transport/types.ts';
import type { RoundCollector } from './collector.ts';
import { crashPoint } from '../shared/crash-points.ts';
import type { SiteDirectory } from './directory.ts';
import type { RoundGate } from './coordinator-service.ts';
import { plainStatistics, type RunStatsRound } from './statistics-rounds.ts';
import { RunSetup } from './run-setup.ts';
import { STATS_STAGE } from '../shared/protocol/task-meta.ts';
import { SecurePhases } from './secure-phases.ts';
import { DebiasMonitor } from './debias-monitor.ts';
import type { ModelHooks } from './model-hooks.ts';
import { finalLogFields, type FinalEvaluation } from '../shared/federation/final-evaluation.ts';
import { aggregateRound, finalOutcome, type FederationOutcome, type FederationSetup, type RoundRecord } from './round-outcome.ts';
import type { CoordinatorStore, SavedState } from './state/store.ts';
import { roundNeed, waitForRoundQuorum, waitForStartQuorum, type Quorum } from './start-quorum.ts';
import type { Aggregation, RoundConfig, Strategy } from './strategy/strategy.ts';
import type { SecureAggregator } from './secure-round.ts';
import { DEFAULT_RESULT_BOUNDS, type ResultBounds } from './result-bounds.ts';
import type { Replay } from './update-clip.ts';
import { ResultAdmission } from './result-admission.ts';
import { Participation } from './participation.ts';
import { RoundExchange, type RoundExchangeOptions } from './round-exchange.ts';
import { EndNotice, endMessages } from './end-notice.ts';

/** What every fit and evaluation task of a run carries besides its config: the agreed setup. */
type FitContext = Pick<TaskMeta, 'featureSpace' | 'prior' | 'model' | 'balance'>;

export type { Quorum } from './start-quorum.ts';
export type { RoundRecord, FederationOutcome, FederationSetup } from './round-outcome.ts';

export interface RoundLoopOptions extends Pick<RoundExchangeOptions, 'declared' | 'transfers'> {
  federation: string;
  rounds: number;
  model: ModelSpecMsg;
  strategy: Strategy;
  trainingSites: string[];
  testSites: string[];
  quorum: Quorum;
  schema: Schema;
  minCellCount: number;
  /** Undeclared category values rarer than this federation-wide fold into "other" (default DEFAULT_MIN_CATEGORY_COUNT). */
  minCategoryCount?: number;
  /** Scalars every fit task carries (merged with the strategy's configureFit). */
  baseConfig: RoundConfig;
  /** Final evaluation: also train a local-only model per site for comparison. */
  localBaseline: boolean;
  directory: SiteDirectory;
  /** Seals a task for one site; `kind` is unique per round (task-stats-1, task-fit, task-end...) for replay checks. */
  seal: (site: string, round: number, kind: string, payload: Uint8Array) => WireMessage;
  hooks: ModelHooks;
  secure?: SecureAggregator; // secure aggregation of fit rounds (secure-round.ts): the coordinator learns only sums
  /** Durable state: each committed round is saved, a restart resumes from the last one, and the end marks it finished. */
  store?: CoordinatorStore;
  /** What one site may claim in a result (coordinator.yaml `limits`); DEFAULT_RESULT_BOUNDS when absent. */
  bounds?: ResultBounds;
  log: Logger;
  onEvent?: (e: { type: 'state'; state: FederationState; round: number } | { type: 'round'; record: RoundRecord }) => void;
}

/**
 * The round loop, written once: wait for quorum -> agree statistics -> for each round:
 * configure -> collect -> ask the strategy -> aggregate -> commit; then a final
 * evaluation and 'end'. Strategies only fill the hooks. Every change of state goes
 * through its FederationStateMachine (shared/federation/state.ts).
 */
export class RoundLoop implements RoundGate {
  readonly federation: string;
  round = 0;
  private readonly lifecycle = new FederationStateMachine((t) => {
    this.logState(t);
    this.o.onEvent?.({ type: 'state', state: t.to, round: t.round });
    crashPoint(t.to, t.round);
  });
  /** Tasks out, results in, one round at a time; the endpoint's side of the gate (round-exchange.ts). */
  private readonly exchange: RoundExchange;
  /** What the statistics rounds agreed (or a restart restored): the prior, readiness, decision and each site's rows (/api/status reads it). */
  readonly agreed: RunSetup;
  /** The checks of each result as it arrives, and a fit round's held updates. */
  private readonly admission: ResultAdmission;
  /** The training sites this run trains with, and those it left out (participation.ts). */
  private readonly participation: Participation;
  private readonly bounds: ResultBounds;
  /** Aborted by stop(): ends the quorum wait at once; its reason is the stop's. */
  private readonly stopping = new AbortController();
  /** The secure statistics, fit and evaluation sums, when secure aggregation is on. */
  private readonly phases: SecurePhases | undefined;
  readonly history: RoundRecord[] = [];
  /** Set by end(): each site's end message, for the sites online then and any that join after. */
  ended: EndNotice | undefined;
  /** Set by end(): how the run ended and where its results are (/api/status). */
  outcome: { outcome: NonNullable<TaskMeta['outcome']>; results?: string } | undefined;
  /** Set once the final evaluation is in: the final model's figures (/api/status `final`, /metrics, the log). */
  final: FinalEvaluation | undefined;

  constructor(private readonly o: RoundLoopOptions) {
    this.federation = o.federation;
    this.bounds = o.bounds ?? DEFAULT_RESULT_BOUNDS;
    this.participation = new Participation(o.trainingSites, o.directory, o.log);
    this.agreed = new RunSetup(o, this.participation);
    this.admission = new ResultAdmission(o, this.bounds, this.agreed);
    this.exchange = new RoundExchange(o, {
      isStopped: () => this.isStopped(),
      maxPayloadBytes: (c) => this.admission.maxPayloadBytes(c),
      admit: (site, c, meta, replay, release) => this.admission.admit(site, c, meta, replay, release),
    });
    const exchange = {
      round: () => this.round,
      runRound: this.runRound.bind(this),
      stopping: this.stopping.signal,
      counted: this.agreed.counted.bind(this.agreed),
      participants: () => this.participation.participants,
    };
    this.phases = o.secure && new SecurePhases(o.secure, exchange, o);
  }

  get state(): FederationState {
    return this.lifecycle.current;
  }

  /** The last change of state and its reason (/api/status). */
  get stateChange(): Transition | undefined {
    return this.lifecycle.last;
  }

  private setState(to: FederationState, reason: string): void {
    this.lifecycle.transition(to, this.round, reason);
  }

  /** A wait for sites and what it waits for: the run starts waiting (and a resumed one may still be), so that state may only need its reason. */
  private readonly waiting = (why: string): void => {
    if (this.state === 'waiting-for-sites') this.logState(this.lifecycle.explain(this.round, why));
    else this.setState('waiting-for-sites', why);
  };

  private logState(t: Transition): void {
    this.o.log.info('federation state', { state: t.to, round: t.round, reason: t.reason });
  }

  /**
   * Ends the lifecycle after `error` ended the run: 'stopped' when a stop was requested or
   * the coordinator's storage failed (the durable state resumes it), 'failed' otherwise.
   * Nothing when it already ended.
   */
  settle(error: Error): void {
    if (this.lifecycle.terminal) return;
    if (this.isStopped()) this.setState('stopped', this.stopReason);
    else if (error instanceof StorageError) this.setState('stopped', error.message);
    else this.setState('failed', error.message);
  }

  /** The round being collected now (who was asked, who answered, its deadline), for /api/status. */
  get current(): RoundCollector | undefined {
    return this.exchange.current;
  }

  // ---- RoundGate (called by the endpoint): the exchange's, but for what only the run knows ----
  expectation(site: string) {
    // After the end, only each site's acknowledgement of it (a frame of meta, no weights).
    if (this.ended) return this.ended.expectation(site, this.round);
    return this.exchange.expectation(site);
  }

  connected(site: string): void {
    // After the end there is nothing left to owe but how it ended.
    if (this.ended) return void this.ended.tell(site);
    const why = this.participation.reasonFor(site);
    if (why) this.o.log.warn('a site left out of training in this run joined: it is scored at the final evaluation only', { site, reason: why });
    this.exchange.connected(site);
  }

  reject(site: string, reason: string): void {
    this.exchange.reject(site, reason);
  }

  disconnected(site: string): void {
    this.exchange.disconnected(site);
  }

  deliver(site: string, meta: ResultMeta, replay: Replay, release: () => void = () => {}): void {
    if (this.ended) return this.ended.deliver(site, meta, release);
    this.exchange.deliver(site, meta, replay, release);
  }

  stop(reason: string): void {
    if (this.isStopped()) return;
    this.stopping.abort(reason);
    this.exchange.abort(reason);
  }

  /** For the endpoint: a message that comes once a stop was asked for is not a site's fault. */
  get stopRequested(): boolean {
    return this.isStopped();
  }

  /** A method, not a getter: stop() sets it during awaits, which TypeScript's narrowing of a property cannot see. */
  private isStopped(): boolean {
    return this.stopping.signal.aborted;
  }

  private get stopReason(): string {
    return String(this.stopping.signal.reason);
  }

  // ---- the loop ----
  private runRound(kind: TaskKind, sites: string[], meta: Omit<TaskMeta, 'federation' | 'round' | 'kind' | 'weights'>, weights?: Float32Array): Promise<RoundCollector> {
    return this.exchange.run(this.round, kind, sites, meta, weights);
  }

  /** Runs the federation to its final evaluation; on an error the state ends 'stopped' or 'failed' (settle). */
  async run(): Promise<FederationOutcome> {
    try {
      return await this.runRounds();
    } catch (e) {
      this.settle(e as Error);
      throw e;
    } finally {
      this.admission.release();
    }
  }

  private async runRounds(): Promise<FederationOutcome> {
    const o = this.o;
    const saved = o.store?.load();
    crashPoint(this.state, this.round);
    if (saved) {
      // Restored before the start quorum, which then waits only for the sites that will train.
      this.participation.restore(saved.setup, o.secure !== undefined);
      // And what the run has done shows while it waits (status, dashboard, metrics): it read as a run at round 0.
      // The round is the next one, as a running loop shows while it waits before a round.
      this.round = Math.min(saved.round + 1, o.rounds + 1);
      this.history.push(...(saved.history as RoundRecord[]));
      o.directory.restore((saved.loop.sites ?? {}) as Record<string, number>);
      o.log.info('resuming the federation from its last committed round', { round: saved.round, of: o.rounds, state: o.store!.path });
      // `rounds` may change between a stop and a restart; lowered under what was done, it ends the run without a word otherwise (an outside try).
      if (saved.round > o.rounds)
        o.log.warn(`rounds is ${o.rounds} in coordinator.yaml, but ${saved.round} rounds were committed: the run goes to its final evaluation with the model of round ${saved.round}`, { setting: 'rounds' });
    }
    await waitForStartQuorum(this.participation.participants, o.directory, o.quorum, this.stopping.signal, o.log, this.waiting);
    if (this.isStopped()) throw new Error('stopped');
    const { setup, monitor, global: initial } = await this.begin(saved);
    const context: FitContext = { featureSpace: setup.space, prior: this.agreed.prior!, model: setup.spec, ...(setup.balance ? { balance: setup.balance } : {}) };
    let global = initial;
    for (let r = (saved?.round ?? 0) + 1; r <= o.rounds && !this.isStopped(); r++) {
      const next = await this.trainRound(r, global, context, monitor);
      // An aborted round is not committed: a restart runs it again (run()'s finally releases the held updates).
      if (!next) break;
      global = next;
    }
    if (this.isStopped()) throw new Error(`federation stopped after round ${this.history.at(-1)?.round ?? 0} of ${o.rounds} (${this.stopReason})`);
    return this.finalEvaluation(setup, global, context);
  }

  /** The setup and model the rounds start from: agreed and committed now, or restored from the durable state. */
  private async begin(saved: SavedState | undefined): Promise<{ setup: FederationSetup; monitor: DebiasMonitor | undefined; global: Float32Array }> {
    const o = this.o;
    const setup = saved ? this.agreed.restore(saved) : await this.agree();
    // A stop during the statistics rounds commits nothing: the restart runs them again.
    if (this.isStopped()) throw new Error(`federation stopped during the statistics rounds (${this.stopReason})`);
    const monitor = o.hooks.debias ? new DebiasMonitor(o.hooks.debias, setup.spec, this.agreed.prior!, o.minCellCount, o.log) : undefined;
    let global: Float32Array;
    if (saved) {
      global = saved.global;
      if (saved.strategy) o.strategy.restoreState?.(saved.strategy);
      if (monitor && saved.loop.monitor) monitor.restore(saved.loop.monitor);
    } else {
      global = await o.hooks.initialWeights(setup.spec, setup.space);
      o.store?.commitSetup({ ...setup, decisionReport: this.agreed.decisionReport }, global);
    }
    // The same array the monitor fills: /api/status shows each round's figures as they come.
    if (monitor && this.agreed.decisionReport) this.agreed.decisionReport = { ...this.agreed.decisionReport, health: monitor.health };
    this.admission.trains(global.length, monitor);
    const strategyMeta = o.strategy.resultMetaBytes?.(global.length) ?? 0;
    if (strategyMeta > this.bounds.resultMetaBytes)
      throw new InputError(
        `strategy ${o.strategy.name}: a site's result needs about ${Math.ceil(strategyMeta / 1024)} KiB of meta for this model's ${global.length} parameters, ` +
          `over limits.resultMetaKiB (${Math.floor(this.bounds.resultMetaBytes / 1024)}); raise it or choose another strategy`,
      );
    return { setup, monitor, global };
  }

  /** One training round, collected, aggregated and committed: the next global model, or undefined when a stop aborted it. */
  private async trainRound(r: number, global: Float32Array, context: FitContext, monitor: DebiasMonitor | undefined): Promise<Float32Array | undefined> {
    const o = this.o;
    this.round = r;
    const participants = this.participation.participants;
    await waitForRoundQuorum(r, participants, roundNeed(o.quorum.minSitesToAccept, o.secure?.config, participants.length), o.directory, o.quorum.startTimeoutMs, this.stopping.signal, o.log, this.waiting);
    if (this.isStopped()) return undefined;
    const t0 = Date.now();
    this.setState('training', `round ${r} of ${o.rounds}`);
    const { meta, aggregation } = this.beginFit(r, participants, global, context, monitor);
    const c = await this.runRound('fit', participants, meta, global);
    if (this.isStopped()) return undefined;
    this.admission.closeFit(r, aggregation, participants.filter((s) => c.results.has(s)));
    this.setState('aggregating', `${c.results.size} answered, ${c.failures.size} failed`);
    const { record, next, summed } = this.phases
      ? await this.phases.fit(r, c, aggregation, o.strategy, o.quorum)
      : { ...aggregateRound(r, c, aggregation, o.strategy, o.quorum, o.log), summed: undefined };
    if (this.isStopped()) return undefined;
    record.durationMs = Date.now() - t0;
    // Secure: a site's round is done once its input is in the sum, not at its key advertisement (an outside try: a site
    // lost before its masked input read "2 rounds answered" where the results said it trained in 1).
    if (this.phases) for (const s of c.results.keys()) if (!record.failed.some((f) => f.site === s)) o.directory.recordCompleted(s, r);
    // Secure: the monitor sees the round's one sum (none when it aborted), never a site's figures.
    const observed: [string, Pick<ResultMeta, 'health' | 'patternCounts'>][] = o.secure ? (summed ? [["the round's secure sum", summed]] : []) : [...c.results].map(([s, m]) => [`site "${s}"`, m]);
    if (monitor && observed.length > 0) record.health = monitor.observe(r, observed.map(([, m]) => m), observed.map(([from]) => from));
    return this.commit(record, next ?? global, monitor);
  }

  /** Round `r`'s task (the strategy's config, the agreed setup, a secure round's part) and what collects its answers: the aggregation, and the admission's round. */
  private beginFit(
    r: number,
    participants: string[],
    global: Float32Array,
    context: FitContext,
    monitor: DebiasMonitor | undefined,
  ): { meta: Omit<TaskMeta, 'federation' | 'round' | 'kind' | 'weights'>; aggregation: Aggregation } {
    const o = this.o;
    const config: RoundConfig = { ...o.strategy.configureFit(r, { ...o.baseConfig, rounds: o.rounds }), ...(monitor ? { temper: monitor.temper } : {}) };
    const aggregation = o.strategy.beginAggregation(r, global);
    this.admission.openFit(global, config);
    const secagg = o.secure?.fitTask(r, participants, global.length, monitor?.secureParts());
    return { meta: { config, ...context, ...(o.strategy.fitTask?.(r) ?? {}), ...(secagg ? { secagg } : {}) }, aggregation };
  }

  /** A round's record and model, saved (a restart resumes after it) and announced; the model the next round starts from. */
  private commit(record: RoundRecord, updated: Float32Array, monitor: DebiasMonitor | undefined): Float32Array {
    const o = this.o;
    o.store?.commitRound({
      round: record.round,
      record,
      global: updated,
      ...(o.strategy.saveState ? { strategy: o.strategy.saveState() } : {}),
      loop: { ...(monitor ? { monitor: monitor.save() } : {}), sites: o.directory.snapshot() },
    });
    // Only once it is saved: a commit that fails must not show as a round done.
    this.history.push(record);
    this.setState('committed', record.accepted ? 'round accepted' : `round not accepted: ${record.reason}`);
    o.onEvent?.({ type: 'round', record });
    return updated;
  }

  /** The last global model scored at every site, test-only sites and sites left out of training included. */
  private async finalEvaluation(setup: FederationSetup, global: Float32Array, context: FitContext): Promise<FederationOutcome> {
    const o = this.o;
    // After the last round committed, which may be past `rounds` when it was lowered at a restart.
    this.round = Math.max(o.rounds, this.history.at(-1)?.round ?? 0) + 1;
    this.setState('evaluating', 'final evaluation');
    const evaluated = [...o.trainingSites, ...o.testSites];
    const secagg = o.secure?.evaluationTask(this.round, evaluated, o.testSites);
    const ev = await this.runRound('evaluate', evaluated, { config: { final: true, localBaseline: o.localBaseline, rounds: o.rounds }, ...context, ...(secagg ? { secagg } : {}) }, global);
    if (this.isStopped()) throw new Error(`federation stopped during the final evaluation (${this.stopReason})`);
    const summedEvaluation = this.phases ? await this.phases.evaluation(ev) : undefined;
    const outcome = finalOutcome({
      ev, spec: setup.spec, global, rounds: o.rounds, strategy: o.strategy.name, strategyOptions: o.strategy.options, modelSettings: o.model.raw, prior: this.agreed.prior!, space: setup.space, balance: setup.balance, round: this.round, history: this.history,
      decisionReport: this.agreed.decisionReport, trainingSites: o.trainingSites, leftOut: this.participation.saved(), readiness: this.agreed.readiness?.sites, testSites: o.testSites, minSitesToAccept: o.quorum.minSitesToAccept, log: o.log, secureAggregation: o.secure?.summary,
      ...(summedEvaluation ? { summedEvaluation } : {}),
      ...(o.secure?.config.reportDecimals !== undefined ? { reportDecimals: o.secure.config.reportDecimals } : {}),
      uncheckedSchemas: o.directory.uncheckedSchemas(),
    });
    this.final = outcome.final;
    o.log.info('final evaluation', finalLogFields(this.final));
    return outcome;
  }

  /** The statistics rounds (statistics-rounds.ts, run-setup.ts): feature scaling, vocabularies, the pattern prior and the debiasing decision. */
  private async agree(): Promise<FederationSetup> {
    this.setState('stats', 'statistics rounds');
    const runStats: RunStatsRound = async (stage, meta) => {
      const c = await this.runRound('stats', this.participation.participants, { config: {}, stage, ...meta });
      // A stop aborts the round: the sites it did not wait for are not left out (a restart runs the statistics again).
      if (this.isStopped()) throw new Error(`federation stopped during the statistics rounds (${this.stopReason})`);
      if (stage === STATS_STAGE.summary) this.agreed.counted([...c.results.keys()], c.failures);
      return c;
    };
    return this.agreed.agree(this.phases?.statistics() ?? plainStatistics(this.o, runStats));
  }

  /**
   * Ends the federation, 'finished' (complete or incomplete, with `results` marked in the
   * store so a restart does not run it again) or 'failed', and tells every connected site.
   */
  async end(message: string, outcome: NonNullable<TaskMeta['outcome']>, results?: string, forSite: (site: string) => string = () => message): Promise<void> {
    const to = outcome === 'failed' ? 'failed' : 'finished';
    // Marked in the state first: when that fails (its disk), status must not show a finished run.
    if (to === 'finished' && results !== undefined) this.o.store?.finish(results);
    this.outcome = { outcome, ...(results !== undefined ? { results } : {}) };
    if (this.state !== to) this.setState(to, message);
    // Kept: a site that joins after this (it was away at the end) is told too. `forSite` words each site's own end message (`message` is the state's reason).
    this.ended = new EndNotice(endMessages({ federation: this.federation, round: this.round, outcome, forSite, seal: this.o.seal }), (s, msg) => this.exchange.send(s, msg));
    await Promise.all(this.o.directory.online().map((s) => this.ended!.tell(s)));
  }
}

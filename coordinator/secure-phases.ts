/**
 * The round loop's secure stages (docs/secagg.md): a statistics stage, a fit round and the
 * final evaluation as secure sums, and the 'secagg' phase rounds each of them runs on.
 * They drive SecureAggregator (secure-round.ts) over the loop's own exchange
 * (LoopExchange), so round-loop.ts keeps only the loop itself.
 */
import type { TaskKind, TaskMeta } from '../shared/protocol/messages.ts';
import type { Logger } from '../shared/logger.ts';
import { DEFAULT_MIN_CATEGORY_COUNT } from '../shared/data/vocabulary.ts';
import { STATS_STAGE } from '../shared/protocol/task-meta.ts';
import type { Schema } from '../shared/data/schema.ts';
import type { VectorLayout } from '../shared/secagg/layout.ts';
import { evaluationFromSum, type SummedEvaluation } from '../shared/secagg/eval-parts.ts';
import { survivorChange } from '../shared/secagg/consistency.ts';
import { SecAggAbort } from '../shared/secagg/errors.ts';
import type { RoundCollector } from './collector.ts';
import type { RunPhase, SecureAggregator, SecureRoundResult, SecureSum } from './secure-round.ts';
import type { CoordinatorStore } from './state/store.ts';
import { secureStatistics, type RunSecureStats } from './secure-statistics.ts';
import type { StatisticsSource } from './statistics-rounds.ts';
import type { Quorum } from './start-quorum.ts';
import type { AcceptancePolicy, Aggregation, Strategy } from './strategy/strategy.ts';

/** What the secure stages use of the round loop: its current round, one exchange of tasks and results, and its stop. */
export interface LoopExchange {
  round(): number;
  runRound(kind: TaskKind, sites: string[], meta: Omit<TaskMeta, 'federation' | 'round' | 'kind' | 'weights'>): Promise<RoundCollector>;
  /** Aborted by the loop's stop(); its reason is the stop's. */
  readonly stopping: AbortSignal;
  /** These sites are in statistics stage 1's sum: the rest train in no fit round of the run. */
  counted(sites: readonly string[], failures: ReadonlyMap<string, { reason: string }>): void;
  /** The training sites counted at stage 1 (all of them before). */
  participants(): readonly string[];
}

export interface SecurePhasesOptions {
  schema: Schema;
  quorum: Quorum;
  minCategoryCount?: number;
  trainingSites: string[];
  testSites: string[];
  log: Logger;
  /** The durable state, where the first statistics sum's sites are kept. */
  store?: Pick<CoordinatorStore, 'statsSumSites' | 'rememberStatsSumSites'>;
}

export class SecurePhases {
  /** The sites of the first decoded statistics sum (from the state file where a restart kept them). */
  private firstStatsSites: string[] | undefined;

  constructor(
    private readonly secure: SecureAggregator,
    private readonly loop: LoopExchange,
    private readonly o: SecurePhasesOptions,
  ) {
    this.firstStatsSites = o.store?.statsSumSites();
  }

  /** A 'secagg' phase round; undefined once the run is stopping. */
  private readonly runPhase: RunPhase = (stage, sites, task) =>
    this.loop.stopping.aborted ? Promise.resolve(undefined) : this.loop.runRound('secagg', sites, { config: {}, stage, secagg: task });

  /** The statistics rounds as one secure sum per stage (secure-statistics.ts). */
  statistics(): StatisticsSource {
    const o = { ...this.o, config: this.secure.config, minCategoryCount: this.o.minCategoryCount ?? DEFAULT_MIN_CATEGORY_COUNT };
    return secureStatistics(o, (stage, meta, layoutFor) => this.stats(stage, meta, layoutFor));
  }

  /** One statistics stage as a secure sum: the stats task carries the session and roster, its results the key advertisements; then the four phases. */
  private async stats(stage: number, meta: Parameters<RunSecureStats>[1], layoutFor: (maxSites: number) => VectorLayout): Promise<SecureSum> {
    // Every statistics sum invites the configured training sites (a site refuses another roster:
    // two sums over rosters that differ by one site give its values), whoever stage 1 counted.
    const secagg = this.secure.statsTask(this.loop.round(), stage, this.o.trainingSites, layoutFor);
    // Asked: the sites of the first statistics sum (every later sum must be over the same: each
    // site refuses another survivor list). After stage 1, those in its sum; at a restart's stage 1,
    // those the state file kept, so a site left out stays out rather than abort every sum it
    // answers (a re-review's federation looped so).
    const asked = stage === STATS_STAGE.summary ? (this.firstStatsSites ?? this.o.trainingSites) : [...this.loop.participants()];
    const c = await this.loop.runRound('stats', asked, { config: {}, stage, ...meta, secagg });
    if (this.loop.stopping.aborted) throw new Error(`federation stopped during the statistics rounds (${String(this.loop.stopping.reason)})`);
    // Too few answers for secure aggregation's minimum fail the run here, saying so (before the sum aborts).
    if (stage === STATS_STAGE.summary) this.loop.counted([...c.results.keys()], c.failures);
    const s = await this.secure.collect(c, this.runPhase, undefined, (survivors) => this.checkStatsSites(survivors));
    if (!this.firstStatsSites) {
      this.firstStatsSites = [...s.included].sort();
      this.o.store?.rememberStatsSumSites(this.firstStatsSites);
    }
    // Counted: the sites in stage 1's decoded sum, not every site that answered its task. One that
    // advertised and then dropped out of the sum (a crash, a restart within the grace) trained,
    // and a fit round's sum minus stage 1's gave its rows and label counts by pattern (an outside
    // privacy review). Left out, it trains in no round and is named in the results.
    if (stage === STATS_STAGE.summary) this.loop.counted(s.included, s.failures);
    return s;
  }

  /**
   * Every secure statistics sum over the sites of the federation's first, kept in the state
   * file: the sites check it too, but a site agent restarted by its supervisor forgets its
   * list, and a coordinator restarted after a failed run summed stage 1 again without the site
   * it had lost, giving that site's figures against the first sum (an outside privacy review).
   */
  private checkStatsSites(survivors: readonly string[]): void {
    // Fewer than minSites would give so few sites' figures that the minimum is there against it (a re-review decoded 2 of 3).
    const min = this.secure.config.minSites;
    if (survivors.length < min)
      throw new SecAggAbort(`the statistics would be summed over ${survivors.length} sites (${[...survivors].sort().join(', ')}), fewer than secure aggregation's minimum of ${min} (secureAggregation.minSites), so nothing is decoded`);
    const first = this.firstStatsSites;
    if (!first) return;
    const { left, added } = survivorChange(first, survivors);
    if (left.length + added.length === 0) return;
    throw new SecAggAbort(
      `the statistics would be summed over ${[...survivors].sort().join(', ')}, but this federation's first secure statistics sum was over ${first.join(', ')}${this.o.store ? ' (kept in the state file)' : ''}: ` +
        `the difference would be the figures of ${[...left, ...added].join(', ')}, so nothing is decoded. ` +
        (left.length
          ? `The run goes on once ${left.join(', ')} ${left.length === 1 ? 'answers' : 'answer'} every statistics stage (a restarted coordinator asks again; a site agent restarted mid-statistics can answer after the next restart)`
          : 'The statistics are summed over those sites only'),
    );
  }

  /** A fit round's secure sum, aggregated (secure-round.ts). */
  fit(round: number, c: RoundCollector, aggregation: Aggregation, strategy: Strategy, policy: AcceptancePolicy): Promise<SecureRoundResult> {
    return this.secure.aggregate(round, c, aggregation, strategy, policy, this.runPhase);
  }

  /** The final evaluation's secure sum: the pooled figures, or the abort's reason (the run is then incomplete). */
  async evaluation(ev: RoundCollector): Promise<SummedEvaluation | { error: string }> {
    try {
      const s = await this.secure.collect(ev, this.runPhase, new Map(ev.failures));
      // A site in the sum whose later phase failed still evaluated: its failure is not the evaluation's.
      for (const site of s.included) ev.failures.delete(site);
      const tests = s.included.filter((x) => this.o.testSites.includes(x)).length;
      return { ...evaluationFromSum(s.sums, { training: s.included.length - tests, test: tests }), sites: s.included };
    } catch (e) {
      if (!(e instanceof SecAggAbort)) throw e;
      this.o.log.warn('secure final evaluation aborted', { reason: e.message });
      return { error: e.message };
    }
  }
}

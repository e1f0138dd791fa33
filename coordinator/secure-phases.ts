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
import { SecAggAbort } from '../shared/secagg/errors.ts';
import type { RoundCollector } from './collector.ts';
import type { RunPhase, SecureAggregator, SecureRoundResult, SecureSum } from './secure-round.ts';
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
  /** These sites answered statistics stage 1: the rest train in no fit round of the run. */
  counted(sites: readonly string[], failures: ReadonlyMap<string, { reason: string }>): void;
}

export interface SecurePhasesOptions {
  schema: Schema;
  quorum: Quorum;
  minCategoryCount?: number;
  trainingSites: string[];
  testSites: string[];
  log: Logger;
}

export class SecurePhases {
  constructor(
    private readonly secure: SecureAggregator,
    private readonly loop: LoopExchange,
    private readonly o: SecurePhasesOptions,
  ) {}

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
    const c = await this.loop.runRound('stats', this.o.trainingSites, { config: {}, stage, ...meta, secagg });
    if (this.loop.stopping.aborted) throw new Error(`federation stopped during the statistics rounds (${String(this.loop.stopping.reason)})`);
    // Left out: a site that did not answer stage 1's task (absent, late). One that advertised and then
    // dropped from the sum (a restart within the grace, a bad share from another site) still trains.
    if (stage === STATS_STAGE.summary) this.loop.counted([...c.results.keys()], c.failures);
    return this.secure.collect(c, this.runPhase);
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

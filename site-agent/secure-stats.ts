/**
 * A site's side of the secure statistics stages (shared/secagg/stats-parts.ts): each stage's
 * sums laid out and kept for the secure sum, with the guards that keep two sums from
 * differencing out this site's own values. Apart from agent.ts because these guards carry
 * state of their own across tasks; the agent only routes secure stats tasks here.
 */
import type { EncodedData } from '../shared/data/encode.ts';
import type { FeatureSpace } from '../shared/data/feature-space.ts';
import { countPatternLabels } from '../shared/data/patterns.ts';
import type { Schema } from '../shared/data/schema.ts';
import { computeFeatureStats, type FeatureStats } from '../shared/data/stats.ts';
import { siteMoments } from '../shared/data/class-moments.ts';
import { balanceFeatures, cellKeys, countCells } from '../shared/data/outcome-balance.ts';
import type { ResultMeta, TaskMeta } from '../shared/protocol/messages.ts';
import { STATS_STAGE } from '../shared/protocol/task-meta.ts';
import { survivorChange } from '../shared/secagg/consistency.ts';
import { SecAggRefusal } from '../shared/secagg/errors.ts';
import type { VectorLayout } from '../shared/secagg/layout.ts';
import type { SecureFitTask } from '../shared/secagg/wire.ts';
import {
  cellList,
  cellsLayout,
  cellsValues,
  momentsLayout,
  momentsValues,
  summaryLayout,
  summaryValues,
} from '../shared/secagg/stats-parts.ts';
import {
  namesLayout,
  namesValues,
  slotCountsLayout,
  slotCountsValues,
  vocabularyLayout,
  vocabularyValues,
} from '../shared/secagg/vocabulary-parts.ts';
import type { LocalData } from './local-data.ts';
import type { SecureAggregationSite } from './secure-aggregation.ts';

export class SecureStatsStages {
  /** The session of this site's last secure summary (stage 1): the names round must use its sketch keys. */
  private summarySession: string | undefined;
  /** The summary session whose names round this site answered: it answers one only. */
  private namedSession: string | undefined;
  /** The roster of this site's first secure statistics sum: every later one must invite the same sites. */
  private statsRoster: string | undefined;
  /** The sites summed in this site's first secure statistics sum (its survivor list): every later one must sum the same. */
  private statsSurvivors: string | undefined;
  /** Per summary session, the statistics stages this site summed: one sum each. */
  private readonly statsDone = new Map<string, Set<number>>();

  /** `encode` is the agent's: its per-feature-space cache serves the stats and training tasks alike. */
  constructor(
    private readonly secure: SecureAggregationSite,
    private readonly schema: Schema,
    private readonly data: LocalData,
    private readonly encode: (space: FeatureSpace) => { train: EncodedData },
  ) {}

  /** A statistics stage as a secure sum: this site's sums laid out, kept, and only a key advertisement sent. */
  answer(task: TaskMeta, base: ResultMeta): { meta: ResultMeta } {
    return this.secure.input(task, base, (t, maxSites) => ({ ...this.stage(task, t, maxSites), checkSurvivors: (survivors) => this.guardSurvivors(task.stage, survivors) }));
  }

  /** One statistics stage's vector: its layout and this site's values. */
  private stage(task: TaskMeta, t: SecureFitTask, maxSites: number): StageVector {
    // The names round's own checks come first (their messages say more than the generic one).
    if (task.stage !== STATS_STAGE.names && task.stage !== STATS_STAGE.slots) this.guardStatsSum(task.stage ?? STATS_STAGE.summary, t.session, t.roster);
    switch (task.stage) {
      case STATS_STAGE.summary:
        return this.summaryStage(t, maxSites);
      case STATS_STAGE.slots:
        return this.slotsStage(task, t, maxSites);
      case STATS_STAGE.names:
        return this.namesStage(task, t, maxSites);
      case STATS_STAGE.vocabulary:
        return this.vocabularyStage(task, t, maxSites);
      case STATS_STAGE.moments:
        return this.momentsStage(task, t, maxSites);
      case STATS_STAGE.cells:
        return this.cellsStage(task, t, maxSites);
      default:
        throw new SecAggRefusal(`no secure statistics stage ${String(task.stage)}`, 'malformed');
    }
  }

  /** Computed only by the stages that read it. */
  private stats(): FeatureStats {
    return computeFeatureStats(this.schema, this.data.train);
  }

  /** Stage 1: its session keys the sketches of the slots and names stages. */
  private summaryStage(t: SecureFitTask, maxSites: number): StageVector {
    const { data, schema } = this;
    this.summarySession = t.session;
    return { layout: summaryLayout(schema, t.config, maxSites), values: summaryValues(schema, t.session, this.stats(), countPatternLabels(data.train.patterns, data.train.labels)) };
  }

  private slotsStage(task: TaskMeta, t: SecureFitTask, maxSites: number): StageVector {
    const { schema } = this;
    const v = this.sketchSession(task, 'slot');
    this.guardStatsSum(STATS_STAGE.slots, t.session, t.roster);
    return { layout: slotCountsLayout(schema, v.buckets ?? {}, t.config, maxSites), values: slotCountsValues(schema, v.session, this.stats(), v.buckets ?? {}) };
  }

  private namesStage(task: TaskMeta, t: SecureFitTask, maxSites: number): StageVector {
    const { schema } = this;
    const v = this.sketchSession(task, 'names');
    // One names sum per summary: a second one, over another roster, would differ from the first by one site's names.
    if (v.session === this.namedSession)
      throw new SecAggRefusal(`this site already answered the names task of summary session ${JSON.stringify(v.session)}; a second names sum is refused`, 'double-request');
    this.guardStatsSum(STATS_STAGE.names, t.session, t.roster);
    this.namedSession = v.session;
    return { layout: namesLayout(schema, v.slots ?? {}, maxSites), values: namesValues(schema, v.session, this.stats(), v.buckets ?? {}, v.slots ?? {}) };
  }

  private vocabularyStage(task: TaskMeta, t: SecureFitTask, maxSites: number): StageVector {
    const { schema } = this;
    const candidates = task.vocabulary?.candidates ?? {};
    return { layout: vocabularyLayout(schema, candidates, t.config, maxSites), values: vocabularyValues(schema, candidates, this.stats()) };
  }

  private momentsStage(task: TaskMeta, t: SecureFitTask, maxSites: number): StageVector {
    const enc = this.encode(task.featureSpace!);
    return { layout: momentsLayout(enc.train.dim, t.config, maxSites), values: momentsValues(siteMoments(enc.train)) };
  }

  private cellsStage(task: TaskMeta, t: SecureFitTask, maxSites: number): StageVector {
    const enc = this.encode(task.featureSpace!);
    const features = balanceFeatures(task.featureSpace!, task.balanceFeatures ?? []);
    const cells = cellList(this.schema.modalities.length, (task.prior?.patterns ?? []).map((p) => p.pattern), features);
    return { layout: cellsLayout(cells, t.config, maxSites), values: cellsValues(cells, countCells(cellKeys(enc.train, features), enc.train.y)) };
  }

  /**
   * Every statistics sum is over the sites of this site's first one. Sums over sites that
   * differ by one give that site's figures by subtraction (rows, label counts and column
   * sums are in stage 1 and again in the class moments): an outside privacy review recovered
   * a site that left after stage 1 exactly, from a later stage's totals minus stage 1's (a
   * coordinator may also just say a site left). Checked before this site signs the survivor
   * list, so no such sum is unmasked.
   */
  private guardSurvivors(stage: number | undefined, survivors: readonly string[]): void {
    const key = [...survivors].sort().join('\u0000');
    this.statsSurvivors ??= key;
    if (key === this.statsSurvivors) return;
    const first = this.statsSurvivors.split('\u0000');
    const { left, added } = survivorChange(first, survivors);
    const change = [left.length ? `without ${left.join(', ')}` : '', added.length ? `with ${added.join(', ')} added` : ''].filter((x) => x).join(' and ');
    throw new SecAggRefusal(
      `statistics stage ${String(stage)} would be summed ${change}, unlike this site's first statistics sum (${first.join(', ')}): the difference would be the figures of ${[...left, ...added].join(', ')}; restart the federation with the same sites online (a site agent started afresh accepts another list)`,
      'malformed',
    );
  }

  /** A slot or names task's vocabulary: the sketch this site filled was keyed by its own summary session, and another session would rename its buckets. */
  private sketchSession(task: TaskMeta, what: string): NonNullable<TaskMeta['vocabulary']> & { session: string } {
    const v = task.vocabulary ?? {};
    // A restarted agent has no summary of its own: say so, not as a malformed task (a re-review read it as an attack).
    if (this.summarySession === undefined) throw missedSummary(`the ${what} task`);
    if (v.session === undefined || v.session !== this.summarySession)
      throw new SecAggRefusal(`the ${what} task's session ${JSON.stringify(v.session)} is not this site's summary session`, 'malformed');
    return { ...v, session: v.session };
  }

  /**
   * Two sums of one statistic over rosters that differ by a site would give that site's own
   * values by subtraction: every secure statistics sum must invite the roster of the first
   * (the configured training sites, which a restarted coordinator invites again), and each
   * stage is summed once per summary session.
   */
  private guardStatsSum(stage: number, session: string, roster: Record<string, string>): void {
    const key = Object.keys(roster).sort().join('\u0000');
    this.statsRoster ??= key;
    if (key !== this.statsRoster)
      throw new SecAggRefusal(`statistics stage ${stage} invites ${Object.keys(roster).sort().join(', ')}, not the sites of this site's first statistics sum`, 'malformed');
    const summary = stage === STATS_STAGE.summary ? session : this.summarySession;
    if (summary === undefined) throw missedSummary(`statistics stage ${stage}`);
    const done = this.statsDone.get(summary) ?? new Set<number>();
    if (done.has(stage)) throw new SecAggRefusal(`statistics stage ${stage} was summed already for summary session ${JSON.stringify(summary)}; a second sum is refused`, 'double-request');
    done.add(stage);
    this.statsDone.set(summary, done);
  }
}

/** A statistics stage's vector: its layout and this site's values. */
interface StageVector {
  layout: VectorLayout;
  values: Record<string, ArrayLike<number>>;
}

/** A later statistics task to an agent restarted since stage 1: not malformed (a re-review read that as an attack), only missed. */
function missedSummary(what: string): SecAggRefusal {
  return new SecAggRefusal(`${what} follows a statistics summary this site agent did not take part in (it was started after the statistics rounds began); it answers them when they are run again from the start`, 'wrong-phase');
}

/**
 * The statistics rounds before training (METHOD.md): feature scaling and vocabularies,
 * the pattern prior, and for the debiased model its decision (class moments) and outcome
 * weights (cell counts). All from sums, never rows; the round loop runs the exchanges.
 */
import { buildFeatureSpace } from '../shared/data/feature-space.ts';
import type { FeatureSpace } from '../shared/data/feature-space.ts';
import type { CellCounts, OutcomeBalance } from '../shared/data/outcome-balance.ts';
import type { PatternLabelCounts, PatternPrior } from '../shared/data/patterns.ts';
import type { Schema } from '../shared/data/schema.ts';
import { mergeFeatureStats, type FeatureStats } from '../shared/data/stats.ts';
import { autoFlagged, flaggedTreatment, residualWarnings, unjudgedWarning, type DebiasingReport } from '../shared/federation/debiasing-report.ts';
import type { Logger } from '../shared/logger.ts';
import type { ModelSpecMsg, TaskMeta } from '../shared/protocol/messages.ts';
import { STATS_STAGE } from '../shared/protocol/task-meta.ts';
import type { RoundCollector } from './collector.ts';
import type { MomentsEntry } from './debias-monitor.ts';
import type { ModelHooks } from './model-hooks.ts';
import { derivePrior, sumPatternCounts } from './priors.ts';
import { federationReadiness, sitesUnlikeFederation, type Readiness, type SiteStatistics } from './readiness.ts';
import type { FederationSetup } from './round-outcome.ts';
import type { Quorum } from './start-quorum.ts';
import { acceptByQuorum } from './strategy/acceptance.ts';
import type { SiteFailure } from './strategy/strategy.ts';

export interface StatisticsOptions {
  federation: string;
  model: ModelSpecMsg;
  schema: Schema;
  minCellCount: number;
  minCategoryCount?: number;
  quorum: Quorum;
  hooks: ModelHooks;
  log: Logger;
}

/** Runs statistics round `stage` with every training site (the loop's collector, its task meta). */
export type RunStatsRound = (stage: number, meta: Omit<TaskMeta, 'federation' | 'round' | 'kind' | 'weights' | 'config' | 'stage'>) => Promise<RoundCollector>;

/** Told as each result is known, so /api/status shows it while the later rounds run. */
export interface StatisticsProgress {
  published(prior: PatternPrior, readiness: Readiness): void;
  decided(report: DebiasingReport): void;
}

/** A statistics round has no model to keep: below the quorum the run cannot go on. */
export function requireQuorum(c: Pick<RoundCollector, 'results' | 'failures'> | { included: string[]; failures: Map<string, SiteFailure> }, what: string, quorum: Quorum): void {
  const answered = 'included' in c ? c.included.length : c.results.size;
  const verdict = acceptByQuorum(answered, [...c.failures.values()], quorum);
  if (!verdict.accepted) throw new Error(`${what}: ${verdict.reason}`);
}

/** Where the statistics come from: every site's sums, added here, or only their totals (secure-statistics.ts). */
export interface StatisticsSource {
  /** Stage 1: the federation's feature stats (categories counted) and (pattern, label) counts, and each site's where they are known. */
  summary(): Promise<{ featureStats: FeatureStats; patternCounts: PatternLabelCounts; perSite: Map<string, SiteStatistics> }>;
  /** Stage 2: class moments (raw, and centred within each site where sent), one entry per site or one for their sum. */
  moments(space: FeatureSpace): Promise<MomentsEntry[]>;
  /** Stage 3: (cell, label) counts of the flagged readings, per site or summed. */
  cells(space: FeatureSpace, features: string[], prior: PatternPrior): Promise<CellCounts[]>;
}

/** The plain statistics rounds: each site's sums reach the coordinator, which adds them. */
export function plainStatistics(o: Pick<StatisticsOptions, 'quorum'>, runStats: RunStatsRound): StatisticsSource {
  return {
    async summary() {
      const stats = await runStats(STATS_STAGE.summary, {});
      requireQuorum(stats, 'statistics round', o.quorum);
      const metas = [...stats.results.values()];
      return {
        featureStats: mergeFeatureStats(metas.map((m) => m.featureStats as FeatureStats)),
        patternCounts: sumPatternCounts(metas.map((m) => m.patternCounts ?? {})),
        perSite: new Map([...stats.results].map(([site, m]) => [site, { featureStats: m.featureStats, patternCounts: m.patternCounts ?? {} } as SiteStatistics])),
      };
    },
    async moments(space) {
      const m2 = await runStats(STATS_STAGE.moments, { featureSpace: space });
      requireQuorum(m2, 'class-moment round', o.quorum);
      return [...m2.results.values()].map((m) => ({ pooled: m.classMoments, withinSite: m.classMomentsWithinSite }));
    },
    async cells(space, features) {
      const m3 = await runStats(STATS_STAGE.cells, { featureSpace: space, balanceFeatures: features });
      requireQuorum(m3, 'outcome-balancing round', o.quorum);
      return [...m3.results.values()].map((m) => m.cellCounts as CellCounts);
    },
  };
}

/**
 * A federation whose training rows hold one class has nothing to learn: every site trains
 * toward that class and the evaluation has no AUROC. One-class sites are fine (they train
 * with a warning) as long as another site brings the other class.
 */
export function requireBothClasses(counts: PatternLabelCounts): void {
  const [n0, n1] = Object.values(counts).reduce<[number, number]>((a, [c0, c1]) => [a[0] + c0, a[1] + c1], [0, 0]);
  if (n0 > 0 && n1 > 0) return;
  throw new Error(
    `statistics round: the training sites hold no row of label ${n0 > 0 ? 1 : 0} (label 0: ${Math.round(n0)} rows, label 1: ${Math.round(n1)} rows in all): ` +
      `a model cannot learn the label from one class; check the sites' label column and the schema's label threshold`,
  );
}

/**
 * Every column's mean and SD finite in float32, in which every site trains, or the run stops
 * here, before the setup is published or saved: each site's sums were bounded on arrival
 * (result-bounds.ts), so this is a last guard, never a site's refusal. Unguarded, one site's
 * sum of "abc" published a mean of null and each honest site refused the feature space.
 */
export function checkScaling(space: FeatureSpace): FeatureSpace {
  const bad = space.columns.find((c) => !Number.isFinite(Math.fround(c.mean)) || !Number.isFinite(Math.fround(c.std)) || !(c.std > 0));
  if (bad)
    throw new Error(
      `statistics round: feature "${bad.feature}" would be scaled with mean ${bad.mean} and SD ${bad.std}, not finite in float32: the feature space is not published (a site's statistics that passed the checks on arrival; please report it)`,
    );
  return space;
}

/** The setup the fit rounds train with (less siteRows, which the loop keeps as results arrive). */
export async function agreeStatistics(o: StatisticsOptions, source: StatisticsSource, progress: StatisticsProgress): Promise<Omit<FederationSetup, 'siteRows'>> {
  const { featureStats, patternCounts, perSite } = await source.summary();
  requireBothClasses(patternCounts);
  const space = checkScaling(buildFeatureSpace(o.schema, featureStats, { minCategoryCount: o.minCategoryCount }));
  const prior = derivePrior(patternCounts, o.minCellCount, 1);
  const readiness = federationReadiness({ federation: o.federation, schema: o.schema, space, prior, featureStats, patternCounts }, perSite);
  progress.published(prior, readiness);
  // A site whose sums put it far from the federation (another unit or coding, most often) is said now, not only in /api/status.
  for (const unlike of sitesUnlikeFederation(readiness.sites)) o.log.warn('site unlike the federation', unlike);
  o.log.info('pattern prior published', { version: prior.version, patterns: prior.patterns.length });

  let spec = o.model;
  let balance: OutcomeBalance | undefined;
  const debias = o.hooks.debias;
  if (debias) {
    const d = debias.decide(spec, space, await source.moments(space), patternCounts);
    spec = d.spec;
    progress.decided(d.report);
    o.log.info('debiasing decision', { ...d.report });
    if (d.report.pattern?.note) o.log.warn('pattern balancing removes a label signal', { auroc: d.report.pattern.auroc, note: d.report.pattern.note });
    // The rule cannot tell a shortcut from a real test or cause that tracks the outcome apart from the severity markers (a confirmatory biopsy, a genetic variant): say what to do if it is one.
    const auto = autoFlagged(d.report);
    if (auto.length)
      o.log.warn('readings flagged as shortcuts', {
        features: auto,
        note: `${auto.join(', ')} ${auto.length === 1 ? 'is' : 'are'} ${flaggedTreatment(d.report.weighting)}; if one is real (a test or a cause that tracks the outcome apart from the other markers: a confirmatory biopsy, a genetic variant of another mechanism), list it in model.debiasing.trusted`,
      });
    const unjudged = unjudgedWarning(d.report);
    if (unjudged) o.log.warn('debiasing judged no reading', { note: unjudged });
    if (d.balanceFeatures.length > 0) {
      const b = debias.fitBalance(
        spec,
        space,
        d.balanceFeatures,
        await source.cells(space, d.balanceFeatures, prior),
        Object.keys(prior.balancing),
      );
      balance = b.balance;
      progress.decided({ ...d.report, balance: b.report });
      o.log.info('outcome weights published', { ...b.report });
      for (const note of residualWarnings({ decision: d.report.decision, balance: b.report })) o.log.warn('outcome weights leave part of a link', { note });
    }
  }
  return { spec, space, prior, readiness, ...(balance ? { balance } : {}) };
}

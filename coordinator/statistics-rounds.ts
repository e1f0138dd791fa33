/**
 * The statistics rounds before training (METHOD.md): feature scaling and vocabularies,
 * the pattern prior, and for the debiased model its decision (class moments) and outcome
 * weights (cell counts). All from sums, never rows; the round loop runs the exchanges.
 */
import { buildFeatureSpace } from '../shared/data/feature-space.ts';
import type { OutcomeBalance } from '../shared/data/outcome-balance.ts';
import type { PatternPrior } from '../shared/data/patterns.ts';
import type { Schema } from '../shared/data/schema.ts';
import { mergeFeatureStats, type FeatureStats } from '../shared/data/stats.ts';
import type { DebiasingReport } from '../shared/federation/debiasing-report.ts';
import type { Logger } from '../shared/logger.ts';
import type { ModelSpecMsg, TaskMeta } from '../shared/protocol/messages.ts';
import type { RoundCollector } from './collector.ts';
import type { ModelHooks } from './model-hooks.ts';
import { derivePrior, sumPatternCounts } from './priors.ts';
import { federationReadiness, type Readiness, type SiteStatistics } from './readiness.ts';
import type { FederationSetup } from './round-outcome.ts';
import type { Quorum } from './start-quorum.ts';
import { acceptByQuorum } from './strategy/acceptance.ts';

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
function requireQuorum(c: RoundCollector, what: string, quorum: Quorum): void {
  const verdict = acceptByQuorum(c.results.size, [...c.failures.values()], quorum);
  if (!verdict.accepted) throw new Error(`${what}: ${verdict.reason}`);
}

/** The setup the fit rounds train with (less siteRows, which the loop keeps as results arrive). */
export async function agreeStatistics(o: StatisticsOptions, runStats: RunStatsRound, progress: StatisticsProgress): Promise<Omit<FederationSetup, 'siteRows'>> {
  const stats = await runStats(1, {});
  requireQuorum(stats, 'statistics round', o.quorum);
  const metas = [...stats.results.values()];
  const featureStats = mergeFeatureStats(metas.map((m) => m.featureStats as FeatureStats));
  const space = buildFeatureSpace(o.schema, featureStats, { minCategoryCount: o.minCategoryCount });
  const patternCounts = sumPatternCounts(metas.map((m) => m.patternCounts ?? {}));
  const prior = derivePrior(patternCounts, o.minCellCount, 1);
  const perSite = new Map([...stats.results].map(([site, m]) => [site, { featureStats: m.featureStats, patternCounts: m.patternCounts ?? {} } as SiteStatistics]));
  const readiness = federationReadiness({ federation: o.federation, schema: o.schema, space, prior, featureStats, patternCounts }, perSite);
  progress.published(prior, readiness);
  o.log.info('pattern prior published', { version: prior.version, patterns: prior.patterns.length });

  let spec = o.model;
  let balance: OutcomeBalance | undefined;
  const debias = o.hooks.debias;
  if (debias) {
    const m2 = await runStats(2, { featureSpace: space });
    requireQuorum(m2, 'class-moment round', o.quorum);
    const d = debias.decide(spec, space, [...m2.results.values()].map((m) => m.classMoments));
    spec = d.spec;
    progress.decided(d.report);
    o.log.info('debiasing decision', { ...d.report });
    if (d.balanceFeatures.length > 0) {
      const m3 = await runStats(3, { featureSpace: space, balanceFeatures: d.balanceFeatures });
      requireQuorum(m3, 'outcome-balancing round', o.quorum);
      const b = debias.fitBalance(spec, space, d.balanceFeatures, [...m3.results.values()].map((m) => m.cellCounts));
      balance = b.balance;
      progress.decided({ ...d.report, balance: b.report });
      o.log.info('outcome weights published', { ...b.report });
    }
  }
  return { spec, space, prior, readiness, ...(balance ? { balance } : {}) };
}

/**
 * The statistics rounds under secure aggregation (docs/secagg.md, "Statistics rounds"):
 * every count and sum a site contributes reaches the coordinator only inside a secure sum.
 * Stage 1 sums rows, (pattern, label) counts, numeric sums and a hashed sketch of the
 * undeclared category values; the vocabulary is agreed by a thresholded count (sites name
 * their values in buckets that reach the minimum, then those names are counted exactly in
 * a second secure sum); stages 2 and 3 sum class moments and cell counts. No per-site
 * readiness: no site's sums are known here (a hospital runs `site check` itself).
 */
import type { PatternPrior } from '../shared/data/patterns.ts';
import { balanceFeatures } from '../shared/data/outcome-balance.ts';
import type { Schema } from '../shared/data/schema.ts';
import type { Logger } from '../shared/logger.ts';
import type { SecAggConfig } from '../shared/secagg/config.ts';
import type { VectorLayout } from '../shared/secagg/layout.ts';
import {
  cellList,
  cellsFromSum,
  cellsLayout,
  momentsFromSum,
  momentsLayout,
  summaryFromSum,
  summaryLayout,
  undeclaredFeatures,
} from '../shared/secagg/stats-parts.ts';
import {
  heavyBuckets,
  heavySlots,
  namesFromSum,
  namesLayout,
  slotCountsLayout,
  slotsShortOfNames,
  vocabularyFromSum,
  vocabularyLayout,
} from '../shared/secagg/vocabulary-parts.ts';
import type { TaskMeta } from '../shared/protocol/messages.ts';
import { STATS_STAGE } from '../shared/protocol/task-meta.ts';
import type { SecureSum } from './secure-round.ts';
import { requireQuorum, type StatisticsSource } from './statistics-rounds.ts';
import type { Quorum } from './start-quorum.ts';

type StatsMeta = Omit<TaskMeta, 'federation' | 'round' | 'kind' | 'weights' | 'config' | 'stage'>;

/** Runs statistics stage `stage` as a secure sum of `layoutFor`'s vector (secure-phases.ts: a stats task with a secagg session, then its four phases). */
export type RunSecureStats = (stage: number, meta: StatsMeta, layoutFor: (maxSites: number) => VectorLayout) => Promise<SecureSum>;

export function secureStatistics(o: { schema: Schema; config: SecAggConfig; quorum: Quorum; minCategoryCount: number; log: Logger }, sum: RunSecureStats): StatisticsSource {
  const { schema, config } = o;
  return {
    async summary() {
      const s1 = await sum(STATS_STAGE.summary, {}, (n) => summaryLayout(schema, config, n));
      requireQuorum(s1, 'statistics round', o.quorum);
      const summary = summaryFromSum(schema, s1.sums);
      const featureStats = { ...summary.featureStats };
      if (undeclaredFeatures(schema).length > 0) {
        // The sketch was keyed by stage 1's session: sites need it to say which of their values fall in a heavy bucket.
        const session = sessionOf(s1);
        const buckets = heavyBuckets(summary.sketch, o.minCategoryCount);
        // Rows per slot of the heavy buckets (a second hash of the value): only slots that reach the minimum are named.
        const s6 = await sum(STATS_STAGE.slots, { vocabulary: { session, buckets } }, (n) => slotCountsLayout(schema, buckets, config, n));
        requireQuorum(s6, 'vocabulary slot round', o.quorum);
        const slots = heavySlots(schema, buckets, s6.sums, o.minCategoryCount);
        // Names without attribution: summed like every statistic, so no name is known to come from one site.
        const s4 = await sum(STATS_STAGE.names, { vocabulary: { session, buckets, slots } }, (n) => namesLayout(schema, slots, n));
        requireQuorum(s4, 'vocabulary names round', o.quorum);
        const { names: candidates } = namesFromSum(schema, session, buckets, slots, s4.sums);
        const s5 = await sum(STATS_STAGE.vocabulary, { vocabulary: { candidates } }, (n) => vocabularyLayout(schema, candidates, config, n));
        requireQuorum(s5, 'vocabulary count round', o.quorum);
        const vocabulary = vocabularyFromSum(schema, candidates, s5.sums);
        Object.assign(featureStats, vocabulary);
        // Two values in one bucket and slot (about 1 in 262,144 per pair, a fresh draw each run): one of them may have folded.
        const short = slotsShortOfNames(schema, session, buckets, s6.sums, vocabulary.categories, o.minCategoryCount);
        if (Object.keys(short).length > 0)
          o.log.warn('category values may have folded into "other": a heavy slot holds at least the minimum of rows beyond its named values (two values met in one hash slot; a rerun draws new slots)', { slots: short });
      }
      return { featureStats, patternCounts: summary.patternCounts, perSite: new Map() };
    },
    async moments(space) {
      const dim = space.columns.length;
      const s2 = await sum(STATS_STAGE.moments, { featureSpace: space }, (n) => momentsLayout(dim, config, n));
      requireQuorum(s2, 'class-moment round', o.quorum);
      return [{ ...momentsFromSum(dim, s2.sums), summed: true }];
    },
    async cells(space, features, prior: PatternPrior) {
      const cells = cellList(schema.modalities.length, prior.patterns.map((p) => p.pattern), balanceFeatures(space, features));
      const s3 = await sum(STATS_STAGE.cells, { featureSpace: space, balanceFeatures: features, prior }, (n) => cellsLayout(cells, config, n));
      requireQuorum(s3, 'outcome-balancing round', o.quorum);
      return [cellsFromSum(cells, s3.sums)];
    },
  };
}

/** The session string a secure sum ran under (the sketch's hash key). */
function sessionOf(s: SecureSum): string {
  if (!s.session) throw new Error('secure statistics: the summary sum carries no session');
  return s.session;
}

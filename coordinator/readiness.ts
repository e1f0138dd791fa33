/**
 * After the statistics round: the federation summary a joining site checks itself
 * against (GET /api/summary), and each training site's own readiness verdict from the
 * sums it sent in that round, for /api/status. Nothing here sees a row.
 */
import type { FeatureSpace } from '../shared/data/feature-space.ts';
import type { PatternLabelCounts, PatternPrior } from '../shared/data/patterns.ts';
import type { Schema } from '../shared/data/schema.ts';
import type { FeatureStats } from '../shared/data/stats.ts';
import { FOREIGN_CATEGORY_SHARE } from '../shared/data/foreign-categories.ts';
import { mergeFeatureStats } from '../shared/data/stats.ts';
import { foldToVocabulary, OTHER_CATEGORY } from '../shared/data/vocabulary.ts';
import { buildFeatureSpace } from '../shared/data/feature-space.ts';
import { checkReadiness, verdictOf, type Reason, type ReadinessReport, type SiteSums } from '../shared/readiness/check.ts';
import { buildFederationSummary, type FederationSummary } from '../shared/readiness/summary.ts';
import { DEFAULT_MIN_CELL_COUNT, derivePrior, sumPatternCounts } from './priors.ts';
import { blameScaleSetters } from './scale-setter.ts';

export interface SiteStatistics {
  featureStats: FeatureStats;
  patternCounts: PatternLabelCounts;
}

export interface Readiness {
  summary: FederationSummary;
  /** Site name -> its verdict against the summary (the site's training rows, as it sent them). */
  sites: Record<string, ReadinessReport>;
}

/** The summary a coordinator would publish from these sites' sums (simulate's test-site check, tests). */
export function summaryOfSites(federation: string, schema: Schema, sums: readonly SiteSums[]): FederationSummary {
  const featureStats = mergeFeatureStats(sums.map((s) => s.featureStats));
  const patternCounts = sumPatternCounts(sums.map((s) => s.patternCounts));
  return buildFederationSummary({
    federation,
    schema,
    space: buildFeatureSpace(schema, featureStats),
    prior: derivePrior(patternCounts, DEFAULT_MIN_CELL_COUNT, 1),
    featureStats,
    patternCounts,
  });
}

export function federationReadiness(
  agreed: { federation: string; schema: Schema; space: FeatureSpace; prior: PatternPrior; featureStats: FeatureStats; patternCounts: PatternLabelCounts },
  perSite: ReadonlyMap<string, SiteStatistics>,
): Readiness {
  const summary = buildFederationSummary(agreed);
  const sites: Record<string, ReadinessReport> = {};
  // A site answered the statistics round under the coordinator's schema, so it shares the summary's fingerprint.
  // Its verdict goes to /api/status: values the vocabulary folded are counted there, never named, and
  // counts under the prior's minimum cell count are said as "fewer than".
  const folded = new Map([...perSite].map(([name, s]) => [name, foldToVocabulary(s.featureStats, summary.categorical)]));
  for (const [name, s] of perSite) {
    const featureStats = folded.get(name)!;
    const report = checkReadiness({ schemaFingerprint: summary.schema.fingerprint, featureStats, patternCounts: s.patternCounts }, summary, undefined, { smallCell: agreed.prior.minCount });
    const others = [...folded].filter(([n]) => n !== name).map(([, f]) => f);
    report.reasons.push(...foreignCodingReasons(agreed.schema, featureStats, others));
    sites[name] = { ...report, verdict: verdictOf(report.reasons) };
  }
  return { summary, sites: blameScaleSetters(sites, new Map([...perSite].map(([n, s]) => [n, s.featureStats]))) };
}

/**
 * A categorical column most of whose values at this site (more than FOREIGN_CATEGORY_SHARE)
 * no other training site holds: most likely the same categories coded another way (sex 1/2
 * beside M/F). The federation's vocabulary holds a training site's own coding once it is
 * common there, so readiness against it said nothing (an outside try); this compares with the
 * other training sites' values instead. Blocking, as a unit mismatch is: the site trained on
 * columns no one else fills. Sums folded to the published vocabulary, so rare values are
 * never named. A declared vocabulary refuses other values at load, and is not compared.
 */
function foreignCodingReasons(schema: Schema, mine: FeatureStats, others: readonly FeatureStats[]): Reason[] {
  if (others.length === 0) return [];
  const theirs = mergeFeatureStats(others);
  const reasons: Reason[] = [];
  for (const f of schema.categorical) {
    if (schema.categories.has(f)) continue;
    const known = Object.entries(theirs.categories[f] ?? {}).filter(([, k]) => k > 0).map(([v]) => v);
    const seen = Object.entries(mine.categories[f] ?? {}).filter(([, k]) => k > 0);
    const observed = seen.reduce((a, [, k]) => a + k, 0);
    // Folded values match nothing by name: "(other)" at both is no evidence either way.
    const outside = seen.filter(([v]) => v !== OTHER_CATEGORY && !known.includes(v)).sort((a, b) => b[1] - a[1]);
    const rows = outside.reduce((a, [, k]) => a + k, 0);
    if (known.length === 0 || observed === 0 || rows <= FOREIGN_CATEGORY_SHARE * observed) continue;
    reasons.push({
      severity: 'blocking',
      kind: 'foreign-coding',
      subject: f,
      message:
        `${f}: ${rows} of the site's ${observed} values are ones no other training site holds (${outside.map(([v, k]) => `"${v}" (${k})`).join(', ')}; ` +
        `theirs: ${known.filter((v) => v !== OTHER_CATEGORY).map((v) => `"${v}"`).join(', ') || 'only values too rare to name'}): the same categories coded another way, most likely (1/2 for M/F, yes/no for Y/N)`,
      figures: { rows, share: rows / observed },
    });
  }
  return reasons;
}

/** Training sites whose sums put them far from the federation (not ready: another unit or coding, most often), with the blocking reasons. */
export function sitesUnlikeFederation(sites: Readiness['sites'] | undefined): { site: string; reasons: string[] }[] {
  return Object.entries(sites ?? {})
    .filter(([, r]) => r.verdict === 'not-ready')
    .map(([site, r]) => ({ site, reasons: r.reasons.filter((x) => x.severity === 'blocking').map((x) => x.message) }));
}

/** The results' warnings for those sites: their rows trained the model as they are. */
export function readinessWarnings(sites: Readiness['sites'] | undefined): string[] {
  return sitesUnlikeFederation(sites).map(({ site, reasons }) => `site "${site}" is unlike the federation in the statistics it sent (${reasons.join('; ')}); it trained as it is: check its units and coding`);
}

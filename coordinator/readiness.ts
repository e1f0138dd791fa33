/**
 * After the statistics round: the federation summary a joining site checks itself
 * against (GET /api/summary), and each training site's own readiness verdict from the
 * sums it sent in that round, for /api/status. Nothing here sees a row.
 */
import type { FeatureSpace } from '../shared/data/feature-space.ts';
import type { PatternLabelCounts, PatternPrior } from '../shared/data/patterns.ts';
import type { Schema } from '../shared/data/schema.ts';
import type { FeatureStats } from '../shared/data/stats.ts';
import { foldToVocabulary } from '../shared/data/vocabulary.ts';
import { checkReadiness, type ReadinessReport } from '../shared/readiness/check.ts';
import { buildFederationSummary, type FederationSummary } from '../shared/readiness/summary.ts';

export interface SiteStatistics {
  featureStats: FeatureStats;
  patternCounts: PatternLabelCounts;
}

export interface Readiness {
  summary: FederationSummary;
  /** Site name -> its verdict against the summary (the site's training rows, as it sent them). */
  sites: Record<string, ReadinessReport>;
}

export function federationReadiness(
  agreed: { federation: string; schema: Schema; space: FeatureSpace; prior: PatternPrior; featureStats: FeatureStats; patternCounts: PatternLabelCounts },
  perSite: ReadonlyMap<string, SiteStatistics>,
): Readiness {
  const summary = buildFederationSummary(agreed);
  const sites: Record<string, ReadinessReport> = {};
  // A site answered the statistics round under the coordinator's schema, so it shares the summary's fingerprint.
  // Its verdict goes to /api/status: values the vocabulary folded are counted there, never named.
  for (const [name, s] of perSite) {
    const featureStats = foldToVocabulary(s.featureStats, summary.categorical);
    sites[name] = checkReadiness({ schemaFingerprint: summary.schema.fingerprint, featureStats, patternCounts: s.patternCounts }, summary);
  }
  return { summary, sites };
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

/**
 * The site readiness check: a site's own sums (FeatureStats and (pattern, label)
 * counts, exactly what it would send in the statistics round) against the
 * federation's published summary. Pure, so the CLI (a joining site, from its file)
 * and the coordinator (from the sums a site sent) give the same verdict.
 */
import { countPatternLabels, type PatternLabelCounts } from '../data/patterns.ts';
import type { Schema } from '../data/schema.ts';
import { computeFeatureStats, sampleSd, type FeatureStats } from '../data/stats.ts';
import type { SiteTable } from '../data/table.ts';
import { schemaFingerprint, type FederationSummary } from './summary.ts';

/** Thresholds, defined once; docs/configuration.md explains each. */
export const READINESS_THRESHOLDS = {
  /** |site mean - federation mean| / federation SD at or above which a numeric feature is shifted (warning). */
  smdWarn: 0.5,
  /** ... and at or above which the shift is severe (not ready: most often another unit or coding). */
  smdSevere: 1.0,
  /** Site SD / federation SD outside [1/x, x]: a warning. */
  sdRatioWarn: 2,
  /**
   * ... outside [1/x, x]: severe (not ready). 3, not 5: BNP in pmol/L beside pg/mL (x 3.47) was
   * only a warning and went unnoticed (an outside try); no site of the heart data or of a
   * researcher's six cohorts had a ratio past 2 without a changed unit.
   */
  sdRatioSevere: 3,
  /** |site label rate - federation label rate| above this: a warning (a plain difference: see docs). */
  labelRateWarn: 0.2,
  /** Fewer observed values than this at the site: mean and SD say too little, the feature is not compared. */
  minValues: 10,
} as const;

export type Thresholds = typeof READINESS_THRESHOLDS;

export type Verdict = 'ready' | 'ready-with-warnings' | 'not-ready';

/** `blocking` makes the site not ready, `warning` ready with warnings; a `note` changes nothing. */
export type Severity = 'blocking' | 'warning' | 'note';

export interface Reason {
  severity: Severity;
  kind: 'schema' | 'rows' | 'unseen-pattern' | 'suppressed-pattern' | 'shifted-mean' | 'sd-ratio' | 'unseen-category' | 'label-rate' | 'foreign-coding' | 'sets-scale';
  /** The feature or pattern the reason is about, when there is one. */
  subject?: string;
  message: string;
  /** The figures behind the message, for --json and the coordinator's status. */
  figures?: Record<string, number>;
}

export interface ReadinessReport {
  verdict: Verdict;
  reasons: Reason[];
  /** The largest |standardized mean difference| over the compared numeric features, and which. */
  largestShift?: { feature: string; smd: number };
}

/** What the site contributes, as sums. */
export interface SiteSums {
  schemaFingerprint: string;
  featureStats: FeatureStats;
  patternCounts: PatternLabelCounts;
}

/** A site's sums from its whole file, computed as the statistics round computes them. */
export function siteSums(schema: Schema, table: SiteTable): SiteSums {
  return {
    schemaFingerprint: schemaFingerprint(schema),
    featureStats: computeFeatureStats(schema, table),
    patternCounts: countPatternLabels(table.patterns, table.labels),
  };
}

/** 3 significant digits: the reasons carry numbers a person reads. */
export function fmt(x: number): string {
  return String(Number(x.toPrecision(3)));
}

function pct(x: number): string {
  return `${fmt(100 * x)}%`;
}

function rowsText(n: number, smallCell = 0): string {
  return n < smallCell ? `fewer than ${smallCell} rows` : `${n} row${n === 1 ? '' : 's'}`;
}

/** A count's figures, left out below `smallCell` (the message says "fewer than"). */
function rowFigures(n: number, rows: number, smallCell: number): Record<string, number> | undefined {
  return n < smallCell ? undefined : { rows: n, share: n / rows };
}

export interface ReadinessOptions {
  /**
   * Counts below this are said as "fewer than N rows", and their figures left out: the
   * coordinator's /api/status and state file showed "pattern 1111110: 2 rows" for a named site,
   * the very cells the prior suppresses (a DPO review). The site's own check shows them exactly.
   */
  smallCell?: number;
}

export function verdictOf(reasons: readonly Reason[]): Verdict {
  if (reasons.some((r) => r.severity === 'blocking')) return 'not-ready';
  return reasons.some((r) => r.severity === 'warning') ? 'ready-with-warnings' : 'ready';
}

export function checkReadiness(site: SiteSums, summary: FederationSummary, t: Thresholds = READINESS_THRESHOLDS, o: ReadinessOptions = {}): ReadinessReport {
  const small = o.smallCell ?? 0;
  if (site.schemaFingerprint !== summary.schema.fingerprint)
    // Nothing else is comparable under another schema: stop here.
    return { verdict: 'not-ready', reasons: [schemaReason(site.schemaFingerprint, summary.schema.fingerprint)] };
  const { rows, positives } = siteTotals(site.patternCounts);
  if (rows === 0) return { verdict: 'not-ready', reasons: [{ severity: 'blocking', kind: 'rows', message: 'the site has no rows' }] };
  const numeric = numericReasons(site.featureStats, summary, t);
  const reasons: Reason[] = [
    ...patternReasons(site.patternCounts, summary, rows, small),
    ...numeric.reasons,
    ...categoryReasons(site.featureStats, summary, rows, small),
    ...labelRateReasons(positives, rows, summary, t),
  ];
  const { largestShift } = numeric;
  return { verdict: verdictOf(reasons), reasons, ...(largestShift ? { largestShift } : {}) };
}

function schemaReason(siteFingerprint: string, federationFingerprint: string): Reason {
  return {
    severity: 'blocking',
    kind: 'schema',
    message: `the site's schema (fingerprint ${siteFingerprint.slice(0, 12)}) is not the federation's (${federationFingerprint.slice(0, 12)}): use the schema.json of the federation's kit`,
  };
}

/** The site's rows and positive labels, summed over its missingness patterns. */
function siteTotals(counts: PatternLabelCounts): { rows: number; positives: number } {
  let rows = 0;
  let positives = 0;
  for (const [n0, n1] of Object.values(counts)) {
    rows += n0 + n1;
    positives += n1;
  }
  return { rows, positives };
}

/** The site's missingness patterns the federation's prior lacks or gives no weight, most rows first. */
function patternReasons(counts: PatternLabelCounts, summary: FederationSummary, rows: number, small: number): Reason[] {
  const reasons: Reason[] = [];
  const inPrior = new Set(summary.prior.patterns.map((p) => p.pattern));
  const suppressed = new Set(summary.prior.suppressed);
  for (const [p, [n0, n1]] of Object.entries(counts).sort((a, b) => b[1][0] + b[1][1] - (a[1][0] + a[1][1]))) {
    if (inPrior.has(p)) continue;
    const n = n0 + n1;
    const share = n < small ? '' : ` (${pct(n / rows)} of the site's)`;
    const figures = rowFigures(n, rows, small);
    const missing = summary.schema.modalities.filter((_, k) => p[k] === '0');
    const what = `pattern ${p} (missing: ${missing.length ? missing.join(' + ') : 'none'})`;
    if (suppressed.has(p))
      reasons.push({
        severity: 'note',
        kind: 'suppressed-pattern',
        subject: p,
        message: `${what}: ${rowsText(n, small)}${share}; rare in the federation (under ${summary.prior.minCount} rows), so the prior gives it no weight`,
        ...(figures ? { figures } : {}),
      });
    else
      reasons.push({
        severity: 'warning',
        kind: 'unseen-pattern',
        subject: p,
        message: `${what}: ${rowsText(n, small)}${share} in a missingness pattern the federation's prior does not have (unseen there, or under ${summary.prior.minCount} rows in all)`,
        ...(figures ? { figures } : {}),
      });
  }
  return reasons;
}

/** One numeric feature's site and federation figures, as its reasons carry them (a type, so it is a Record). */
type NumericFigures = {
  siteMean: number;
  federationMean: number;
  federationSd: number;
  smd: number;
  siteSd: number;
};

/**
 * Numeric features with enough values at both ends, compared: shifted means and SD
 * ratios (in feature order, a feature's shift before its SD ratio), and the largest shift.
 */
function numericReasons(
  stats: FeatureStats,
  summary: FederationSummary,
  t: Thresholds,
): { reasons: Reason[]; largestShift: ReadinessReport['largestShift'] } {
  const reasons: Reason[] = [];
  let largestShift: ReadinessReport['largestShift'];
  for (const [f, fed] of Object.entries(summary.numeric)) {
    const s = stats.numeric[f];
    if (!s || s.count < t.minValues || fed.count < 2) continue;
    const mean = s.sum / s.count;
    const sd = sampleSd(s);
    const smd = (mean - fed.mean) / fed.sd;
    if (!largestShift || Math.abs(smd) > Math.abs(largestShift.smd)) largestShift = { feature: f, smd };
    const figures: NumericFigures = { siteMean: mean, federationMean: fed.mean, federationSd: fed.sd, smd, siteSd: sd };
    const shifted = shiftedMeanReason(f, figures, t);
    if (shifted) reasons.push(shifted);
    const spread = sdRatioReason(f, figures, t);
    if (spread) reasons.push(spread);
  }
  return { reasons, largestShift };
}

function shiftedMeanReason(f: string, figures: NumericFigures, t: Thresholds): Reason | undefined {
  const { siteMean: mean, federationMean, federationSd, smd } = figures;
  // Negated, not `<`: an SMD of NaN (a federation SD of 0) is no reason.
  if (!(Math.abs(smd) >= t.smdWarn)) return undefined;
  const severe = Math.abs(smd) >= t.smdSevere;
  return {
    severity: severe ? 'blocking' : 'warning',
    kind: 'shifted-mean',
    subject: f,
    message: `${f}: site mean ${fmt(mean)} vs federation ${fmt(federationMean)} (SD ${fmt(federationSd)}): shifted by ${fmt(smd)} SDs${severe ? ' (severe: check its unit and coding)' : ''}`,
    figures,
  };
}

/** A site SD far from the federation's, either way (the ratio or its inverse). */
function sdRatioReason(f: string, figures: NumericFigures, t: Thresholds): Reason | undefined {
  const { siteSd: sd, federationSd } = figures;
  const ratio = sd / federationSd;
  const off = Math.max(ratio, 1 / ratio);
  // Negated, not `<`: a ratio of NaN (both SDs 0) is no reason.
  if (!(off >= t.sdRatioWarn)) return undefined;
  const severe = off >= t.sdRatioSevere;
  return {
    severity: severe ? 'blocking' : 'warning',
    kind: 'sd-ratio',
    subject: f,
    message: `${f}: site SD ${fmt(sd)} vs federation ${fmt(federationSd)}: ratio ${fmt(ratio)}${severe ? ' (severe: check its unit and coding)' : ''}`,
    figures: { ...figures, sdRatio: ratio },
  };
}

/** Categorical values the site has and the federation's vocabulary lacks, per feature. */
function categoryReasons(stats: FeatureStats, summary: FederationSummary, rows: number, small: number): Reason[] {
  const reasons: Reason[] = [];
  for (const [f, known] of Object.entries(summary.categorical)) {
    const vocab = new Set(known);
    const seen = stats.categories[f] ?? {};
    const unseen = Object.entries(seen).filter(([v]) => !vocab.has(v));
    if (unseen.length === 0) continue;
    const n = unseen.reduce((a, [, k]) => a + k, 0);
    const figures = rowFigures(n, rows, small);
    reasons.push({
      severity: 'warning',
      kind: 'unseen-category',
      subject: f,
      message: `${f}: value${unseen.length > 1 ? 's' : ''} ${unseen.map(([v, k]) => `"${v}" (${rowsText(k, small)})`).join(', ')} not in the federation's vocabulary (${known.join(', ') || 'none'}); the model reads ${unseen.length > 1 ? 'them' : 'it'} as missing, or as "other" where the federation has that column`,
      ...(figures ? { figures } : {}),
    });
  }
  return reasons;
}

/** The site's label rate against the federation's: a reason when they differ by more than the threshold, else none. */
function labelRateReasons(positives: number, rows: number, summary: FederationSummary, t: Thresholds): Reason[] {
  const rate = positives / rows;
  const diff = rate - summary.labelRate;
  // Negated, not `<=`: a difference of NaN is no reason.
  if (!(Math.abs(diff) > t.labelRateWarn)) return [];
  // The two-proportion z statistic is reported for context; the verdict rests on the plain difference.
  const pooled = (positives + summary.positives) / (rows + summary.rows);
  const z = diff / Math.sqrt(pooled * (1 - pooled) * (1 / rows + 1 / Math.max(summary.rows, 1)));
  return [
    {
      severity: 'warning',
      kind: 'label-rate',
      message: `label rate ${pct(rate)} (${positives}/${rows}) vs federation ${pct(summary.labelRate)}: differs by ${fmt(100 * diff)} points (z = ${fmt(z)})`,
      figures: { siteRate: rate, federationRate: summary.labelRate, difference: diff, z },
    },
  ];
}

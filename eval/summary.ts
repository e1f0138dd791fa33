/**
 * The arithmetic behind the report, pure and separately tested: metrics from
 * predictions, means and spreads over seeds, the gap closure, target checks.
 */
import type { Prediction } from '../cli/simulate.ts';
import { classificationReport, meanAndSpread, type ClassificationReport, type MeanAndSpread } from '../shared/metrics/classification.ts';

export type Metric = 'auroc' | 'accuracy' | 'balancedAccuracy' | 'ece';
export const METRICS: readonly Metric[] = ['auroc', 'accuracy', 'balancedAccuracy', 'ece'];

/** One report per site, from the predictions of one run (sites in first-seen order). */
export function reportsBySite(preds: readonly Prediction[]): Record<string, ClassificationReport> {
  const by = new Map<string, { labels: number[]; scores: number[] }>();
  for (const p of preds) {
    let b = by.get(p.site);
    if (!b) by.set(p.site, (b = { labels: [], scores: [] }));
    b.labels.push(p.label);
    b.scores.push(p.score);
  }
  return Object.fromEntries([...by].map(([site, b]) => [site, classificationReport(b.labels, b.scores)]));
}

/** One report over the predictions of the listed sites together (FLamby's pooled test rows). */
export function pooledReport(preds: readonly Prediction[], sites?: readonly string[]): ClassificationReport {
  const keep = sites ? preds.filter((p) => sites.includes(p.site)) : preds;
  return classificationReport(
    keep.map((p) => p.label),
    keep.map((p) => p.score),
  );
}

/** Mean of one metric over sites (in-distribution AUROC: the training sites' held-out rows, site by site). */
export function meanOverSites(reports: Record<string, ClassificationReport>, metric: Metric, sites?: readonly string[]): number {
  const names = sites ?? Object.keys(reports);
  const xs = names.map((s) => {
    const r = reports[s];
    if (!r) throw new Error(`no report for site "${s}" (have: ${Object.keys(reports).join(', ')})`);
    return r[metric];
  });
  return meanAndSpread(xs).mean;
}

export function spread(values: readonly number[]): MeanAndSpread {
  return meanAndSpread([...values]);
}

/**
 * Share of the held-out gap between the plain backbone and the oracle that the
 * debiased model closes: (debiased - backbone) / (oracle - backbone). NaN when the
 * oracle is not above the backbone (there is no gap to close).
 */
export function gapClosure(debiased: number, backbone: number, oracle: number): number {
  const gap = oracle - backbone;
  if (!(gap > 1e-9) || !Number.isFinite(debiased)) return NaN;
  return (debiased - backbone) / gap;
}

export type Verdict = 'met' | 'missed' | 'n/a';

/** value >= target - tolerance; 'n/a' when either number is undefined. */
export function atLeast(value: number, target: number, tolerance = 0): Verdict {
  if (!Number.isFinite(value) || !Number.isFinite(target)) return 'n/a';
  return value >= target - tolerance - 1e-12 ? 'met' : 'missed';
}

/** "0.812 ± 0.021" ("-" for no finite value; no spread for a single value). */
export function fmtMeanStd(m: MeanAndSpread, decimals = 3): string {
  if (m.n === 0 || !Number.isFinite(m.mean)) return '-';
  const mean = m.mean.toFixed(decimals);
  return m.n === 1 ? mean : `${mean} ± ${m.std.toFixed(decimals)}`;
}

export function fmtPercent(x: number, decimals = 0): string {
  return Number.isFinite(x) ? `${(x * 100).toFixed(decimals)}%` : '-';
}

/**
 * AUROC with a weight per row: the weighted share of (positive, negative) pairs the
 * score orders correctly, ties counting half. Used to ask whether a feature still
 * predicts the label in a reweighted training sample. NaN without both classes.
 */
export function weightedAuroc(labels: ArrayLike<number>, scores: ArrayLike<number>, weights: ArrayLike<number>): number {
  const n = labels.length;
  if (scores.length !== n || weights.length !== n)
    throw new Error(`weightedAuroc: ${n} labels, ${scores.length} scores, ${weights.length} weights; they must match`);
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => scores[a]! - scores[b]!);
  // Sweep scores upward: each positive gains the weight of the negatives below it (+ half of tied ones).
  let negBelow = 0;
  let num = 0;
  let wPos = 0;
  let wNeg = 0;
  for (let s = 0; s < n; ) {
    let e = s;
    let tiePos = 0;
    let tieNeg = 0;
    while (e < n && scores[order[e]!] === scores[order[s]!]) {
      const i = order[e]!;
      if (labels[i] === 1) tiePos += weights[i]!;
      else tieNeg += weights[i]!;
      e++;
    }
    num += tiePos * (negBelow + tieNeg / 2);
    negBelow += tieNeg;
    wPos += tiePos;
    wNeg += tieNeg;
    s = e;
  }
  return wPos > 0 && wNeg > 0 ? num / (wPos * wNeg) : NaN;
}

/**
 * The tuning rule: among the candidates whose in-distribution AUROC is at or above
 * the oracle's (they may give up what the shortcut bought, not more), the one with
 * the largest gap closure. undefined when none qualifies.
 */
export function pickByGapClosure(
  candidates: readonly { id: string; gapClosure: number; inDist: number }[],
  oracleInDist: number,
): string | undefined {
  let best: { id: string; gapClosure: number } | undefined;
  for (const c of candidates) {
    if (!Number.isFinite(c.gapClosure) || !(c.inDist >= oracleInDist)) continue;
    if (!best || c.gapClosure > best.gapClosure) best = c;
  }
  return best?.id;
}

/**
 * Per seed, a - b (values matched by seed; a seed missing from either side, or a
 * non-finite value, is skipped): the mean and spread of the differences. Pairing by
 * seed takes out what a split does to both models alike.
 */
export function pairedDifference(
  a: readonly { seed: number; value: number }[],
  b: readonly { seed: number; value: number }[],
): MeanAndSpread {
  const byB = new Map(b.map((x) => [x.seed, x.value]));
  const diffs: number[] = [];
  for (const x of a) {
    const y = byB.get(x.seed);
    if (y !== undefined && Number.isFinite(x.value) && Number.isFinite(y)) diffs.push(x.value - y);
  }
  return spread(diffs);
}

/**
 * The tuning pick of a strategy setting: the candidate with the highest mean accuracy
 * on the tuning seeds; a tie (within 1e-9) goes to the higher AUROC, then to the
 * earlier candidate. Candidates without a finite accuracy are skipped; undefined when
 * none is left.
 */
export function pickByAccuracy<T extends { accuracy: number; auroc: number }>(candidates: readonly T[]): T | undefined {
  let best: T | undefined;
  for (const c of candidates) {
    if (!Number.isFinite(c.accuracy)) continue;
    if (!best || c.accuracy > best.accuracy + 1e-9) best = c;
    else if (Math.abs(c.accuracy - best.accuracy) <= 1e-9 && (c.auroc > best.auroc + 1e-9 || (!Number.isFinite(best.auroc) && Number.isFinite(c.auroc)))) best = c;
  }
  return best;
}

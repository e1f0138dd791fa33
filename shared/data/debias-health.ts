/**
 * Debiasing health, every round (METHOD.md: "watch for the collapse in training").
 * Each site sums, over its training rows and under the weights it trained with that
 * round: the weight totals (effective sample size, the share on up-weighted rows),
 * per flagged reading a weighted histogram by label (the weighted AUROC of the reading
 * against the label: 0.5 = balanced, below 0.5 = reversed), and per class the moments
 * of (model score, reading) (whether the model leans on the reading, or on its
 * reverse). Sums only, merged by the coordinator like every other statistic.
 */
import { ProtocolError } from '../errors.ts';
import type { EncodedData } from './encode.ts';

/** The reading's histogram: HIST_BINS equal bins over [-HIST_RANGE, HIST_RANGE] standardised units (ends clamped). */
export const HIST_BINS = 40;
export const HIST_RANGE = 4;
const MOMENTS = 6; // n, sum score, sum reading, sum score^2, sum reading^2, sum score*reading
/**
 * A row counts as up-weighted above 1.05 x the mean weight: weights of 1 +- 1e-4 (pattern
 * balancing with nothing to balance) put half the weight "on up-weighted rows" at a strict
 * 1 (an outside try read conflictingShare 0.50 beside an effective sample size of 0.9999).
 */
export const UP_WEIGHTED = 1.05;

export interface ReadingSums {
  feature: string;
  column: number;
  /** Weighted histogram of the reading per label: [label 0 bins, label 1 bins]. */
  hist: [number[], number[]];
  /** Per class: [n, Σs, Σv, Σs², Σv², Σsv] over rows where the reading is observed. */
  moments: [number[], number[]];
}

export interface HealthSums {
  n: number;
  sumW: number;
  sumW2: number;
  /** Weight on up-weighted rows (w > UP_WEIGHTED after normalising to mean 1): the bias-conflicting side. */
  upW: number;
  readings: ReadingSums[];
}

export interface HealthFigures {
  weightedAssociation: Record<string, number>;
  reliance: Record<string, number>;
  conflictingShare: number;
  effectiveSampleSize: number;
}

function bin(v: number): number {
  const b = Math.floor(((v + HIST_RANGE) / (2 * HIST_RANGE)) * HIST_BINS);
  return Math.min(HIST_BINS - 1, Math.max(0, b));
}

/** A site's sums. `w` are the row weights (any scale: normalised here), `scores` the model's P(y = 1) per row. */
export function healthSums(d: EncodedData, w: Float32Array, scores: Float32Array, readings: readonly { feature: string; column: number }[]): HealthSums {
  let sumW = 0;
  for (let i = 0; i < d.n; i++) sumW += w[i]!;
  const scale = sumW > 0 ? d.n / sumW : 0;
  const out: HealthSums = { n: d.n, sumW: 0, sumW2: 0, upW: 0, readings: [] };
  for (let i = 0; i < d.n; i++) {
    const wi = w[i]! * scale;
    out.sumW += wi;
    out.sumW2 += wi * wi;
    if (wi > UP_WEIGHTED) out.upW += wi;
  }
  for (const r of readings) {
    const hist: [number[], number[]] = [new Array<number>(HIST_BINS).fill(0), new Array<number>(HIST_BINS).fill(0)];
    const moments: [number[], number[]] = [new Array<number>(MOMENTS).fill(0), new Array<number>(MOMENTS).fill(0)];
    for (let i = 0; i < d.n; i++) {
      if (!d.observed[i * d.dim + r.column]) continue;
      const v = d.x[i * d.dim + r.column]!;
      const c = d.y[i] ? 1 : 0;
      hist[c][bin(v)]! += w[i]! * scale;
      const s = scores[i]!;
      const m = moments[c];
      m[0]! += 1;
      m[1]! += s;
      m[2]! += v;
      m[3]! += s * s;
      m[4]! += v * v;
      m[5]! += s * v;
    }
    out.readings.push({ feature: r.feature, column: r.column, hist, moments });
  }
  return out;
}

export function mergeHealthSums(list: readonly HealthSums[]): HealthSums {
  const out: HealthSums = { n: 0, sumW: 0, sumW2: 0, upW: 0, readings: [] };
  for (const h of list) {
    out.n += h.n;
    out.sumW += h.sumW;
    out.sumW2 += h.sumW2;
    out.upW += h.upW;
    h.readings.forEach((r, k) => {
      const t = (out.readings[k] ??= {
        feature: r.feature,
        column: r.column,
        hist: [new Array<number>(HIST_BINS).fill(0), new Array<number>(HIST_BINS).fill(0)],
        moments: [new Array<number>(MOMENTS).fill(0), new Array<number>(MOMENTS).fill(0)],
      });
      if (t.feature !== r.feature) throw new Error(`health sums disagree on reading ${k}: "${t.feature}" vs "${r.feature}"`);
      for (const c of [0, 1] as const) {
        r.hist[c].forEach((v, b) => (t.hist[c][b]! += v));
        r.moments[c].forEach((v, b) => (t.moments[c][b]! += v));
      }
    });
  }
  return out;
}

/** Weighted AUROC from two histograms over the same ordered bins (ties count half); NaN when a class is empty. */
export function histogramAuc(neg: readonly number[], pos: readonly number[]): number {
  let below = 0;
  let num = 0;
  let totalNeg = 0;
  let totalPos = 0;
  for (let b = 0; b < neg.length; b++) {
    num += pos[b]! * (below + neg[b]! / 2);
    below += neg[b]!;
    totalNeg += neg[b]!;
    totalPos += pos[b]!;
  }
  return totalNeg > 0 && totalPos > 0 ? num / (totalNeg * totalPos) : NaN;
}

/** Within-class correlation of score and reading, pooled over the classes (Fisher z, weights n - 3). */
function pooledCorrelation(moments: readonly (readonly number[])[]): number {
  let z = 0;
  let wsum = 0;
  for (const [n, s, v, ss, vv, sv] of moments as number[][]) {
    if (!(n! >= 4)) continue;
    const cs = ss! - (s! * s!) / n!;
    const cv = vv! - (v! * v!) / n!;
    if (!(cs / n! > 1e-12 && cv / n! > 1e-12)) continue;
    const r = Math.max(-0.999999, Math.min(0.999999, (sv! - (s! * v!) / n!) / Math.sqrt(cs * cv)));
    z += (n! - 3) * Math.atanh(r);
    wsum += n! - 3;
  }
  return wsum > 0 ? Math.tanh(z / wsum) : NaN;
}

/**
 * The figures from merged sums. `direction` gives each reading's sign of label
 * correlation, so 0.5 is balanced, above 0.5 the original link survives and below it
 * the weights reversed the reading; reliance > 0 = the model scores with the reading's
 * original direction within a class, < 0 = reversed.
 */
export function healthFigures(h: HealthSums, direction: Record<string, number>): HealthFigures {
  const weightedAssociation: Record<string, number> = {};
  const reliance: Record<string, number> = {};
  for (const r of h.readings) {
    const sign = (direction[r.feature] ?? 1) < 0 ? -1 : 1;
    const auc = histogramAuc(r.hist[0], r.hist[1]);
    weightedAssociation[r.feature] = sign > 0 ? auc : 1 - auc;
    reliance[r.feature] = sign * pooledCorrelation(r.moments);
  }
  return {
    weightedAssociation,
    reliance,
    conflictingShare: h.sumW > 0 ? h.upW / h.sumW : NaN,
    effectiveSampleSize: h.sumW2 > 0 && h.n > 0 ? (h.sumW * h.sumW) / (h.n * h.sumW2) : NaN,
  };
}

/** Shape check of a site's health sums before they are merged. */
export function validateHealthSums(raw: unknown, readings: readonly string[], where: string, rows?: number): HealthSums {
  const fail = (why: string): never => {
    throw new ProtocolError(`${where}: ${why}`, 'malformed');
  };
  if (typeof raw !== 'object' || raw === null) return fail('health sums must be an object');
  const o = raw as Record<string, unknown>;
  for (const k of ['n', 'sumW', 'sumW2', 'upW'])
    if (typeof o[k] !== 'number' || !Number.isFinite(o[k]) || o[k] < 0) fail(`${k} must be a finite number >= 0`);
  if (!Array.isArray(o.readings) || o.readings.length !== readings.length) fail(`readings must list ${readings.length} entries`);
  (o.readings as unknown[]).forEach((r, k) => {
    const e = r as Partial<ReadingSums> | null | undefined; // decoded JSON
    if (e?.feature !== readings[k]) fail(`readings[${k}] must be "${readings[k]}"`);
    const arrays = (a: unknown, len: number) =>
      Array.isArray(a) && a.length === 2 && a.every((x) => Array.isArray(x) && x.length === len && x.every((v) => typeof v === 'number' && Number.isFinite(v)));
    if (!arrays(e?.hist, HIST_BINS)) fail(`readings[${k}].hist must be two lists of ${HIST_BINS} finite numbers`);
    if (!arrays(e?.moments, MOMENTS)) fail(`readings[${k}].moments must be two lists of ${MOMENTS} finite numbers`);
  });
  const h = raw as HealthSums;
  const why = healthBoundsFault(h, rows);
  if (why) fail(why);
  return h;
}

/**
 * Largest |reading| the moments may carry, in standardised units: a site clips its values to
 * 10 robust SDs of its own file, far inside this; a sum of 1e308 is no reading.
 */
const MAX_READING_SDS = 1e6;
/** Float rounding in a site's sums (as result-bounds' SUM_ROUNDING). */
const SLACK = 1 + 1e-6;

/**
 * What sums of weights normalised to mean 1 (healthSums) can hold: n rows (at most the
 * site's, where given), a weight total of n, a squared total of at most n^2, histograms of
 * non-negative weight adding up to at most the total, moments of scores in [0, 1] and
 * readings within MAX_READING_SDS. One site's 1e308 or -1e6 set the federation's health
 * figures on its own (an outside attack); undefined where the sums are possible.
 */
function healthBoundsFault(h: HealthSums, rows: number | undefined): string | undefined {
  if (rows !== undefined && h.n > rows) return `n ${h.n} is more than the site's ${rows} rows`;
  if (h.sumW > h.n * SLACK + 1e-9) return `sumW ${h.sumW} is more than n ${h.n} (weights normalised to mean 1)`;
  if (h.upW > h.sumW * SLACK + 1e-9) return `upW ${h.upW} is more than sumW ${h.sumW}`;
  if (h.sumW2 > h.n * h.n * SLACK + 1e-9) return `sumW2 ${h.sumW2} is more than n^2 (${h.n * h.n})`;
  for (const [k, r] of h.readings.entries()) {
    const why = readingBoundsFault(r, h);
    if (why) return `readings[${k}].${why}`;
  }
  return undefined;
}

/** One reading's histogram and moments against the sums' totals (healthBoundsFault). */
function readingBoundsFault(r: ReadingSums, h: HealthSums): string | undefined {
  const weight = r.hist.flat();
  if (weight.some((v) => v < 0)) return 'hist holds a negative weight';
  if (weight.reduce((a, v) => a + v, 0) > h.sumW * SLACK + 1e-9) return `hist adds up to more than sumW ${h.sumW}`;
  if (r.moments[0][0]! + r.moments[1][0]! > h.n) return `moments count more rows than n ${h.n}`;
  for (const [c, m] of r.moments.entries()) {
    const [count, s, v, s2, v2, sv] = m as [number, number, number, number, number, number];
    const scores = count >= 0 && s >= 0 && s <= count * SLACK + 1e-9 && s2 >= 0 && s2 <= count * SLACK + 1e-9;
    const readings = v2 >= 0 && v2 <= count * MAX_READING_SDS ** 2 && Math.abs(v) <= count * MAX_READING_SDS && Math.abs(sv) <= count * MAX_READING_SDS;
    if (!scores || !readings) return `moments[${c}] are not sums of ${count} scores in [0, 1] and readings within ${MAX_READING_SDS} SDs`;
  }
  return undefined;
}

import { ProtocolError } from '../errors.ts';
import { checkInputs, ece } from './classification.ts';

/**
 * A site's own recalibration: Platt scaling (Platt 1999) each site fits on its OWN
 * training rows and applies to its own scores,
 *
 *   p' = sigmoid(a logit(p) + b),  (a, b) by maximum likelihood on the site's training rows.
 *
 * Why per site: one federated recalibration (./calibration.ts) fits every hospital with
 * the same (a, b), but the hospitals' prevalences differ widely (heart disease: 36% to
 * 94% positive) and a model trained across them, the debiased one most (its
 * pattern-outcome balancing and backdoor adjustment take away what the missingness
 * pattern says about the site's outcome rate), scores each site closer to the
 * federation's prevalence than the site's own: label shift, which the intercept b
 * corrects (Saerens et al. 2002). Why a slope too: how spread out the scores should be
 * differs by site and by model (weight decay, the debiased model's balancing), and a
 * shift alone cannot correct it; on separate seeds (11-15, never the reported ones) the
 * slope lowered held-out ECE for both models against the shift alone (docs/results.md).
 *
 * Platt's targets, (n1 + 1) / (n1 + 2) for a positive row and 1 / (n0 + 2) for a
 * negative one, instead of 0/1: his prior against over-fitting a few rows, and it keeps
 * the fit finite when the training scores separate the classes. At the fit the mean of
 * p' equals the mean target, reported as `prevalence`. a is kept in [0, MAX_SLOPE] (a
 * recalibration never reverses the ranking), b in [-MAX_SHIFT, MAX_SHIFT].
 *
 * A site whose training rows hold one class cannot fit a slope (nothing to separate):
 * its report is absent (siteCalibrationReport returns undefined), never a guess.
 */
export interface SiteCalibration {
  /** Slope on logit(p). */
  a: number;
  b: number;
  /** Training rows (a, b) were fitted on. */
  rows: number;
  /** The mean of Platt's targets over those rows (about their prevalence), which the recalibrated mean score matches. */
  prevalence: number;
  /** The mean raw score on those rows (the model's implied prior at this site). */
  meanScore: number;
}

export const MAX_SHIFT = 8;
export const MAX_SLOPE = 4;
const P_CLAMP = 1e-7;
/** Newton steps at most; each halves its step until the loss does not rise, so it converges well before. */
const MAX_NEWTON = 100;

function logit(p: number): number {
  const c = Math.min(Math.max(p, P_CLAMP), 1 - P_CLAMP);
  return Math.log(c) - Math.log1p(-c);
}

function sigmoid(z: number): number {
  const e = Math.exp(-Math.abs(z));
  return z >= 0 ? 1 / (1 + e) : e / (1 + e);
}

/** -sum t log sigmoid(z) + (1 - t) log(1 - sigmoid(z)), stable for large |z|. */
function loss(l: Float64Array, t: Float64Array, a: number, b: number): number {
  let s = 0;
  for (let i = 0; i < l.length; i++) {
    const z = a * l[i]! + b;
    s += Math.max(z, 0) - t[i]! * z + Math.log1p(Math.exp(-Math.abs(z)));
  }
  return s;
}

/** b alone for a fixed slope: the mean of p' equals the mean target (increasing in b: bisection, no step size). */
function interceptFor(l: Float64Array, target: number, a: number): number {
  let lo = -MAX_SHIFT;
  let hi = MAX_SHIFT;
  for (let k = 0; k < 60; k++) {
    const mid = (lo + hi) / 2;
    let m = 0;
    for (let i = 0; i < l.length; i++) m += sigmoid(a * l[i]! + mid);
    if (m / l.length < target) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

/** Damped Newton on the convex log-loss in (a, b), from the identity. */
function plattNewton(l: Float64Array, t: Float64Array): { a: number; b: number } {
  const n = l.length;
  let a = 1;
  let b = 0;
  let f = loss(l, t, a, b);
  for (let it = 0; it < MAX_NEWTON; it++) {
    let ga = 0, gb = 0, haa = 0, hab = 0, hbb = 0;
    for (let i = 0; i < n; i++) {
      const q = sigmoid(a * l[i]! + b);
      const r = q - t[i]!;
      const w = q * (1 - q);
      ga += r * l[i]!;
      gb += r;
      haa += w * l[i]! * l[i]!;
      hab += w * l[i]!;
      hbb += w;
    }
    const det = haa * hbb - hab * hab;
    if (!(det > 0)) break;
    const da = (hbb * ga - hab * gb) / det;
    const db = (haa * gb - hab * ga) / det;
    let step = 1;
    let next = loss(l, t, a - da, b - db);
    while (next > f && step > 1e-6) {
      step /= 2;
      next = loss(l, t, a - step * da, b - step * db);
    }
    if (next > f) break;
    a -= step * da;
    b -= step * db;
    const moved = Math.max(Math.abs(step * da), Math.abs(step * db));
    f = next;
    if (moved < 1e-10) break;
  }
  return { a, b };
}

/**
 * (a, b) fitted on a site's training rows: labels `y` (0/1) and the final model's scores
 * `p`. Identity with no rows; with one class only, the slope is left at 1 (see above: the
 * report is absent for such a site).
 */
export function fitSiteCalibration(y: ArrayLike<number>, p: ArrayLike<number>): SiteCalibration {
  checkInputs(y, p, true);
  const n = y.length;
  if (n === 0) return { a: 1, b: 0, rows: 0, prevalence: NaN, meanScore: NaN };
  let n1 = 0;
  let meanScore = 0;
  const l = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    n1 += y[i]!;
    meanScore += p[i]! / n;
    l[i] = logit(p[i]!);
  }
  const n0 = n - n1;
  const t = Float64Array.from({ length: n }, (_, i) => (y[i] ? (n1 + 1) / (n1 + 2) : 1 / (n0 + 2)));
  const prevalence = t.reduce((s, x) => s + x, 0) / n;
  if (n1 === 0 || n0 === 0) return { a: 1, b: interceptFor(l, prevalence, 1), rows: n, prevalence, meanScore };
  let { a, b } = plattNewton(l, t);
  // Out of bounds: the slope at its bound and the intercept refitted for it (the mean still matches).
  if (!(a >= 0 && a <= MAX_SLOPE) || !(Math.abs(b) <= MAX_SHIFT)) {
    a = Math.min(Math.max(Number.isFinite(a) ? a : 1, 0), MAX_SLOPE);
    b = interceptFor(l, prevalence, a);
  }
  return { a, b, rows: n, prevalence, meanScore };
}

/** Scores with a site's recalibration applied (the identity returns them unchanged). */
export function applySiteCalibration(p: ArrayLike<number>, c: Pick<SiteCalibration, 'a' | 'b'>): Float32Array {
  checkInputs(new Uint8Array(p.length), p, true);
  const out = new Float32Array(p.length);
  for (let i = 0; i < p.length; i++) out[i] = c.a === 1 && c.b === 0 ? p[i]! : sigmoid(c.a * logit(p[i]!) + c.b);
  return out;
}

/** What a site reports at the final evaluation: its (a, b), and ECE of its held-out rows before and after it. */
export interface SiteCalibrationReport extends SiteCalibration {
  eceBefore: number;
  eceAfter: number;
}

/**
 * Fits on the training rows, scores on the held-out rows: the two sets never meet.
 * Undefined (the report is absent) when the training rows hold fewer than both classes.
 */
export function siteCalibrationReport(
  train: { labels: ArrayLike<number>; scores: ArrayLike<number> },
  test: { labels: ArrayLike<number>; scores: ArrayLike<number> },
): SiteCalibrationReport | undefined {
  const positives = Array.from(train.labels).reduce((s, x) => s + x, 0);
  if (positives === 0 || positives === train.labels.length) return undefined;
  const fit = fitSiteCalibration(train.labels, train.scores);
  return { ...fit, eceBefore: ece(test.labels, test.scores), eceAfter: ece(test.labels, applySiteCalibration(test.scores, fit)) };
}

/**
 * How far past [0, 1] a share (a mean score, a prevalence, an ECE) may read by float
 * rounding alone: an honest site's mean of scores in [0, 1] read 1.0000000000000056. Within
 * it the value is clamped into [0, 1]; beyond it the report is refused.
 */
export const SHARE_ROUNDING = 1e-9;

/** `x` clamped into [0, 1] when it lies within SHARE_ROUNDING of it; undefined when it lies further out. */
export function shareWithinRounding(x: number): number | undefined {
  if (!(x >= -SHARE_ROUNDING && x <= 1 + SHARE_ROUNDING)) return undefined;
  return Math.min(Math.max(x, 0), 1);
}

/** Checks a site's report before it goes into the results file; throws ProtocolError ('malformed'). Only its known fields are kept. */
export function validateSiteCalibration(raw: unknown, where: string): SiteCalibrationReport {
  const v = checkedFields(raw, where, ['a', 'b', 'rows', 'prevalence', 'meanScore', 'eceBefore', 'eceAfter']);
  return { a: v.a!, b: v.b!, rows: v.rows!, prevalence: v.prevalence!, meanScore: v.meanScore!, eceBefore: v.eceBefore!, eceAfter: v.eceAfter! };
}

/** A secure run's report of a site's own recalibration (its (a, b) and ECE before and after, rounded; no row count); throws ProtocolError ('malformed'). */
export function validateSiteCalibrationRates(raw: unknown, where: string): Pick<SiteCalibrationReport, 'a' | 'b' | 'eceBefore' | 'eceAfter'> {
  const v = checkedFields(raw, where, ['a', 'b', 'eceBefore', 'eceAfter']);
  return { a: v.a!, b: v.b!, eceBefore: v.eceBefore!, eceAfter: v.eceAfter! };
}

type Field = keyof SiteCalibrationReport;

/** The fields that are not shares (those are in [0, 1], or NaN), and are never absent. */
const FIELD_CHECKS: Partial<Record<Field, { ok: (x: number) => boolean; what: string }>> = {
  a: { ok: (x) => x >= 0 && x <= MAX_SLOPE, what: `a number in [0, ${MAX_SLOPE}]` },
  b: { ok: (x) => Math.abs(x) <= MAX_SHIFT, what: `a number in [-${MAX_SHIFT}, ${MAX_SHIFT}]` },
  rows: { ok: (x) => Number.isInteger(x) && x >= 0, what: 'an integer >= 0' },
};

function checkedFields(raw: unknown, where: string, fields: readonly Field[]): Partial<Record<Field, number>> {
  const fail = (why: string): never => {
    throw new ProtocolError(`${where}: ${why}`, 'malformed');
  };
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return fail('not an object');
  const o = raw as Record<string, unknown>;
  const num = (k: Field): number => {
    const v = o[k];
    const check = FIELD_CHECKS[k];
    // NaN travels as null in JSON: an ECE or mean of zero rows.
    if (v === null || v === undefined) return check ? fail(`${k} is missing`) : NaN;
    const bad = (what: string): never => fail(`${k} is ${JSON.stringify(v).slice(0, 40)}; must be ${what}`);
    if (typeof v !== 'number') return bad('a number');
    if (check) return check.ok(v) ? v : bad(check.what);
    return Number.isNaN(v) ? v : (shareWithinRounding(v) ?? bad('in [0, 1]'));
  };
  return Object.fromEntries(fields.map((k) => [k, num(k)]));
}

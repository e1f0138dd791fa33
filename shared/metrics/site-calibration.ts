import { ProtocolError } from '../errors.ts';
import { checkInputs, ece } from './classification.ts';

/**
 * A site's own recalibration: a prior (label-shift) correction each site fits on its
 * OWN training rows and applies to its own scores,
 *
 *   p' = sigmoid(logit(p) + b),  b such that  mean over the site's training rows of p' = the site's prevalence.
 *
 * Why per site, and why this form: one federated recalibration (./calibration.ts) fits
 * every hospital with the same (a, b), but the hospitals' prevalences differ widely
 * (heart disease: 36% to 94% positive) and a model trained across them, the debiased one
 * most (its pattern-outcome balancing and backdoor adjustment take away what the
 * missingness pattern says about the site's outcome rate), scores each site closer to
 * the federation's prevalence than the site's own. That is label shift, which Saerens
 * et al. (2002) correct by moving the logit by the log-odds between the new prior and
 * the model's. The model's implied prior at a site is not the federation's (features
 * carry part of the site's rate), so b is solved from the model's own mean score on the
 * site's training rows rather than taken as logit(site prior) - logit(federation prior).
 * One parameter, so a few dozen rows fix it; the rows scored are never the rows fitted.
 *
 * The prevalence is smoothed, (positives + 0.5) / (rows + 1), so a site of one class
 * gets a finite shift; |b| is at most MAX_SHIFT.
 */
export interface SiteCalibration {
  /** Slope: always 1 (the shift only); kept so p' = sigmoid(a logit(p) + b) reads as ./calibration.ts's fits. */
  a: number;
  b: number;
  /** Training rows the shift was fitted on. */
  rows: number;
  /** The smoothed prevalence of those rows, which the shifted mean score matches. */
  prevalence: number;
  /** The mean raw score on those rows (the model's implied prior at this site). */
  meanScore: number;
}

export const MAX_SHIFT = 8;
const P_CLAMP = 1e-7;

function logit(p: number): number {
  const c = Math.min(Math.max(p, P_CLAMP), 1 - P_CLAMP);
  return Math.log(c) - Math.log1p(-c);
}

function sigmoid(z: number): number {
  const e = Math.exp(-Math.abs(z));
  return z >= 0 ? 1 / (1 + e) : e / (1 + e);
}

/** The shift fitted on a site's training rows: labels `y` (0/1) and the final model's scores `p`. Identity with no rows. */
export function fitSiteCalibration(y: ArrayLike<number>, p: ArrayLike<number>): SiteCalibration {
  checkInputs(y, p, true);
  const n = y.length;
  if (n === 0) return { a: 1, b: 0, rows: 0, prevalence: NaN, meanScore: NaN };
  let pos = 0;
  let meanScore = 0;
  const l = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    pos += y[i]!;
    meanScore += p[i]! / n;
    l[i] = logit(p[i]!);
  }
  const prevalence = (pos + 0.5) / (n + 1);
  const meanAt = (b: number) => {
    let s = 0;
    for (let i = 0; i < n; i++) s += sigmoid(l[i]! + b);
    return s / n;
  };
  // The mean is increasing in b: bisection to double precision, no step size to tune.
  let lo = -MAX_SHIFT;
  let hi = MAX_SHIFT;
  for (let k = 0; k < 60; k++) {
    const mid = (lo + hi) / 2;
    if (meanAt(mid) < prevalence) lo = mid;
    else hi = mid;
  }
  return { a: 1, b: (lo + hi) / 2, rows: n, prevalence, meanScore };
}

/** Scores with a site's shift applied (the identity shift returns them unchanged). */
export function applySiteCalibration(p: ArrayLike<number>, c: Pick<SiteCalibration, 'a' | 'b'>): Float32Array {
  checkInputs(new Uint8Array(p.length), p, true);
  const out = new Float32Array(p.length);
  for (let i = 0; i < p.length; i++) out[i] = c.a === 1 && c.b === 0 ? p[i]! : sigmoid(c.a * logit(p[i]!) + c.b);
  return out;
}

/** What a site reports at the final evaluation: its shift, and ECE of its held-out rows before and after it. */
export interface SiteCalibrationReport extends SiteCalibration {
  eceBefore: number;
  eceAfter: number;
}

/** Fits on the training rows, scores on the held-out rows: the two sets never meet. */
export function siteCalibrationReport(
  train: { labels: ArrayLike<number>; scores: ArrayLike<number> },
  test: { labels: ArrayLike<number>; scores: ArrayLike<number> },
): SiteCalibrationReport {
  const fit = fitSiteCalibration(train.labels, train.scores);
  return { ...fit, eceBefore: ece(test.labels, test.scores), eceAfter: ece(test.labels, applySiteCalibration(test.scores, fit)) };
}

/** Checks a site's report before it goes into the results file; throws ProtocolError ('malformed'). */
export function validateSiteCalibration(raw: unknown, where: string): SiteCalibrationReport {
  const fail = (why: string): never => {
    throw new ProtocolError(`${where}: ${why}`, 'malformed');
  };
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return fail('not an object');
  const o = raw as Record<string, unknown>;
  const num = (k: string, ok: (x: number) => boolean, what: string): number => {
    const v = o[k];
    // NaN travels as null in JSON: an ECE or mean of zero rows.
    if (v === null || v === undefined) return k === 'a' || k === 'b' || k === 'rows' ? fail(`${k} is missing`) : NaN;
    if (typeof v !== 'number' || !ok(v)) return fail(`${k} is ${JSON.stringify(v)}; must be ${what}`);
    return v;
  };
  const unit = (x: number) => x >= 0 && x <= 1;
  return {
    a: num('a', (x) => x === 1, '1 (a shift only)'),
    b: num('b', (x) => Math.abs(x) <= MAX_SHIFT, `a number in [-${MAX_SHIFT}, ${MAX_SHIFT}]`),
    rows: num('rows', (x) => Number.isInteger(x) && x >= 0, 'an integer >= 0'),
    prevalence: num('prevalence', unit, 'in [0, 1]'),
    meanScore: num('meanScore', unit, 'in [0, 1]'),
    eceBefore: num('eceBefore', unit, 'in [0, 1]'),
    eceAfter: num('eceAfter', unit, 'in [0, 1]'),
  };
}

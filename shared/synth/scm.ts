/**
 * The structural causal model behind `fedcausal synth`: multi-site cohorts whose
 * causal and spurious structure is known, so a debiasing method can be checked
 * against the truth (METHOD.md, "How we know it works").
 *
 * Graph, per site i (the last site is the held-out one):
 *   site -> severity s ~ N(mu_i, 1)                       (referral population)
 *   s, site -> y ~ Bernoulli(sigmoid(alpha * s + prev_i)) (prevalence shift)
 *   s -> demographics, labs (+ site calibration shift), vitals   (causal features)
 *   y -> imaging reading at training sites (label-only: knows y, not s);
 *        at the held-out site the link is flipped or broken
 *   y, site -> imaging acquired (outcome-driven ordering; label-free when held out)
 *   s, site -> labs ordered (sicker patients get more tests); vitals missing at random
 */
import { Rng } from '../rng.ts';

/** Every generator input; options.ts holds each knob's flag, default, range and doc. */
export interface ScmParams {
  sites: number;
  rows: number;
  seed: number;
  spuriousStrength: number;
  spuriousFlip: boolean;
  missingBias: number;
  siteShift: number;
  alpha: number;
  noise: number;
  labsSeverity: number;
}

export const LABEL_COLUMN = 'y';
/** Modalities in schema order; a pattern bit per modality follows this order. */
export const MODALITIES = {
  demographics: ['age', 'sex'],
  labs: ['lab1', 'lab2', 'lab3'],
  vitals: ['vital1', 'vital2'],
  imaging: ['reading'],
} as const satisfies Record<string, readonly string[]>;
export type Modality = keyof typeof MODALITIES;
export const FEATURES: readonly string[] = Object.values(MODALITIES).flat();
/** `sex` is categorical so the one-hot path of the data pipeline is exercised. */
export const CATEGORICAL: readonly string[] = ['sex'];
export const CAUSAL_FEATURES: readonly string[] = ['age', 'sex', 'lab1', 'lab2', 'lab3', 'vital1', 'vital2'];
export const SPURIOUS_FEATURES: readonly string[] = ['reading'];

/** Loadings of the numeric causal features on severity (signs differ on purpose). */
const LOADING = { age: 0.3, sex: 0.5, lab1: 0.8, lab2: 0.6, lab3: -0.6, vital1: 0.7, vital2: -0.4 };
/** Vitals are taken for nearly everyone, independently of anything (MCAR). */
const VITALS_PRESENT = 0.9;
/** Baseline log-odds that labs are ordered, before site and severity. */
const LABS_BASE = 1.0;

export type Value = number | string | null;

export interface SynthRow {
  /** The latent severity: kept in memory for tests and evaluation, never written. */
  severity: number;
  y: 0 | 1;
  /** Feature values in FEATURES order; null = missing. */
  values: Value[];
}

export interface SiteEffects {
  /** Severity offset (referral population). */
  severityOffset: number;
  /** Additive calibration shift of every lab (site's analyser). */
  labShift: number;
  /** Added to the outcome's log-odds. */
  prevalenceShift: number;
  /** Site's log-odds of acquiring imaging, before the label term. */
  imagingBase: number;
  /** Site's log-odds of ordering labs, before the severity term. */
  labsBase: number;
}

export interface SynthSite {
  name: string;
  heldOut: boolean;
  effects: SiteEffects;
  rows: SynthRow[];
}

export const siteName = (i: number): string => `site${i + 1}`;

const sigmoid = (x: number): number => 1 / (1 + Math.exp(-x));

/**
 * Site effects from two fixed profiles scaled by siteShift: p spreads sites evenly
 * over [-1, 1] (the held-out site at +1), q alternates +1/-1 so the lab calibration
 * and prevalence shifts are not aligned with severity. Fixed rather than drawn, so
 * a seed changes the patients but never the sites' character.
 */
export function siteEffects(i: number, params: ScmParams): SiteEffects {
  const p = params.sites === 1 ? 0 : -1 + (2 * i) / (params.sites - 1);
  const q = i % 2 === 0 ? 1 : -1;
  const k = params.siteShift;
  return {
    severityOffset: k * p,
    labShift: k * q,
    // Same direction as the lab shift: the site confounds labs and outcome together.
    prevalenceShift: k * q,
    imagingBase: k * p,
    labsBase: LABS_BASE - k * q,
  };
}

function generateRow(rng: Rng, params: ScmParams, fx: SiteEffects, heldOut: boolean): SynthRow {
  const { noise, spuriousStrength: strength } = params;
  // Every draw happens for every row, in a fixed order, so changing a knob that
  // only gates missingness leaves the other values of the same seed unchanged.
  const s = fx.severityOffset + rng.normal();
  const y: 0 | 1 = rng.next() < sigmoid(params.alpha * s + fx.prevalenceShift) ? 1 : 0;
  const numeric = (loading: number): number => loading * s + noise * rng.normal();
  const age = 60 + 10 * numeric(LOADING.age);
  const sex = rng.next() < sigmoid(LOADING.sex * s) ? 'M' : 'F';
  const labs = [LOADING.lab1, LOADING.lab2, LOADING.lab3].map((l) => numeric(l) + fx.labShift);
  const vitals = [LOADING.vital1, LOADING.vital2].map(numeric);
  // Label-only reading: carries y, not s. Held out: flipped, or a coin instead of y.
  const sign = 2 * y - 1;
  const coin = rng.next() < 0.5 ? 1 : -1;
  const link = !heldOut ? sign : params.spuriousFlip ? -sign : coin;
  const reading = strength * link + rng.normal();
  // Outcome-driven imaging at training sites; label-free ordering where held out.
  const imagingOdds = fx.imagingBase + (heldOut ? 0 : params.missingBias * sign);
  const imagingPresent = rng.next() < sigmoid(imagingOdds);
  const labsPresent = rng.next() < sigmoid(fx.labsBase + params.labsSeverity * s);
  const vitalsPresent = rng.next() < VITALS_PRESENT;
  const gate = <T>(present: boolean, vs: T[]): (T | null)[] => (present ? vs : vs.map(() => null));
  return {
    severity: s,
    y,
    values: [
      age,
      sex,
      ...gate(labsPresent, labs),
      ...gate(vitalsPresent, vitals),
      ...gate(imagingPresent, [reading]),
    ],
  };
}

/**
 * The whole cohort in memory: a pure function of the parameters. Each site draws
 * from its own stream (forked from the seed by site index), so a site's rows do
 * not depend on how many rows the other sites have.
 */
export function generateSites(params: ScmParams): SynthSite[] {
  const sites: SynthSite[] = [];
  for (let i = 0; i < params.sites; i++) {
    const rng = new Rng(params.seed).fork(i);
    const heldOut = i === params.sites - 1;
    const effects = siteEffects(i, params);
    const rows: SynthRow[] = [];
    for (let r = 0; r < params.rows; r++) rows.push(generateRow(rng, params, effects, heldOut));
    sites.push({ name: siteName(i), heldOut, effects, rows });
  }
  return sites;
}

/** Column of one feature across rows (null where missing), for tests and evaluation. */
export function featureColumn(rows: readonly SynthRow[], feature: string): Value[] {
  const j = FEATURES.indexOf(feature);
  if (j < 0) throw new Error(`unknown synthetic feature "${feature}"`);
  return rows.map((r) => r.values[j] ?? null);
}

/** Whether a modality is present for a row (all its features non-missing). */
export function modalityPresent(row: SynthRow, modality: Modality): boolean {
  return MODALITIES[modality].every((f) => row.values[FEATURES.indexOf(f)] !== null);
}

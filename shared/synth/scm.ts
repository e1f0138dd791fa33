/**
 * The structural causal model behind `fedcausal synth`: multi-site cohorts whose
 * causal and spurious structure is known, so a debiasing method can be checked
 * against the truth (METHOD.md, "How we know it works"). The knobs (options.ts)
 * pick one member of a family of cohorts; the defaults are the original cohort.
 *
 * Graph, per site i (the last site is the held-out one), latent-severity mode:
 *   site -> severity s ~ N(mu_i, 1)                       (referral population)
 *   s, site -> y ~ Bernoulli(sigmoid(alpha * s + prev_i + offset)) (prevalence shift)
 *   s -> demographics, labs (+ site calibration shift), vitals   (causal features)
 *   y -> imaging reading at training sites (label-only: knows y, not s; with
 *        probability 1 - agreement its link is a coin instead of y);
 *        at the held-out site the link is flipped or broken
 *   y -> device reading2 (--readings 2): a second label-only reading, same rules,
 *        recorded for 90% of rows completely at random
 *   y, site -> imaging acquired (logit(imaging rate) + site term + outcome term;
 *        label-free when held out)
 *   s, site -> labs ordered (sicker patients get more tests); vitals missing at random
 *
 * Label-driven mode (--label-driven true): no latent severity. y ~ Bernoulli(
 * sigmoid(prev_i + offset)), and every feature is caused by y alone (loading * (2y-1) +
 * noise), so within a class nothing co-varies. The readings are then real
 * outcome markers whose link to y holds at the held-out site too.
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
  /** The missingBias label term at the held-out site too (a shared practice, not a habit). */
  missingHeldOut: boolean;
  siteShift: number;
  alpha: number;
  /** Log-odds added to the outcome everywhere (negative = rarer outcome). */
  outcomeOffset: number;
  noise: number;
  labsSeverity: number;
  /** Base probability that imaging is acquired (0.5 = log-odds 0; 1 = always). */
  imagingRate: number;
  /** Probability the reading's link is y rather than a fresh coin (1 = always y). */
  agreement: number;
  /** Label-only readings: 1 (`reading`) or 2 (also `reading2` in modality `device`). */
  readings: number;
  /** How the readings are written: numbers, or the categories high (> 0) / low. */
  readingType: ReadingType;
  /** Features caused by the outcome alone (no latent severity); readings are real markers. */
  labelDriven: boolean;
}

export type ReadingType = 'numeric' | 'categorical';

export const LABEL_COLUMN = 'y';
/**
 * Modalities in schema order with one reading (the default); a pattern bit per
 * modality follows this order. synthModalities adds `device` for --readings 2.
 */
export const MODALITIES = {
  demographics: ['age', 'sex'],
  labs: ['lab1', 'lab2', 'lab3'],
  vitals: ['vital1', 'vital2'],
  imaging: ['reading'],
} as const satisfies Record<string, readonly string[]>;
/** The second reading's modality, after imaging in schema order (--readings 2 only). */
export const DEVICE_MODALITY = { device: ['reading2'] } as const;
export type Modality = keyof typeof MODALITIES | keyof typeof DEVICE_MODALITY;
/** Feature columns with the default knobs (one reading), in row and CSV order. */
export const FEATURES: readonly string[] = Object.values(MODALITIES).flat();
/** Every feature any cohort of the family can have; a row's values are a prefix of it. */
const ALL_FEATURES: readonly string[] = [...FEATURES, ...DEVICE_MODALITY.device];
/** `sex` is categorical so the one-hot path of the data pipeline is exercised. */
export const CATEGORICAL: readonly string[] = ['sex'];
export const CAUSAL_FEATURES: readonly string[] = ['age', 'sex', 'lab1', 'lab2', 'lab3', 'vital1', 'vital2'];
/** The spurious features with the default knobs; see spuriousFeatures for the family. */
export const SPURIOUS_FEATURES: readonly string[] = ['reading'];

type LayoutParams = Pick<ScmParams, 'readings' | 'readingType' | 'labelDriven'>;

/** The label-only reading columns the knobs ask for: reading, and reading2 with --readings 2. */
export function readingFeatures(params: Pick<ScmParams, 'readings'>): string[] {
  return params.readings >= 2 ? ['reading', 'reading2'] : ['reading'];
}

/** Modality -> features in schema order for the given knobs. */
export function synthModalities(params: Pick<ScmParams, 'readings'>): Record<string, string[]> {
  const all: Record<string, readonly string[]> = params.readings >= 2 ? { ...MODALITIES, ...DEVICE_MODALITY } : MODALITIES;
  return Object.fromEntries(Object.entries(all).map(([m, fs]) => [m, [...fs]]));
}

/** Feature columns in row and CSV order for the given knobs. */
export function synthFeatures(params: Pick<ScmParams, 'readings'>): string[] {
  return Object.values(synthModalities(params)).flat();
}

/** Categorical columns: sex, plus the readings when they are written as high/low. */
export function categoricalFeatures(params: Pick<ScmParams, 'readings' | 'readingType'>): string[] {
  return [...CATEGORICAL, ...(params.readingType === 'categorical' ? readingFeatures(params) : [])];
}

/** Features that cause (or, label-driven, are caused by) y the same way at every site. */
export function causalFeatures(params: LayoutParams): string[] {
  return [...CAUSAL_FEATURES, ...(params.labelDriven ? readingFeatures(params) : [])];
}

/** Shortcut features whose link to y breaks at the held-out site (none when label-driven). */
export function spuriousFeatures(params: LayoutParams): string[] {
  return params.labelDriven ? [] : readingFeatures(params);
}

/** Loadings of the numeric causal features on severity (signs differ on purpose). */
const LOADING = { age: 0.3, sex: 0.5, lab1: 0.8, lab2: 0.6, lab3: -0.6, vital1: 0.7, vital2: -0.4 };
/** Vitals are taken for nearly everyone, independently of anything (MCAR). */
const VITALS_PRESENT = 0.9;
/** The device reading (--readings 2) is recorded likewise, independently of anything. */
const DEVICE_PRESENT = 0.9;
/** Baseline log-odds that labs are ordered, before site and severity. */
const LABS_BASE = 1.0;

export type Value = number | string | null;

export interface SynthRow {
  /**
   * The latent severity: kept in memory for tests and evaluation, never written.
   * Label-driven cohorts have no latent: there it is 2y-1, what drove the features.
   */
  severity: number;
  y: 0 | 1;
  /** Feature values in the site's `features` order (synthFeatures); null = missing. */
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
  /** Column order of every row's values (synthFeatures of the knobs). */
  features: string[];
  rows: SynthRow[];
}

export const siteName = (i: number): string => `site${i + 1}`;

const sigmoid = (x: number): number => 1 / (1 + Math.exp(-x));
const logit = (p: number): number => Math.log(p / (1 - p));
const coinOf = (u: number): 1 | -1 => (u < 0.5 ? 1 : -1);

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

/**
 * Salt of a site's second stream (site i: EXTRA_STREAM + i). Site streams use
 * salts 0..99, and fork's salt mixing is a bijection, so the streams never meet.
 */
const EXTRA_STREAM = 0x10000;

/**
 * One patient. `rng` is the site's original stream, `extra` its second stream,
 * which feeds every draw added with the later knobs (agreement, the second
 * reading): the original stream sees exactly the draws it always did, so the
 * default knobs give the original files byte for byte.
 */
function generateRow(rng: Rng, extra: Rng, params: ScmParams, fx: SiteEffects, heldOut: boolean): SynthRow {
  const { noise, spuriousStrength: strength, labelDriven, agreement } = params;
  // Every draw happens for every row, in a fixed order, on each stream, so changing
  // a knob leaves the other values of the same seed unchanged (missingness-only
  // knobs change nothing else at all).
  // Label-driven cohorts still draw (and ignore) the latent, keeping the stream aligned.
  const latent = fx.severityOffset + rng.normal();
  const yOdds = (labelDriven ? 0 : params.alpha * latent) + fx.prevalenceShift + params.outcomeOffset;
  const y: 0 | 1 = rng.next() < sigmoid(yOdds) ? 1 : 0;
  const sign = 2 * y - 1;
  // What drives the causal features: the latent severity, or (label-driven) y itself.
  const s = labelDriven ? sign : latent;
  // Straight-line code, no per-row closures or spreads: --rows 100000 stays quick.
  const age = 60 + 10 * (LOADING.age * s + noise * rng.normal());
  const sex = rng.next() < sigmoid(LOADING.sex * s) ? 'M' : 'F';
  const lab1 = LOADING.lab1 * s + noise * rng.normal() + fx.labShift;
  const lab2 = LOADING.lab2 * s + noise * rng.normal() + fx.labShift;
  const lab3 = LOADING.lab3 * s + noise * rng.normal() + fx.labShift;
  const vital1 = LOADING.vital1 * s + noise * rng.normal();
  const vital2 = LOADING.vital2 * s + noise * rng.normal();
  const heldOutCoin = coinOf(rng.next());
  const readingNoise = rng.normal();
  // Outcome-driven imaging at training sites; label-free ordering where held out (unless --missing-held-out).
  // logit(0.5) = 0 leaves the original odds exactly; logit(1) = +inf: always present.
  const imagingOdds = fx.imagingBase + (heldOut && !params.missingHeldOut ? 0 : params.missingBias * sign) + logit(params.imagingRate);
  const imagingPresent = rng.next() < sigmoid(imagingOdds) || params.imagingRate >= 1;
  const labsPresent = rng.next() < sigmoid(fx.labsBase + params.labsSeverity * s);
  const vitalsPresent = rng.next() < VITALS_PRESENT;
  // The later knobs' draws, on the second stream: agreement for reading, then
  // reading2 (held-out coin, agreement, noise, presence).
  const agree = extra.next() < agreement;
  const agreeCoin = coinOf(extra.next());
  const heldOutCoin2 = coinOf(extra.next());
  const agree2 = extra.next() < agreement;
  const agreeCoin2 = coinOf(extra.next());
  const readingNoise2 = extra.normal();
  const devicePresent = extra.next() < DEVICE_PRESENT;
  // Label-only readings: carry y, not s. Held out: flipped, or a coin instead of y,
  // unless label-driven, where the reading is a real marker and keeps its link.
  const broken = heldOut && !labelDriven;
  const link1 = broken ? (params.spuriousFlip ? -sign : heldOutCoin) : agree ? sign : agreeCoin;
  const categorical = params.readingType === 'categorical';
  const reading1 = strength * link1 + readingNoise;
  const values: Value[] = [
    age,
    sex,
    labsPresent ? lab1 : null,
    labsPresent ? lab2 : null,
    labsPresent ? lab3 : null,
    vitalsPresent ? vital1 : null,
    vitalsPresent ? vital2 : null,
    !imagingPresent ? null : categorical ? (reading1 > 0 ? 'high' : 'low') : reading1,
  ];
  if (params.readings >= 2) {
    const link2 = broken ? (params.spuriousFlip ? -sign : heldOutCoin2) : agree2 ? sign : agreeCoin2;
    const reading2 = strength * link2 + readingNoise2;
    values.push(!devicePresent ? null : categorical ? (reading2 > 0 ? 'high' : 'low') : reading2);
  }
  return { severity: s, y, values };
}

/**
 * The whole cohort in memory: a pure function of the parameters. Each site draws
 * from its own two streams (forked from the seed by site index), so a site's rows
 * do not depend on how many rows the other sites have.
 */
export function generateSites(params: ScmParams): SynthSite[] {
  const sites: SynthSite[] = [];
  for (let i = 0; i < params.sites; i++) {
    const rng = new Rng(params.seed).fork(i);
    const extra = new Rng(params.seed).fork(EXTRA_STREAM + i);
    const heldOut = i === params.sites - 1;
    const effects = siteEffects(i, params);
    const rows: SynthRow[] = [];
    for (let r = 0; r < params.rows; r++) rows.push(generateRow(rng, extra, params, effects, heldOut));
    sites.push({ name: siteName(i), heldOut, effects, features: synthFeatures(params), rows });
  }
  return sites;
}

/**
 * Column of one feature across rows (null where missing, or where the cohort has
 * no such column, e.g. reading2 with one reading), for tests and evaluation.
 */
export function featureColumn(rows: readonly SynthRow[], feature: string): Value[] {
  const j = ALL_FEATURES.indexOf(feature);
  if (j < 0) throw new Error(`unknown synthetic feature "${feature}"`);
  return rows.map((r) => r.values[j] ?? null);
}

/** Whether a modality is present for a row (all its features non-missing; absent columns count as missing). */
export function modalityPresent(row: SynthRow, modality: Modality): boolean {
  const features: readonly string[] = modality === 'device' ? DEVICE_MODALITY.device : MODALITIES[modality];
  return features.every((f) => (row.values[ALL_FEATURES.indexOf(f)] ?? null) !== null);
}

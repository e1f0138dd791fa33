import { InputError } from '../../../errors.ts';

/**
 * Settings of the `debiased` variant (METHOD.md Parts 1-3), read from the model
 * section's `debiasing` object. Every term can be switched off, so the ablation
 * table (backbone alone, + Part 1, + Part 2, both) comes from one code path.
 */
export type DebiasMode = 'off' | 'on' | 'auto';
export type Adjustment = 'exact' | 'nwgm' | 'none';
/**
 * How flagged readings are debiased: 'outcome' (default) weights rows by
 * P(y) / P(y | flagged readings, pattern), so in the weighted rows they carry no
 * information about the label, and not one step further; 'drop' removes the flagged
 * readings from the model's inputs (the control every weighting must beat); the rest
 * turn the dual branch (Part 2) on with LfF-style weights: 'adaptive' (LfF behind a
 * flagged bias view, else group-balanced), 'group-balanced' or 'lff'.
 */
export type Weighting = 'outcome' | 'drop' | 'adaptive' | 'group-balanced' | 'lff';
/** The weightings that train the dual branch. */
export const DUAL_BRANCH_WEIGHTINGS: readonly Weighting[] = ['adaptive', 'group-balanced', 'lff'];
export type BiasInputs = 'flagged' | 'all';

export interface FlaggedFeature {
  feature: string;
  labelCorr: number;
  /** The upper confidence bound of its within-class correlation with the markers (auto), or its best cleared value (suspect). */
  withinClassCorr: number;
  /** Which decided: the rule ('auto') or the user's `suspect` list. */
  source: 'auto' | 'suspect';
  /** The encoded column that speaks for the feature (its strongest label link), for the health figures. */
  column?: number;
}

/** Options of the Part 3 rule (decide.ts). */
export interface DecideOptions {
  /** A feature is label-associated at |corr with y| >= this. */
  minLabelCorr: number;
  /** Flag when the within-class bound is at most this times |label corr|. */
  maxRatio: number;
  /** Pairs with fewer rows (both observed) say nothing. */
  minPairRows: number;
  /** Width of the confidence band, in standard errors of Fisher's z. */
  confidence: number;
  /** A marker's within-class correlation must have its lower bound at least this. */
  minClearCorr: number;
  /** Markers needed before anything may be flagged (the severity structure). */
  minMarkers: number;
}

export interface DebiasConfig {
  /** Debiasing of flagged readings: 'off', 'on', or 'auto' (on when the coordinator's rule flags something). */
  mode: DebiasMode;
  /**
   * The resolved switch. The coordinator sets it (with `flagged` and `reason`) in the
   * round config; with mode 'on'/'off' it follows the mode.
   */
  active: boolean;
  flagged: FlaggedFeature[];
  reason: string;
  /** Features always treated as shortcuts / never flagged, by name. */
  suspect: string[];
  trusted: string[];
  /** Outcome weights are clipped to [1 / maxWeight, maxWeight] before normalising. */
  maxWeight: number;
  /** The weighted association (weighted AUROC) below which the coordinator tempers the weights. */
  reversalTolerance: number;
  /** Share of a batch's weight carried by the bias-conflicting rows (group-balanced weighting). */
  share: number;
  /**
   * How flagged readings are debiased (see Weighting). 'drop' is the default: the
   * model never sees a flagged reading, so it can learn it neither way. LfF's raw
   * weights, the earlier default, put nearly all the weight on the few
   * bias-conflicting rows and taught the causal branch the reading reversed (METHOD.md,
   * "What broke in the first build"). Outcome weights stop at independence only where
   * both labels occur at a reading's value: a strong reading leaves whole ranges of
   * one label (no row to up-weight), so part of the shortcut stays (docs/results.md).
   */
  weighting: Weighting;
  /**
   * What the bias encoder sees: 'flagged' = only the columns of the flagged features
   * (all columns when nothing is flagged), rows without any of them being neutral in
   * the weighting; 'all' = every column (plain LfF / DisEnt).
   */
  biasInputs: BiasInputs;
  /** Part 1: confounder dictionary + head h(z, c_m); off gives the baseline's linear head. */
  deconfound: boolean;
  adjustment: Adjustment;
  /** Pattern-outcome balancing weights (applied by the trainer). */
  balancing: boolean;
  confounderDim: number;
  headHidden: number;
  gceQ: number;
  lambdaBias: number;
  lambdaSwap: number;
  lambdaInd: number;
  swapWarmupEpochs: number;
  /** Decay of the per-row running losses (ema = decay * ema + (1 - decay) * loss). */
  emaDecay: number;
  decide: DecideOptions;
}

/** share 0.5: bias-aligned and bias-conflicting rows carry equal weight; bounded, so no reversed-shortcut collapse. */
export const DEFAULT_SHARE = 0.5;
/** q 0.7: Zhang & Sabuncu's GCE value, used by LfF and DisEnt; makes the bias branch fit the easy signal. */
export const DEFAULT_GCE_Q = 0.7;
/** 0.7: LfF's running-loss decay; smooths one noisy step without lagging a whole epoch behind. */
export const DEFAULT_EMA_DECAY = 0.7;
/** 1: DisEnt's weight for the bias-branch loss; the bias branch must fit as fast as the causal one. */
export const DEFAULT_LAMBDA_BIAS = 1;
/** 1: DisEnt's swap weight; only the bias head reads the swapped pair (model.ts); 2 was no better on our cohort. */
export const DEFAULT_LAMBDA_SWAP = 1;
/** 0.1: the penalty is a mean squared correlation in [0, 1]; 0, 0.1 and 1 scored alike on our cohort, so it stays a tie-breaker. */
export const DEFAULT_LAMBDA_IND = 0.1;
/** 2 epochs: the running losses need a pass to mean anything before the swap uses the bias code (0 scored alike). */
export const DEFAULT_SWAP_WARMUP_EPOCHS = 2;
/** 8: a confounder per pattern needs few dimensions (K bits in). */
export const DEFAULT_CONFOUNDER_DIM = 8;
/** 16: one small hidden layer makes the head nonlinear in (z, c_m) without adding much capacity to memorise. */
export const DEFAULT_HEAD_HIDDEN = 16;
/** METHOD.md Part 3's prototyped rule. */
/**
 * The relative rule (decide.ts). 2 standard errors, a cleared correlation of 0.05 and
 * two markers. maxRatio 0.4 sits between what was measured (docs/debiasing.md): the
 * bound over |label corr| of label-associated features that are no markers was at least
 * 0.58 for real ones (heart disease, every three-site training set: slope 0.58-0.65,
 * sex 0.58; synthetic real features 0.58-0.93) and at most 0.33 for planted readings
 * (synthetic, 300-500 rows a site, agreement 0.7-1).
 */
export const DEFAULT_DECIDE: DecideOptions = { minLabelCorr: 0.2, maxRatio: 0.4, minPairRows: 30, confidence: 2, minClearCorr: 0.05, minMarkers: 2 };
/** 10: a cell's weight may grow tenfold; beyond that a handful of rows would carry the model. */
export const DEFAULT_MAX_WEIGHT = 10;
/** 0.45: a flagged reading's weighted AUROC below this means the weights reversed it. */
export const DEFAULT_REVERSAL_TOLERANCE = 0.45;
/**
 * Training settings the `debiased` variant should run with unless the user sets them:
 * weight decay 1e-2 held the held-out peak against memorisation of the few upweighted rows
 * (METHOD.md lessons). The trainer reads ModelConfig, so the caller merges these.
 */
export const DEBIASED_TRAINING_DEFAULTS = { weightDecay: 1e-2 } as const;

export const DEFAULT_DEBIAS_CONFIG: DebiasConfig = {
  mode: 'auto',
  active: false,
  flagged: [],
  reason: 'auto: no decision received from the coordinator; nothing flagged',
  suspect: [],
  trusted: [],
  maxWeight: DEFAULT_MAX_WEIGHT,
  reversalTolerance: DEFAULT_REVERSAL_TOLERANCE,
  share: DEFAULT_SHARE,
  weighting: 'drop',
  biasInputs: 'flagged',
  deconfound: true,
  adjustment: 'exact',
  balancing: true,
  confounderDim: DEFAULT_CONFOUNDER_DIM,
  headHidden: DEFAULT_HEAD_HIDDEN,
  gceQ: DEFAULT_GCE_Q,
  lambdaBias: DEFAULT_LAMBDA_BIAS,
  lambdaSwap: DEFAULT_LAMBDA_SWAP,
  lambdaInd: DEFAULT_LAMBDA_IND,
  swapWarmupEpochs: DEFAULT_SWAP_WARMUP_EPOCHS,
  emaDecay: DEFAULT_EMA_DECAY,
  decide: DEFAULT_DECIDE,
};

type NumKey = 'maxWeight' | 'reversalTolerance' | 'share' | 'confounderDim' | 'headHidden' | 'gceQ' | 'lambdaBias' | 'lambdaSwap' | 'lambdaInd' | 'swapWarmupEpochs' | 'emaDecay';
const NUMBERS: Record<NumKey, { min: number; max: number; int: boolean }> = {
  maxWeight: { min: 1, max: 1000, int: false },
  reversalTolerance: { min: 0, max: 0.5, int: false },
  share: { min: 0, max: 1, int: false },
  confounderDim: { min: 1, max: 1024, int: true },
  headHidden: { min: 1, max: 4096, int: true },
  gceQ: { min: 1e-3, max: 1, int: false },
  lambdaBias: { min: 0, max: 100, int: false },
  lambdaSwap: { min: 0, max: 100, int: false },
  lambdaInd: { min: 0, max: 100, int: false },
  swapWarmupEpochs: { min: 0, max: 100000, int: true },
  emaDecay: { min: 0, max: 0.999, int: false },
};
const DECIDE_RANGES: Record<keyof DecideOptions, { min: number; max: number; int: boolean }> = {
  minLabelCorr: { min: 0, max: 1, int: false },
  maxRatio: { min: 0, max: 100, int: false },
  minPairRows: { min: 2, max: 1e9, int: true },
  confidence: { min: 0, max: 10, int: false },
  minClearCorr: { min: 0, max: 1, int: false },
  minMarkers: { min: 1, max: 1000, int: true },
};
const CHOICES = {
  mode: ['off', 'on', 'auto'],
  adjustment: ['exact', 'nwgm', 'none'],
  weighting: ['outcome', 'drop', 'adaptive', 'group-balanced', 'lff'],
  biasInputs: ['flagged', 'all'],
} as const;
const BOOLEANS = ['deconfound', 'balancing', 'active'] as const;
const LISTS = ['suspect', 'trusted'] as const;
const KNOWN = new Set<string>([...Object.keys(NUMBERS), ...Object.keys(CHOICES), ...BOOLEANS, ...LISTS, 'flagged', 'reason', 'decide']);

function checkNumber(v: unknown, r: { min: number; max: number; int: boolean }, where: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < r.min || v > r.max || (r.int && !Number.isInteger(v)))
    throw new InputError(`${where} must be ${r.int ? 'an integer' : 'a number'} in [${r.min}, ${r.max}], got ${JSON.stringify(v)}`);
  return v;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function compileFlagged(v: unknown, where: string): FlaggedFeature[] {
  if (!Array.isArray(v)) throw new InputError(`${where} must be a list, got ${JSON.stringify(v)}`);
  return v.map((f, i) => {
    const ok = isObject(f) && typeof f.feature === 'string' && typeof f.labelCorr === 'number' && typeof f.withinClassCorr === 'number'
      && (f.source === undefined || f.source === 'auto' || f.source === 'suspect')
      && (f.column === undefined || (Number.isInteger(f.column) && (f.column as number) >= 0));
    if (!ok) throw new InputError(`${where}[${i}] must be { feature: string, labelCorr: number, withinClassCorr: number, source?: 'auto' | 'suspect' }`);
    return {
      feature: f.feature as string,
      labelCorr: f.labelCorr as number,
      withinClassCorr: f.withinClassCorr as number,
      source: (f.source ?? 'auto') as 'auto' | 'suspect',
      ...(f.column === undefined ? {} : { column: f.column as number }),
    };
  });
}

/** Fills defaults and rejects unknown or out-of-range fields of `model.debiasing` with exact messages. */
export function compileDebiasConfig(raw: unknown = {}, where = 'model.debiasing'): DebiasConfig {
  if (raw === undefined || raw === null) raw = {};
  if (!isObject(raw)) throw new InputError(`${where} must be an object, got ${JSON.stringify(raw)}`);
  const out: DebiasConfig = { ...DEFAULT_DEBIAS_CONFIG, decide: { ...DEFAULT_DECIDE }, flagged: [] };
  for (const [k, v] of Object.entries(raw)) {
    if (!KNOWN.has(k)) throw new InputError(`${where}.${k} is not a known setting; expected one of: ${[...KNOWN].join(', ')}`);
    if (k in NUMBERS) (out as unknown as Record<string, number>)[k] = checkNumber(v, NUMBERS[k as NumKey], `${where}.${k}`);
    else if (k in CHOICES) {
      const allowed = CHOICES[k as keyof typeof CHOICES] as readonly string[];
      if (typeof v !== 'string' || !allowed.includes(v))
        throw new InputError(`${where}.${k} must be one of ${allowed.map((a) => `'${a}'`).join(', ')}, got ${JSON.stringify(v)}`);
      (out as unknown as Record<string, string>)[k] = v;
    } else if ((BOOLEANS as readonly string[]).includes(k)) {
      if (typeof v !== 'boolean') throw new InputError(`${where}.${k} must be true or false, got ${JSON.stringify(v)}`);
      (out as unknown as Record<string, boolean>)[k] = v;
    } else if ((LISTS as readonly string[]).includes(k)) {
      if (!Array.isArray(v) || !v.every((x) => typeof x === 'string' && x !== ''))
        throw new InputError(`${where}.${k} must be a list of feature names, got ${JSON.stringify(v)}`);
      out[k as (typeof LISTS)[number]] = [...(v as string[])];
    } else if (k === 'flagged') out.flagged = compileFlagged(v, `${where}.flagged`);
    else if (k === 'reason') {
      if (typeof v !== 'string') throw new InputError(`${where}.reason must be a string, got ${JSON.stringify(v)}`);
      out.reason = v;
    } else if (k === 'decide') {
      if (!isObject(v)) throw new InputError(`${where}.decide must be an object, got ${JSON.stringify(v)}`);
      for (const [dk, dv] of Object.entries(v)) {
        const r = (DECIDE_RANGES as Partial<typeof DECIDE_RANGES>)[dk as keyof DecideOptions]; // dk may be any string
        if (!r) throw new InputError(`${where}.decide.${dk} is not a known setting; expected one of: ${Object.keys(DECIDE_RANGES).join(', ')}`);
        out.decide[dk as keyof DecideOptions] = checkNumber(dv, r, `${where}.decide.${dk}`);
      }
    }
  }
  for (const n of out.suspect)
    if (out.trusted.includes(n)) throw new InputError(`${where}: "${n}" is listed as both suspect and trusted`);
  // 'on' and 'off' fix the switch; only 'auto' takes the coordinator's resolved value.
  if (out.mode !== 'auto') {
    if ('active' in raw && raw.active !== (out.mode === 'on'))
      throw new InputError(`${where}.active is ${String(raw.active)} but mode is '${out.mode}'; only mode 'auto' takes a decision`);
    out.active = out.mode === 'on';
    if (!('reason' in raw)) out.reason = `mode '${out.mode}': debiasing ${out.mode} by configuration`;
  } else if ('active' in raw && !('reason' in raw)) {
    out.reason = `auto: debiasing ${out.active ? 'on' : 'off'} (decided by the coordinator)`;
  }
  return out;
}

/** Whether the dual branch trains: debiasing is on and its weighting is one of the dual-branch ones. */
export function usesDualBranch(c: Pick<DebiasConfig, 'active' | 'weighting'>): boolean {
  return c.active && DUAL_BRANCH_WEIGHTINGS.includes(c.weighting);
}

/** The weighting a model actually applies: 'adaptive' resolves by whether the bias branch has a restricted view. */
export function effectiveWeighting(c: Pick<DebiasConfig, 'weighting' | 'biasInputs' | 'flagged'>): Exclude<Weighting, 'adaptive'> {
  if (c.weighting !== 'adaptive') return c.weighting;
  return c.biasInputs === 'flagged' && c.flagged.length > 0 ? 'lff' : 'group-balanced';
}

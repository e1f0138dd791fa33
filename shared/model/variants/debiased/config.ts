import { InputError } from '../../../errors.ts';

/**
 * Settings of the `debiased` variant (METHOD.md Parts 1-3), read from the model
 * section's `debiasing` object. Every term can be switched off, so the ablation
 * table (backbone alone, + Part 1, + Part 2, both) comes from one code path.
 */
export type DebiasMode = 'off' | 'on' | 'auto';
export type Adjustment = 'exact' | 'nwgm' | 'none';
export type Weighting = 'adaptive' | 'group-balanced' | 'lff';
export type BiasInputs = 'flagged' | 'all';

export interface FlaggedFeature {
  feature: string;
  labelCorr: number;
  withinClassCorr: number;
}

/** Options of the Part 3 rule (decide.ts). */
export interface DecideOptions {
  minLabelCorr: number;
  maxRatio: number;
  minPairRows: number;
}

export interface DebiasConfig {
  /** Dual branch: 'off', 'on', or 'auto' (decided by the coordinator from merged class moments). */
  mode: DebiasMode;
  /**
   * The resolved switch for the dual branch. The coordinator sets it (with `flagged`
   * and `reason`) in the round config; with mode 'on'/'off' it follows the mode.
   */
  dualBranch: boolean;
  flagged: FlaggedFeature[];
  reason: string;
  /** Share of a batch's weight carried by the bias-conflicting rows (group-balanced weighting). */
  share: number;
  /**
   * How the causal branch weighs rows from r = CE_b / (CE_b + CE_c): 'lff' (r itself,
   * normalised to mean 1), 'group-balanced' (conflicting and aligned rows carry `share`
   * and 1 - share), or 'adaptive' (default): LfF's weights when the bias branch reads
   * only flagged features, group-balanced when it reads every column. On our synthetic
   * tuning cohorts (seeds 101-103, never a reported seed) LfF weights closed 86% of the
   * held-out gap against 32% for group-balanced, because equal group totals leave the
   * shortcut informative among the aligned rows; but behind an unrestricted bias branch
   * (nothing flagged) they hand the causal branch the hard rows reversed and collapse,
   * where bounded group weights cost little (docs/results.md).
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
export const DEFAULT_DECIDE: DecideOptions = { minLabelCorr: 0.2, maxRatio: 0.3, minPairRows: 30 };
/**
 * Training settings the `debiased` variant should run with unless the user sets them:
 * weight decay 1e-2 held the held-out peak against memorisation of the few upweighted rows
 * (METHOD.md lessons). The trainer reads ModelConfig, so the caller merges these.
 */
export const DEBIASED_TRAINING_DEFAULTS = { weightDecay: 1e-2 } as const;

export const DEFAULT_DEBIAS_CONFIG: DebiasConfig = {
  mode: 'auto',
  dualBranch: false,
  flagged: [],
  reason: 'auto: no decision received from the coordinator; dual branch off',
  share: DEFAULT_SHARE,
  weighting: 'adaptive',
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

type NumKey = 'share' | 'confounderDim' | 'headHidden' | 'gceQ' | 'lambdaBias' | 'lambdaSwap' | 'lambdaInd' | 'swapWarmupEpochs' | 'emaDecay';
const NUMBERS: Record<NumKey, { min: number; max: number; int: boolean }> = {
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
};
const CHOICES = {
  mode: ['off', 'on', 'auto'],
  adjustment: ['exact', 'nwgm', 'none'],
  weighting: ['adaptive', 'group-balanced', 'lff'],
  biasInputs: ['flagged', 'all'],
} as const;
const BOOLEANS = ['deconfound', 'balancing', 'dualBranch'] as const;
const KNOWN = new Set<string>([...Object.keys(NUMBERS), ...Object.keys(CHOICES), ...BOOLEANS, 'flagged', 'reason', 'decide']);

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
    const ok = isObject(f) && typeof f.feature === 'string' && typeof f.labelCorr === 'number' && typeof f.withinClassCorr === 'number';
    if (!ok) throw new InputError(`${where}[${i}] must be { feature: string, labelCorr: number, withinClassCorr: number }`);
    return { feature: f.feature as string, labelCorr: f.labelCorr as number, withinClassCorr: f.withinClassCorr as number };
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
    } else if (k === 'flagged') out.flagged = compileFlagged(v, `${where}.flagged`);
    else if (k === 'reason') {
      if (typeof v !== 'string') throw new InputError(`${where}.reason must be a string, got ${JSON.stringify(v)}`);
      out.reason = v;
    } else if (k === 'decide') {
      if (!isObject(v)) throw new InputError(`${where}.decide must be an object, got ${JSON.stringify(v)}`);
      for (const [dk, dv] of Object.entries(v)) {
        const r = DECIDE_RANGES[dk as keyof DecideOptions];
        if (!r) throw new InputError(`${where}.decide.${dk} is not a known setting; expected one of: ${Object.keys(DECIDE_RANGES).join(', ')}`);
        out.decide[dk as keyof DecideOptions] = checkNumber(dv, r, `${where}.decide.${dk}`);
      }
    }
  }
  // 'on' and 'off' fix the switch; only 'auto' takes the coordinator's resolved value.
  if (out.mode !== 'auto') {
    if ('dualBranch' in raw && raw.dualBranch !== (out.mode === 'on'))
      throw new InputError(`${where}.dualBranch is ${String(raw.dualBranch)} but mode is '${out.mode}'; only mode 'auto' takes a decision`);
    out.dualBranch = out.mode === 'on';
    if (!('reason' in raw)) out.reason = `mode '${out.mode}': dual branch ${out.mode} by configuration`;
  } else if ('dualBranch' in raw && !('reason' in raw)) {
    out.reason = `auto: dual branch ${out.dualBranch ? 'on' : 'off'} (decided by the coordinator)`;
  }
  return out;
}

/** The weighting a model actually applies: 'adaptive' resolves by whether the bias branch has a restricted view. */
export function effectiveWeighting(c: Pick<DebiasConfig, 'weighting' | 'biasInputs' | 'flagged'>): 'group-balanced' | 'lff' {
  if (c.weighting !== 'adaptive') return c.weighting;
  return c.biasInputs === 'flagged' && c.flagged.length > 0 ? 'lff' : 'group-balanced';
}

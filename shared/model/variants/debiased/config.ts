import { z } from 'zod';
import { bool, choice, int, names, real, strict, text } from '../../../config/fields.ts';
import { fieldError, parseInput, type InputSource } from '../../../config/issues.ts';

/**
 * Settings of the `debiased` variant (METHOD.md Parts 1-3), read from the model
 * section's `debiasing` object. Every term can be switched off, so the ablation
 * table (backbone alone, + Part 1, + Part 2, both) comes from one code path.
 */
const MODES = ['off', 'on', 'auto'] as const;
const ADJUSTMENTS = ['exact', 'nwgm', 'none'] as const;
const WEIGHTINGS = ['outcome', 'drop', 'adaptive', 'group-balanced', 'lff'] as const;
const BIAS_INPUTS = ['flagged', 'all'] as const;
export type DebiasMode = (typeof MODES)[number];
export type Adjustment = (typeof ADJUSTMENTS)[number];
/**
 * How flagged readings are debiased: 'drop' (the default, DEFAULT_DEBIAS_CONFIG) removes
 * the flagged readings from the model's inputs; 'outcome' weights rows by
 * P(y) / P(y | flagged readings, pattern), so in the weighted rows they carry no
 * information about the label, and not one step further; the rest
 * turn the dual branch (Part 2) on with LfF-style weights: 'adaptive' (LfF behind a
 * flagged bias view, else group-balanced), 'group-balanced' or 'lff'.
 */
export type Weighting = (typeof WEIGHTINGS)[number];
/** The weightings that train the dual branch. */
export const DUAL_BRANCH_WEIGHTINGS: readonly Weighting[] = ['adaptive', 'group-balanced', 'lff'];
export type BiasInputs = (typeof BIAS_INPUTS)[number];

export interface FlaggedFeature {
  feature: string;
  labelCorr: number;
  /** The upper confidence bound of its within-class correlation with the markers (auto), or its best cleared value (suspect, or a copy of a flagged reading). */
  withinClassCorr: number;
  /** Which decided: the rule ('auto') or the user's `suspect` list. */
  source: 'auto' | 'suspect';
  /** The encoded column that speaks for the feature (its strongest label link), for the health figures. */
  column?: number;
  /** That column's own label correlation where it is not labelCorr (a categorical feature judged by its grouped values): its sign orients the health figures. */
  columnLabelCorr?: number;
}

/** The sign that orients a flagged reading's health figures: its health column's own label link. */
export function healthDirection(f: FlaggedFeature): number {
  return Math.sign(f.columnLabelCorr ?? f.labelCorr) || 1;
}

/** The Part 3 rule's options as the user may set them (any subset). */
const decideSchema = strict({
  /** A feature is label-associated at |corr with y| >= this. */
  minLabelCorr: real(0, 1).optional(),
  /** Flag when the within-class bound is at most this times |label corr|. */
  maxRatio: real(0, 100).optional(),
  /** Pairs with fewer rows (both observed) say nothing. */
  minPairRows: int(2, 1e9).optional(),
  /** Width of the confidence band, in standard errors of Fisher's z. */
  confidence: real(0, 10).optional(),
  /** A marker's within-class correlation must have its lower bound at least this. */
  minClearCorr: real(0, 1).optional(),
  /** Markers needed before anything may be flagged (the severity structure). */
  minMarkers: int(1, 1000).optional(),
  /** Two features whose within-class correlation has its lower bound at least this are one reading recorded twice (a copy, a band of a score, another unit). */
  minCopyCorr: real(0, 1).optional(),
  /**
   * Off (0) by default: a reading within its bound that co-varies with a marker, or is one, is
   * flagged where its relative link (relative-link.ts) is at most this. It catches a
   * leak that tracks severity a little, and flags a second cause measured once that is
   * correlated with the severity just the same (docs/debiasing.md): opt in where readings
   * recorded after the outcome are the worry.
   */
  maxRelative: real(0, 100).optional(),
  /**
   * Off (0) by default: a reading within its bound is not flagged where its relative link
   * with a label-associated feature of its own modality that stands apart from the markers
   * too (within its bound, or a relative link to them of at most this) is above this: two
   * measures of a second cause (creatinine and urea), which the bound flags. It spares a
   * leak with a second record in its modality just the same (its log, its band, a derived
   * field, a record sharing the hospital course: an outside try), so it is opt-in.
   */
  peerLink: real(0, 100).optional(),
});
/** Options of the Part 3 rule (decide.ts), all set (defaults in DEFAULT_DECIDE). */
export type DecideOptions = Required<z.output<typeof decideSchema>>;

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
   * model never sees a flagged reading, so it can learn it neither way (why not the
   * others: docs/debiasing.md, "Why these defaults").
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
/** 1: DisEnt's swap weight; only the bias head reads the swapped pair (model.ts). */
export const DEFAULT_LAMBDA_SWAP = 1;
/** 0.1: the penalty is a mean squared correlation in [0, 1]; a tie-breaker, not a driver. */
export const DEFAULT_LAMBDA_IND = 0.1;
/** 2 epochs: the running losses need a pass to mean anything before the swap uses the bias code. */
export const DEFAULT_SWAP_WARMUP_EPOCHS = 2;
/** 8: a confounder per pattern needs few dimensions (K bits in). */
export const DEFAULT_CONFOUNDER_DIM = 8;
/** 16: one small hidden layer makes the head nonlinear in (z, c_m) without adding much capacity to memorise. */
export const DEFAULT_HEAD_HIDDEN = 16;
/**
 * Pattern-outcome balancing removes what the missingness pattern tells of the label. From
 * this AUROC of the pattern alone up, the run says so at start (a warning): the data
 * cannot tell a hospital's ordering habit (what balancing is for) from a test ordered for
 * the sick everywhere (where balancing costs accuracy), so the user must. Chosen on a
 * cohort family (docs/debiasing.md, "When pattern balancing costs accuracy"; tuning seeds
 * 101-103): balancing cost more than 0.01 AUROC in runs from a pattern AUROC of 0.569 up
 * (0.7, the earlier value, let costs of 0.02-0.05 pass in silence). Heart disease's four
 * hospitals: 0.64, so it is warned of there too.
 */
export const PATTERN_SIGNAL_NOTE_AUROC = 0.56;
/**
 * ... and only where the pattern and the label are dependent beyond chance (the chi-square's
 * z, patternLabelDependence, at p < 0.05 one-sided): with many patterns of a few rows each,
 * random missingness scored 0.66-0.68 (an outside try, 254 patterns; z 0.25 and -0.88), and the
 * note sent users to turn balancing off for nothing. Heart disease: z 7.2. Of 481 earlier
 * cohorts noted from 0.56, 5 fall under it (pattern AUROC 0.56-0.57 at 5% positives, z 1.0-1.4).
 */
export const PATTERN_SIGNAL_MIN_Z = 1.645;

/**
 * The relative rule (decide.ts), METHOD.md Part 3: 2 standard errors, a cleared
 * correlation of 0.05, two markers, and maxRatio 0.4 between the ratios measured for
 * real features and planted readings (docs/debiasing.md, "Why these defaults").
 */
export const DEFAULT_DECIDE: DecideOptions = { minLabelCorr: 0.2, maxRatio: 0.4, minPairRows: 30, confidence: 2, minClearCorr: 0.05, minMarkers: 2, minCopyCorr: 0.7, maxRelative: 0, peerLink: 0 };
/**
 * 0.9: two features whose within-class correlation has its lower bound at this or above are
 * one value recorded twice (days and hours, a rounding), not two measures of a cause: no
 * peer for each other (a leak exported twice was spared as a second cause: an outside
 * re-try). Creatinine and urea of one renal cause moved together at 0.74.
 */
export const ONE_VALUE_CORR = 0.9;
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


/** Any number, NaN included: the rule's figures for a suspect feature may be undefined. */
const figure = () => z.custom<number>((v) => typeof v === 'number', { error: 'must be a number' });
/** A flagged feature as the coordinator sends it; fields it does not know are dropped, as before. */
const flaggedSchema = z
  .object(
    {
      feature: text(),
      labelCorr: figure(),
      withinClassCorr: figure(),
      source: choice(['auto', 'suspect']).default('auto'),
      column: int(0, Number.MAX_SAFE_INTEGER).optional(),
      columnLabelCorr: figure().optional(),
    },
    { error: 'must be a mapping { feature, labelCorr, withinClassCorr, source? }' },
  )
  .transform(({ feature, labelCorr, withinClassCorr, source, column, columnLabelCorr }): FlaggedFeature =>
    ({ feature, labelCorr, withinClassCorr, source, ...(column === undefined ? {} : { column }), ...(columnLabelCorr === undefined ? {} : { columnLabelCorr }) }));

/** `model.debiasing` as written: every field optional (defaults in DEFAULT_DEBIAS_CONFIG). */
const userSettings = {
  mode: choice(MODES).optional(),
  suspect: names('feature names').optional(),
  trusted: names('feature names').optional(),
  maxWeight: real(1, 1000).optional(),
  reversalTolerance: real(0, 0.5).optional(),
  share: real(0, 1).optional(),
  weighting: choice(WEIGHTINGS).optional(),
  biasInputs: choice(BIAS_INPUTS).optional(),
  deconfound: bool().optional(),
  adjustment: choice(ADJUSTMENTS).optional(),
  balancing: bool().optional(),
  confounderDim: int(1, 1024).optional(),
  headHidden: int(1, 4096).optional(),
  gceQ: real(1e-3, 1).optional(),
  lambdaBias: real(0, 100).optional(),
  lambdaSwap: real(0, 100).optional(),
  lambdaInd: real(0, 100).optional(),
  swapWarmupEpochs: int(0, 100000).optional(),
  emaDecay: real(0, 0.999).optional(),
  decide: decideSchema.optional(),
};

/** `model.debiasing` as a configuration file may write it: its expected-field list offers only these. */
export const userDebiasSettingsSchema = strict(userSettings);

/** The settings as the coordinator sends them each round: a file's, plus what the run's decision resolves (`active`, `flagged`, `reason`). */
export const debiasSettingsSchema = strict({
  ...userSettings,
  active: bool().optional(),
  flagged: z.array(flaggedSchema, { error: 'must be a list of { feature, labelCorr, withinClassCorr, source? }' }).optional(),
  reason: z.string({ error: 'must be a string' }).optional(),
});

/** Every field the schema accepts is a field of the resolved config (checked by the compiler). */
type SchemaFieldsResolve = keyof z.output<typeof debiasSettingsSchema> extends keyof DebiasConfig ? true : never;
const schemaFieldsResolve: SchemaFieldsResolve = true;
void schemaFieldsResolve;

/** Fills defaults and rejects unknown or out-of-range fields of `model.debiasing`, naming them under `where`. */
export function compileDebiasConfig(raw: unknown = {}, where: string | InputSource = 'model.debiasing'): DebiasConfig {
  const at = typeof where === 'string' ? { at: where } : where;
  const given = parseInput(debiasSettingsSchema, raw ?? {}, at);
  const { decide, ...rest } = given;
  // An explicit undefined leaves the default.
  const set = Object.fromEntries(Object.entries(rest).filter(([, v]) => (v as unknown) !== undefined));
  const out: DebiasConfig = { ...DEFAULT_DEBIAS_CONFIG, ...set, decide: { ...DEFAULT_DECIDE, ...decide } };
  for (const n of out.suspect)
    if (out.trusted.includes(n)) throw fieldError(at, '', `"${n}" is listed as both suspect and trusted`);
  // 'on' and 'off' fix the switch; only 'auto' takes the coordinator's resolved value.
  if (out.mode !== 'auto') {
    if (given.active !== undefined && given.active !== (out.mode === 'on'))
      throw fieldError(at, 'active', `is ${String(given.active)} but mode is '${out.mode}'; only mode 'auto' takes a decision`);
    out.active = out.mode === 'on';
    if (given.reason === undefined) out.reason = `mode '${out.mode}': debiasing ${out.mode} by configuration`;
  } else if (given.active !== undefined && given.reason === undefined) {
    out.reason = `auto: debiasing ${out.active ? 'on' : 'off'} (decided by the coordinator)`;
  }
  return out;
}

/**
 * How many of the schema's features an unknown-feature message lists: enough to spot
 * a typo among a small schema's features, still one readable line for a wide one.
 */
export const MAX_LISTED_FEATURES = 20;

/** The schema's features for a message, the first MAX_LISTED_FEATURES of them and a count of the rest. */
export function listFeatures(features: readonly string[]): string {
  const shown = features.slice(0, MAX_LISTED_FEATURES).join(', ');
  const more = features.length - MAX_LISTED_FEATURES;
  return more > 0 ? `${shown} and ${more} more` : shown;
}

/**
 * `suspect` and `trusted` must name features of the schema: the rule reads them only
 * after the statistics rounds, so a typo is refused here, at provision and start.
 * `raw` is the `model.debiasing` section, already validated by compileDebiasConfig.
 */
export function checkDebiasFeatures(raw: unknown, features: readonly string[], where: InputSource & { schema: string }): void {
  const known = new Set(features);
  const { suspect, trusted } = compileDebiasConfig(raw, where);
  for (const [field, list] of [['suspect', suspect], ['trusted', trusted]] as const) {
    const i = list.findIndex((n) => !known.has(n));
    if (i >= 0)
      throw fieldError(
        where,
        `${field}[${i}]`,
        `"${list[i]}" is not a feature of the schema ${where.schema} (its features: ${listFeatures(features)})`,
      );
  }
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

/**
 * What the evaluation runs: rounds, local epochs, seeds, the knob points of the
 * synthetic sweep, and the model configurations. One place, so the report's header
 * states exactly what produced its numbers. Every dataset gets the same training
 * budget and the same model defaults: nothing here is tuned per dataset.
 */
import { fileURLToPath } from 'node:url';

export interface EvalSettings {
  quick: boolean;
  /** Seeds of every section (splits, initial weights, training order; the synthetic cohort's seed too). */
  seeds: number[];
  /**
   * Section 1's seeds: twice as many, because its calibration comparison is paired by seed and
   * the debiased-minus-baseline ECE differences in question (a few thousandths) are below the
   * standard error five seeds give (about 0.005).
   */
  heartSeeds: number[];
  rounds: number;
  localEpochs: number;
  strategy: string;
  /** Held-out share of each heart-disease site (section 1). */
  heartTestFraction: number;
  /** FLamby's per-centre test share (section 2). */
  flambyTestFraction: number;
  /** Synthetic sweep: spurious strengths (missing bias at its default), missing biases (spurious at its default). */
  spuriousStrengths: number[];
  missingBiases: number[];
  /** Synthetic seeds for choosing settings (TUNING_SEEDS; the first only in a quick run). */
  tuningSeeds: number[];
}

/** The generator's defaults (shared/synth/options.ts); the sweep runs each knob with the other held here. */
export const SYNTH_DEFAULT_SPURIOUS = 1;
export const SYNTH_DEFAULT_MISSING = 1.2;

/** Synthetic seeds for choosing settings; disjoint from every seed the report shows. */
export const TUNING_SEEDS: readonly number[] = [101, 102, 103];

export function evalSettings(quick: boolean): EvalSettings {
  return {
    quick,
    seeds: quick ? [1] : [1, 2, 3, 4, 5],
    heartSeeds: quick ? [1] : [1, 2, 3, 4, 5, 6, 7, 8, 9, 10],
    rounds: 20,
    localEpochs: 2,
    strategy: 'fedavg',
    heartTestFraction: 0.3,
    flambyTestFraction: 0.34,
    spuriousStrengths: quick ? [0.5, 1] : [0.5, 1, 1.5],
    missingBiases: quick ? [1.2] : [0, 1.2, 2.4],
    tuningSeeds: quick ? TUNING_SEEDS.slice(0, 1) : [...TUNING_SEEDS],
  };
}

/** One model configuration of the report: a variant and its debiasing settings. */
export interface ModelSpec {
  id: string;
  label: string;
  model: 'debiased' | 'baseline' | 'logreg';
  debiasing?: Record<string, unknown>;
  /** Oracle: the baseline on a schema of the truth's causal features only. */
  oracle?: boolean;
  /** A strategy without settings to tune, in place of the section's (SCAFFOLD); absent: the section's. */
  strategy?: string;
}

export const LOGREG: ModelSpec = { id: 'logreg', label: 'FedAvg logistic regression', model: 'logreg' };
export const BASELINE: ModelSpec = { id: 'baseline', label: 'FedAvg baseline (backbone, no debiasing)', model: 'baseline' };
export const DEBIASED_AUTO: ModelSpec = { id: 'debiased', label: 'FedAvg debiased (auto, the default)', model: 'debiased', debiasing: {} };
export const DEBIASED_ON: ModelSpec = { id: 'debiased-on', label: 'debiased, dual branch forced on', model: 'debiased', debiasing: { mode: 'on', weighting: 'adaptive' } };

/** The ablation ladder of METHOD.md, all through the debiased variant's one code path (so weight decay 1e-2 throughout). */
export const LADDER: readonly ModelSpec[] = [
  { id: 'backbone', label: 'backbone alone', model: 'debiased', debiasing: { mode: 'off', deconfound: false, balancing: false } },
  { id: 'part1', label: '+ Part 1 (deconfounding head + balancing)', model: 'debiased', debiasing: { mode: 'off' } },
  { id: 'part2', label: '+ Part 2 (dual branch)', model: 'debiased', debiasing: { mode: 'on', weighting: 'adaptive', deconfound: false, balancing: false } },
  { id: 'both', label: 'Parts 1 + 2 (dual branch on)', model: 'debiased', debiasing: { mode: 'on', weighting: 'adaptive' } },
  { id: 'auto', label: 'debiased (auto, the default)', model: 'debiased', debiasing: {} },
];

export const ORACLE: ModelSpec = { id: 'oracle', label: 'oracle (baseline on causal features only)', model: 'baseline', oracle: true };

/** The shipped default's id among the tuning candidates. */
export const SHIPPED_ID = 'auto';
/** What is tried on the tuning seeds (default knobs), beside the shipped default. */
export const TUNING_CANDIDATES: readonly ModelSpec[] = [
  { id: SHIPPED_ID, label: 'shipped default (drop: flagged readings removed from the inputs)', model: 'debiased', debiasing: {} },
  { id: 'outcome', label: 'outcome weights P(y) / P(y | flagged readings, pattern)', model: 'debiased', debiasing: { weighting: 'outcome' } },
  { id: 'adaptive', label: 'adaptive (LfF behind the flagged bias view; the earlier default)', model: 'debiased', debiasing: { weighting: 'adaptive' } },
  { id: 'share-0.5', label: 'group-balanced, share 0.5', model: 'debiased', debiasing: { weighting: 'group-balanced' } },
  { id: 'share-0.7', label: 'group-balanced, share 0.7', model: 'debiased', debiasing: { weighting: 'group-balanced', share: 0.7 } },
  { id: 'share-0.8', label: 'group-balanced, share 0.8', model: 'debiased', debiasing: { weighting: 'group-balanced', share: 0.8 } },
  { id: 'share-0.9', label: 'group-balanced, share 0.9', model: 'debiased', debiasing: { weighting: 'group-balanced', share: 0.9 } },
  { id: 'lff', label: 'weighting lff (LfF weights normalised to mean 1)', model: 'debiased', debiasing: { weighting: 'lff' } },
  { id: 'lff-noswap', label: 'weighting lff, no feature swap', model: 'debiased', debiasing: { weighting: 'lff', lambdaSwap: 0 } },
  { id: 'bias-all', label: 'bias branch sees every column (biasInputs all, group-balanced)', model: 'debiased', debiasing: { biasInputs: 'all', weighting: 'group-balanced' } },
];

/** Ids of the candidate rows in sections 3-5. */
export const CANDIDATE_ID = 'candidate';
export const CANDIDATE_ON_ID = 'candidate-on';

/**
 * The candidate default as the report runs it: the setting the tuning picked, in its
 * auto form (section 4) and with the dual branch forced on (section 3: what it would
 * cost on heart disease if auto were wrong there).
 */
export function candidateSpecs(picked: ModelSpec): { auto: ModelSpec; on: ModelSpec } {
  const d = picked.debiasing ?? {};
  return {
    auto: { id: CANDIDATE_ID, label: `candidate: ${picked.label} (picked on tuning seeds)`, model: 'debiased', debiasing: d },
    on: { id: CANDIDATE_ON_ID, label: `candidate (${picked.label}), forced on`, model: 'debiased', debiasing: { ...d, mode: 'on' } },
  };
}

/** The `modelSettings` of simulate for a spec. */
export function modelSettings(spec: ModelSpec, s: Pick<EvalSettings, 'localEpochs'>): Record<string, unknown> {
  return { localEpochs: s.localEpochs, ...(spec.debiasing ? { debiasing: spec.debiasing } : {}) };
}

/** The four hospitals of ../shared/data/heart-disease: site name -> file. */
export const HEART_SITES: readonly { name: string; file: string }[] = [
  { name: 'cleveland', file: 'processed.cleveland.data' },
  { name: 'hungary', file: 'processed.hungarian.data' },
  { name: 'switzerland', file: 'processed.switzerland.data' },
  { name: 'va', file: 'processed.va.data' },
];

/** ../shared/data/heart-disease beside the repository (read only; nothing is written there). */
export const DEFAULT_HEART_DIR = fileURLToPath(new URL('../../shared/data/heart-disease', import.meta.url));
/** docs/ of this repository. */
export const DEFAULT_DOCS_DIR = fileURLToPath(new URL('../docs', import.meta.url));

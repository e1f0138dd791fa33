/** `fedcausal simulate`'s flags and help, compiled into validated options (the run itself: simulate.ts). */
import { z } from 'zod';
import { DEFAULT_MIN_CELL_COUNT } from '../coordinator/priors.ts';
import { DEFAULT_STRATEGY, SENDS_GRADIENTS, strategyNames, validateStrategyOptions } from '../coordinator/strategy/registry.ts';
import type { ResultBounds } from '../coordinator/result-bounds.ts';
import type { StrategyOptions } from '../coordinator/strategy/strategy.ts';
import type { Identity } from '../shared/crypto/keys.ts';
import { compileModelSpec, MODEL_KINDS } from '../shared/model/factory.ts';
import { readConfigFile } from '../shared/config/load.ts';
import { DEFAULT_TEST_FRACTION, SEED_MAX, TEST_FRACTION, choiceFlag, numberFlag, text } from '../shared/config/fields.ts';
import { DEFAULT_MIN_CATEGORY_COUNT } from '../shared/data/vocabulary.ts';
import { MIN_TRAINING_ROWS } from '../shared/data/training-rows.ts';
import type { DpSettings } from '../shared/privacy/dp.ts';
import { overBudget, type BudgetNames } from '../shared/privacy/budget.ts';
import { InputError } from '../shared/errors.ts';
import type { SiteTransport } from '../shared/transport/types.ts';
import { keyValues, namedPaths, parseFlags } from '../shared/config/flags.ts';

export const SIMULATE_HELP = `usage: fedcausal simulate --schema SCHEMA.json --site NAME=PATH.csv [--site ...]
        [--test-site NAME=PATH.csv ...] [--holdout NAME=PATH.csv ...]
        --model debiased|baseline|logreg [--model-config FILE.yaml] [--rounds R] [--seed S]
        [--strategy NAME [--strategy-option KEY=VALUE ...]]
        [--secure-aggregation] [--out RESULTS.json] [--predictions PREDICTIONS.csv]
        [--save-models DIR]

Runs a whole federation in one process: the real coordinator and site-agent code,
signed and encrypted messages, through an in-memory transport. Deterministic per seed.

  --site NAME=PATH        a training site; its file is split (stratified, seeded) into train/test
  --test-site NAME=PATH   a site used whole for testing only (no training, no prior counts);
                          one of one class is warned of: its AUROC and balanced accuracy are null
  --holdout NAME=PATH     site NAME trains on all of its --site file and is tested on this file
  --model KIND            debiased | baseline | logreg
  --model-config FILE     the model's settings as coordinator.yaml's \`model\` section takes them
                          (docs/configuration.md): a coordinator.yaml (its \`model\` section is read)
                          or a file of that section alone, e.g. \`debiasing: { balancing: false,
                          trusted: [troponin] }\`; its \`kind\`, if any, must be --model's
  --rounds R              federated rounds (default 20)
  --seed S                seed for splits, initial weights and training (default 1); each site's split
                          and training seed derive from S and its name, so a deployed federation
                          whose site.yaml files say seed S splits its rows otherwise
  --strategy NAME         fedavg (default), fedprox, fedadam, fedyogi, fedadagrad, scaffold, fedmedian, trimmed-mean
  --strategy-option K=V   one of the strategy's options, repeatable, with coordinator.yaml's names and
                          ranges (docs/configuration.md, strategy): proximalMu (fedprox),
                          serverLearningRate, beta1, beta2, tau (fedadam, fedyogi, fedadagrad),
                          controlNormMultiple (scaffold), trimFraction (trimmed-mean)
  --local-epochs E        local epochs per round (default from the model config)
  --test-fraction F       held-out share of each --site file (default 0.3)
  --out FILE              write the results JSON here
  --predictions FILE      write site,row,label,score for every scored row
  --save-models DIR       write each training site's final model, DIR/NAME.model.json, as a
                          deployed site saves it (score rows with: fedcausal predict)
  --secure-aggregation    fit rounds by secure aggregation (Bonawitz et al.): the coordinator sees
                          only sums; needs 3+ sites and fedavg, fedprox, fedadam, fedyogi or
                          fedadagrad (docs/secagg.md)
  --local-baseline        also train each site alone and report it
  --min-cell-count N      (pattern, label) cells below N are suppressed in the prior (default 5)
  --min-training-rows N   a training site needs at least N rows to train on, after the
                          held-out share (default ${MIN_TRAINING_ROWS}; site.yaml minTrainingRows)
  --dp                    differential privacy of the training rounds (coordinator.yaml privacy.dp):
                          --dp-clip-norm C (1), --dp-noise-multiplier Z (1), --dp-delta D (1e-5);
                          --dp-max-epsilon E refuses a run that would spend more than E over its
                          rounds, and says what would fit (without it, a run over 10 is warned of);
                          not with --strategy scaffold (its control variates are un-noised gradients)
  --min-category-count N  undeclared category values in fewer than N training rows in all are
                          folded into "other" before the feature space goes to the sites (default ${DEFAULT_MIN_CATEGORY_COUNT})
`;

export interface SimulateOptions {
  schema: string;
  sites: { name: string; path: string }[];
  testSites: { name: string; path: string }[];
  holdouts: { name: string; path: string }[];
  model: string;
  modelSettings?: Record<string, unknown>;
  /** Where modelSettings came from (--model-config), for messages. */
  modelConfigFile?: string;
  /** What the run takes from elsewhere than --model-config's file, said at start. */
  notices?: string[];
  rounds: number;
  seed: number;
  strategy: string;
  /** The strategy's options (server learning rate, proximal mu...), validated by the registry; defaults when absent. */
  strategyOptions?: StrategyOptions;
  testFraction: number;
  localBaseline: boolean;
  secureAggregation: boolean;
  /** What one site may claim (coordinator.yaml `limits`: counts, update clipping); result-bounds.ts defaults when absent. */
  bounds?: ResultBounds;
  /** Settings of the coordinator's secureAggregation section (threshold, clipBound...); defaults when absent. */
  secureAggregationSettings?: Record<string, unknown>;
  minCellCount?: number;
  /** Sites a round needs to count (default: every training site). */
  minSitesToAccept?: number;
  /** Tests only: wraps a site's transport (a compromised site re-signs what it sends with its own keys). */
  siteTransport?: (site: string, transport: SiteTransport, keys: { site: Identity; coordinator: Identity }) => SiteTransport;
  minCategoryCount?: number;
  minTrainingRows?: number;
  /** Differential privacy (privacy.dp); absent: off. */
  dp?: DpSettings;
}

/** The flags of `fedcausal simulate`, with their defaults and ranges. */
export const SIMULATE_FLAGS = {
  schema: text(),
  site: namedPaths(),
  'test-site': namedPaths(),
  holdout: namedPaths(),
  model: choiceFlag(MODEL_KINDS),
  'model-config': z.string().optional(),
  rounds: numberFlag({ min: 1, max: 10000, int: true }).default(20),
  seed: numberFlag({ min: 0, max: SEED_MAX, int: true }).default(1),
  strategy: choiceFlag(strategyNames).default(DEFAULT_STRATEGY),
  'strategy-option': keyValues(),
  'local-epochs': numberFlag({ min: 1, max: 1000, int: true }).optional(),
  'test-fraction': numberFlag(TEST_FRACTION).default(DEFAULT_TEST_FRACTION),
  out: z.string().optional(),
  predictions: z.string().optional(),
  'save-models': z.string().optional(),
  'secure-aggregation': z.boolean().default(false),
  'local-baseline': z.boolean().default(false),
  'min-cell-count': numberFlag({ min: 1, max: 1_000_000, int: true }).default(DEFAULT_MIN_CELL_COUNT),
  'min-category-count': numberFlag({ min: 1, max: 1_000_000, int: true }).default(DEFAULT_MIN_CATEGORY_COUNT),
  'min-training-rows': numberFlag({ min: 1, max: 1e9, int: true }).default(MIN_TRAINING_ROWS),
  dp: z.boolean().default(false),
  'dp-clip-norm': numberFlag({ min: 1e-6, max: 1e6 }).optional(),
  'dp-noise-multiplier': numberFlag({ min: 0.01, max: 1e6 }).optional(),
  'dp-delta': numberFlag({ min: 0, minOpen: true, max: 0.01 }).optional(),
  'dp-max-epsilon': numberFlag({ min: 0, minOpen: true, max: 1e6 }).optional(),
};

/** What the privacy budget's messages call simulate's flags. */
export const SIMULATE_DP_NAMES: BudgetNames = { budget: '--dp-max-epsilon', rounds: '--rounds', noise: '--dp-noise-multiplier' };

export function parseSimulateArgs(argv: string[]): (SimulateOptions & { out?: string; predictions?: string; saveModels?: string }) | 'help' {
  const v = parseFlags(argv, SIMULATE_FLAGS);
  if (v === 'help') return 'help';
  const sites = v.site;
  checkSites(sites, v['test-site'], v.holdout);
  const localEpochs = v['local-epochs'];
  const fromFile = modelSectionOf(v['model-config'], v.model, localEpochs);
  const dp = dpOf(v);
  return {
    schema: v.schema,
    sites,
    testSites: v['test-site'],
    holdouts: v.holdout,
    model: v.model,
    modelSettings: { ...fromFile.settings, ...(localEpochs ? { localEpochs } : {}) },
    ...(v['model-config'] ? { modelConfigFile: v['model-config'] } : {}),
    ...(fromFile.notices.length ? { notices: fromFile.notices } : {}),
    rounds: v.rounds,
    seed: v.seed,
    strategy: v.strategy,
    strategyOptions: strategyOptionsOf(v.strategy, v['strategy-option']),
    testFraction: v['test-fraction'],
    localBaseline: v['local-baseline'],
    secureAggregation: v['secure-aggregation'],
    minCellCount: v['min-cell-count'],
    minCategoryCount: v['min-category-count'],
    minTrainingRows: v['min-training-rows'],
    ...(dp ? { dp } : {}),
    out: v.out,
    predictions: v.predictions,
    saveModels: v['save-models'],
  };
}

export type SiteFlag = { name: string; path: string };

/** --site (one at least), --test-site (names unique across both) and --holdout (of a --site). */
function checkSites(sites: readonly SiteFlag[], testSites: readonly SiteFlag[], holdouts: readonly SiteFlag[]): void {
  if (sites.length === 0) throw new InputError('--site: at least one NAME=PATH is required');
  const names = [...sites, ...testSites].map((s) => s.name);
  const dup = names.find((n, i) => names.indexOf(n) !== i);
  if (dup) throw new InputError(`--site: site name "${dup}" is given twice`);
  for (const h of holdouts)
    if (!sites.some((s) => s.name === h.name)) throw new InputError(`--holdout: names unknown site "${h.name}" (no --site ${h.name}=...)`);
}

/**
 * --dp's settings: the --dp-* flags only with --dp, --dp only with a strategy whose sites send
 * nothing un-noised, and a run within --dp-max-epsilon over its --rounds.
 */
function dpOf(v: { dp: boolean; strategy: string; rounds: number; 'dp-clip-norm'?: number; 'dp-noise-multiplier'?: number; 'dp-delta'?: number; 'dp-max-epsilon'?: number }): DpSettings | undefined {
  const dpFlag = (['dp-clip-norm', 'dp-noise-multiplier', 'dp-delta', 'dp-max-epsilon'] as const).find((f) => v[f] !== undefined);
  if (dpFlag && !v.dp) throw new InputError(`--${dpFlag}: has no effect without --dp`);
  if (!v.dp) return undefined;
  if (SENDS_GRADIENTS.includes(v.strategy))
    throw new InputError(`--dp: cannot be used with --strategy ${v.strategy}: its sites send an un-noised gradient of their rows (the control variate) that DP would not cover`);
  const maxEpsilon = v['dp-max-epsilon'];
  const dp = { clipNorm: v['dp-clip-norm'] ?? 1, noiseMultiplier: v['dp-noise-multiplier'] ?? 1, delta: v['dp-delta'] ?? 1e-5, ...(maxEpsilon !== undefined ? { maxEpsilon } : {}) };
  const over = overBudget(dp, v.rounds, SIMULATE_DP_NAMES);
  if (over) throw new InputError(`--dp-max-epsilon: ${over}`);
  return dp;
}

/**
 * `--model-config FILE`: coordinator.yaml's model section, from a coordinator.yaml or a
 * file of that section alone, without its kind (--model names it); with what the run
 * takes from elsewhere, said at start (a coordinator.yaml's other sections, a flag over a
 * setting of the file).
 */
function modelSectionOf(file: string | undefined, model: string, localEpochs: number | undefined): { settings: Record<string, unknown>; notices: string[] } {
  if (file === undefined) return { settings: {}, notices: [] };
  const { raw } = readConfigFile(file);
  const whole = 'model' in raw;
  const section = whole ? raw.model : raw;
  if (typeof section !== 'object' || section === null || Array.isArray(section)) throw new InputError(`${file}: model: must be a mapping of fields`);
  const { kind, ...settings } = section as Record<string, unknown>;
  if (kind !== undefined && kind !== model) throw new InputError(`${file}: model.kind is ${JSON.stringify(kind)} but --model is ${model}; give one kind`);
  compileModelSpec({ ...settings, kind: model }, { file, at: whole ? 'model' : '' });
  const others = whole ? Object.keys(raw).filter((k) => k !== 'model') : [];
  return { settings, notices: modelConfigNotices(file, others, settings, model, localEpochs) };
}

/** What the run takes from elsewhere than --model-config's file, or does not use of it: said at start. */
function modelConfigNotices(file: string, others: string[], settings: Record<string, unknown>, model: string, localEpochs: number | undefined): string[] {
  const notices: string[] = [];
  if (others.length) notices.push(`--model-config ${file}: only its model section is read; ${others.join(', ')} come from simulate's flags (--rounds, --strategy, --seed...)`);
  // Kept beside any kind (a coordinator.yaml switched to baseline keeps its section), but read by the debiased model only (an outside try: silent).
  if (settings.debiasing !== undefined && model !== 'debiased') notices.push(`${file}: model.debiasing is read by --model debiased only; this ${model} run does not use it`);
  if (localEpochs !== undefined && settings.localEpochs !== undefined && settings.localEpochs !== localEpochs)
    notices.push(`--local-epochs ${localEpochs} overrides ${file}'s localEpochs ${JSON.stringify(settings.localEpochs)}`);
  return notices;
}

/**
 * `--strategy-option KEY=VALUE ...` as the strategy's options, checked by the schema of
 * coordinator.yaml's strategy section (an option the strategy does not read included): the
 * same message, after the flag's name.
 */
function strategyOptionsOf(strategy: string, pairs: { key: string; value: number | string }[]): StrategyOptions {
  const options = new Map<string, number | string>();
  for (const { key, value } of pairs) {
    if (key === 'name') throw new InputError('--strategy-option: "name" is not an option; the strategy is named by --strategy');
    if (options.has(key)) throw new InputError(`--strategy-option: ${key} given twice; give it once`);
    options.set(key, value);
  }
  const raw = Object.fromEntries(options) as StrategyOptions;
  try {
    validateStrategyOptions(strategy, raw);
  } catch (e) {
    if (e instanceof InputError) throw new InputError(e.message.replace(/^/gm, '--strategy-option: '), { cause: e });
    throw e;
  }
  return raw;
}

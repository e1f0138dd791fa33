import { writeFileSync } from 'node:fs';
import { z } from 'zod';
import { createFederation } from '../coordinator/federation.ts';
import { DEFAULT_MIN_CELL_COUNT } from '../coordinator/priors.ts';
import { createStrategy, DEFAULT_STRATEGY, SENDS_GRADIENTS, strategyNames, validateStrategyOptions } from '../coordinator/strategy/registry.ts';
import { compileSecureAggregation } from '../coordinator/secure-config.ts';
import type { ResultBounds } from '../coordinator/result-bounds.ts';
import type { StrategyOptions } from '../coordinator/strategy/strategy.ts';
import { generateIdentity, type Identity } from '../shared/crypto/keys.ts';
import { checkModelFeatures, compileModelSpec, MODEL_KINDS } from '../shared/model/factory.ts';
import { readConfigFile } from '../shared/config/load.ts';
import { DEFAULT_TEST_FRACTION, SEED_MAX, TEST_FRACTION, choiceFlag, numberFlag, text } from '../shared/config/fields.ts';
import { featureList, loadSchema, type Schema } from '../shared/data/schema.ts';
import { DEFAULT_MIN_CATEGORY_COUNT } from '../shared/data/vocabulary.ts';
import { MIN_TRAINING_ROWS } from '../shared/data/training-rows.ts';
import type { DpSettings } from '../shared/privacy/dp.ts';
import { loadSiteTable } from '../shared/data/table.ts';
import { InputError } from '../shared/errors.ts';
import type { Logger } from '../shared/logger.ts';
import { inMemoryTransport } from '../shared/transport/in-memory.ts';
import type { SiteTransport } from '../shared/transport/types.ts';
import { prepareLocalData } from '../site-agent/local-data.ts';
import { SiteAgent } from '../site-agent/agent.ts';
import { keyValues, namedPaths, parseFlags } from '../shared/config/flags.ts';
import { buildResults, type ResultsFile } from './results.ts';
import type { BundleInput } from '../shared/model/bundle.ts';
import { codingWarnings, splitWarnings, startWarnings } from './simulate-warnings.ts';

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
  --seed S                seed for splits, initial weights and training (default 1)
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
};

export function parseSimulateArgs(argv: string[]): (SimulateOptions & { out?: string; predictions?: string; saveModels?: string }) | 'help' {
  const v = parseFlags(argv, SIMULATE_FLAGS);
  if (v === 'help') return 'help';
  const sites = v.site;
  checkSites(sites, v['test-site'], v.holdout);
  const localEpochs = v['local-epochs'];
  const fromFile = modelSectionOf(v['model-config'], v.model, localEpochs);
  checkDp(v);
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
    ...(v.dp ? { dp: { clipNorm: v['dp-clip-norm'] ?? 1, noiseMultiplier: v['dp-noise-multiplier'] ?? 1, delta: v['dp-delta'] ?? 1e-5 } } : {}),
    out: v.out,
    predictions: v.predictions,
    saveModels: v['save-models'],
  };
}

type SiteFlag = { name: string; path: string };

/** --site (one at least), --test-site (names unique across both) and --holdout (of a --site). */
function checkSites(sites: readonly SiteFlag[], testSites: readonly SiteFlag[], holdouts: readonly SiteFlag[]): void {
  if (sites.length === 0) throw new InputError('--site: at least one NAME=PATH is required');
  const names = [...sites, ...testSites].map((s) => s.name);
  const dup = names.find((n, i) => names.indexOf(n) !== i);
  if (dup) throw new InputError(`--site: site name "${dup}" is given twice`);
  for (const h of holdouts)
    if (!sites.some((s) => s.name === h.name)) throw new InputError(`--holdout: names unknown site "${h.name}" (no --site ${h.name}=...)`);
}

/** The --dp-* settings only with --dp, and --dp only with a strategy whose sites send nothing un-noised. */
function checkDp(v: { dp: boolean; strategy: string; 'dp-clip-norm'?: number; 'dp-noise-multiplier'?: number; 'dp-delta'?: number }): void {
  const dpFlag = (['dp-clip-norm', 'dp-noise-multiplier', 'dp-delta'] as const).find((f) => v[f] !== undefined);
  if (dpFlag && !v.dp) throw new InputError(`--${dpFlag}: has no effect without --dp`);
  if (v.dp && SENDS_GRADIENTS.includes(v.strategy))
    throw new InputError(`--dp: cannot be used with --strategy ${v.strategy}: its sites send an un-noised gradient of their rows (the control variate) that DP would not cover`);
}

/** One in-process agent per site over the in-memory transport; a crashed site stops the run. */
function startAgents(c: {
  o: SimulateOptions;
  locals: ReturnType<typeof siteData>['locals'];
  ids: Map<string, Identity>;
  coordinatorId: Identity;
  fed: ReturnType<typeof createFederation>;
  schema: Schema;
  log: Logger;
  predictions: Prediction[];
}) {
  const { o, locals, ids, coordinatorId, fed, schema, log, predictions } = c;
  return locals.map((s) => {
    const inner = inMemoryTransport(fed.service);
    const transport = o.siteTransport ? o.siteTransport(s.name, inner, { site: ids.get(s.name)!, coordinator: coordinatorId }) : inner;
    const agent = new SiteAgent({
      site: s.name,
      federation: 'simulation',
      schema,
      data: s.data,
      identity: ids.get(s.name)!,
      coordinator: { signingPublicKey: coordinatorId.signing.publicKey, boxPublicKey: coordinatorId.box.publicKey },
      transport,
      seed: siteSeed(o.seed + 7, s.name),
      log: log.child({ site: s.name }),
      // No keepalive to serve in one process; yielding on the clock would let the clock decide
      // the order sites deliver in, and the float sums of the aggregate with it.
      trainYieldEveryMs: Infinity,
      // Said at start against the other sites' values (codingWarnings).
      vocabularyNotes: false,
      onPredictions: (p) =>
        p.rows.forEach((row, i) => predictions.push({ site: p.site, row, label: p.labels[i]!, score: p.scores[i]! })),
    });
    const done = agent.run().catch((e: Error) => {
      // A crashed site ends the run: in a simulation nothing else would make it answer.
      log.error('site agent failed', { site: s.name, error: e.message });
      fed.loop.stop(`site ${s.name} failed: ${e.message}`);
      throw e;
    });
    done.catch(() => {});
    return { transport, done, agent };
  });
}

/**
 * Each site's data, read and split as its agent would; with what the sites say at start about
 * their data, and the test sites whose figures it leaves undefined (kept in the results too).
 */
function siteData(o: SimulateOptions, all: (SiteFlag & { testOnly: boolean })[], schema: Schema, log: Logger) {
  const dataWarnings: string[] = [];
  const locals = all.map((s) => {
    const table = loadSiteTable(schema, s.path);
    const h = o.holdouts.find((x) => x.name === s.name);
    dataWarnings.push(...startWarnings(s, table, schema, log));
    const data = prepareLocalData(table, {
      testFraction: o.testFraction,
      seed: siteSeed(o.seed, s.name),
      holdout: h ? loadSiteTable(schema, h.path) : undefined,
      testOnly: s.testOnly,
      minTrainingRows: o.minTrainingRows,
      minTrainingRowsSetting: '--min-training-rows',
    });
    dataWarnings.push(...splitWarnings(s, data, schema));
    return { ...s, data, table };
  });
  dataWarnings.push(...codingWarnings(locals, schema, log));
  return { locals, dataWarnings };
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

/** A refusal of the secureAggregation settings said as the flag's (the flag only sets `enabled`). */
function onFlag<T>(flag: string, f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof InputError) throw new InputError(e.message.replace(/^secureAggregation\.(enabled|minSites): /gm, `${flag}: `), { cause: e });
    throw e;
  }
}

/** A stable per-site seed, so adding a site does not reshuffle the others' splits. */
function siteSeed(seed: number, name: string): number {
  let h = seed >>> 0;
  for (const ch of name) h = Math.imul(h ^ ch.charCodeAt(0), 16777619) >>> 0;
  return h;
}

export interface Prediction {
  site: string;
  row: number;
  label: number;
  score: number;
}

/** Runs the federation in-process and returns the results file object and the predictions. */
/** Told of each committed round (the CLI prints progress when stdout is not taken by the results). */
export type RoundProgress = (r: { round: number; rounds: number; participants: number; metrics: Record<string, number> }) => void;

export async function runSimulation(o: SimulateOptions, log: Logger, onRound?: RoundProgress): Promise<{ results: ResultsFile; predictions: Prediction[]; models: BundleInput[] }> {
  // The whole model section and the strategy, checked before any data is read (as the coordinator does at start).
  compileModelSpec({ ...o.modelSettings, kind: o.model });
  for (const n of o.notices ?? []) log.warn(n);
  const strategy = createStrategy(o.strategy, o.strategyOptions ?? {});
  log.info('strategy', { strategy: o.strategy, ...o.strategyOptions });
  const schema = loadSchema(o.schema);
  // A trusted or suspect feature the schema lacks is refused now, as coordinator.yaml's is at start.
  checkModelFeatures({ raw: o.modelSettings ?? {} }, featureList(schema), { file: o.modelConfigFile ?? '--model-config', at: 'model', schema: o.schema });
  const secureAggregation = onFlag('--secure-aggregation', () =>
    compileSecureAggregation({ ...o.secureAggregationSettings, enabled: o.secureAggregation }, { strategy: o.strategy, model: o.model, trainingSites: o.sites.length, modalities: schema.modalities.length }));
  const coordinatorId = generateIdentity();
  const all = [...o.sites.map((s) => ({ ...s, testOnly: false })), ...o.testSites.map((s) => ({ ...s, testOnly: true }))];
  const ids = new Map<string, Identity>(all.map((s) => [s.name, generateIdentity()]));
  const { locals, dataWarnings } = siteData(o, all, schema, log);
  const fed = createFederation(
    {
      federation: 'simulation',
      rounds: o.rounds,
      model: { kind: o.model, raw: o.modelSettings ?? {}, seed: o.seed },
      strategy,
      schema,
      sites: all.map((s) => ({ name: s.name, signingPublicKey: ids.get(s.name)!.signing.publicKey })),
      testSites: o.testSites.map((s) => s.name),
      quorum: { minSitesToStart: o.sites.length, minSitesToAccept: o.minSitesToAccept ?? o.sites.length, roundDeadlineMs: 3_600_000, startTimeoutMs: 60_000, rejoinGraceMs: 0, waitForAllMs: 0 },
      minCellCount: o.minCellCount ?? DEFAULT_MIN_CELL_COUNT,
      minCategoryCount: o.minCategoryCount,
      ...(o.dp ? { dp: o.dp } : {}),
      localBaseline: o.localBaseline,
      identity: coordinatorId,
      limits: { maxPayloadBytes: 2 ** 31, maxChunkSize: 1 << 20, maxMessageAgeMs: 3_600_000 },
      spool: 'memory',
      ...(secureAggregation ? { secureAggregation } : {}),
      ...(o.bounds ? { bounds: o.bounds } : {}),
    },
    log,
    (e) => {
      if (e.type !== 'round') return;
      log.info('round done', { round: e.record.round, sites: e.record.participants, ...e.record.metrics });
      onRound?.({ round: e.record.round, rounds: o.rounds, participants: e.record.participants, metrics: e.record.metrics });
    },
  );
  const predictions: Prediction[] = [];
  const agents = startAgents({ o, locals, ids, coordinatorId, fed, schema, log, predictions });
  try {
    const outcome = await fed.loop.run();
    const privacy = fed.privacy();
    if (privacy) outcome.privacy = privacy;
    outcome.warnings.unshift(...dataWarnings);
    await fed.loop.end('simulation complete', 'complete');
    await Promise.all(agents.map((a) => a.done));
    const order = all.map((s) => s.name);
    predictions.sort((a, b) => order.indexOf(a.site) - order.indexOf(b.site) || a.row - b.row);
    const results = buildResults(outcome);
    if (results.secureAggregation) withHeldOutCounts(results, new Map(locals.map((l) => [l.name, l.data.test.labels.length])));
    // Each training site's final model as its agent keeps it (--save-models); a test site trains none.
    const models = agents.flatMap((a) => a.agent.trainedModel() ?? []).filter((m) => !o.testSites.some((t) => t.name === m.site));
    return { results, predictions, models };
  } finally {
    for (const a of agents) a.transport.close();
  }
}

/**
 * A secure run's per-site `n`: in a deployment each site's held-out count stays in the sum,
 * but simulate holds every file, so its results keep INTERFACES.md's `n` (an outside try's
 * script failed on its absence), first as in the plain run.
 */
function withHeldOutCounts(results: ResultsFile, counts: ReadonlyMap<string, number>): void {
  for (const scope of [results.sites, results.testSites, results.localSites ?? {}])
    for (const [site, m] of Object.entries(scope)) if (m.n === undefined && counts.has(site)) scope[site] = { n: counts.get(site)!, ...m };
}

/** Scores as JS writes them (the shortest text that reads back the same number): 6 figures made ties near 1, and an AUROC from the file missed the results' (an outside try: 0.4585 vs 0.4459). */
export function writePredictions(path: string, preds: Prediction[]): void {
  const lines = ['site,row,label,score', ...preds.map((p) => `${p.site},${p.row},${p.label},${String(p.score)}`)];
  writeFileSync(path, lines.join('\n') + '\n');
}

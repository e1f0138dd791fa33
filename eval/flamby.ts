/**
 * Section 2: FLamby's Fed-Heart-Disease split. FLamby drops slope, ca and thal, drops
 * rows with any other value missing ("?"), and splits each centre 66/34, stratified
 * where each class has more than 2 rows (flambySplit):
 * 740 rows, test rows 104, 89, 16, 45. Accuracy is taken on the pooled test rows
 * (every site's test predictions together), as FLamby reports it.
 *
 * Beside FedAvg: FedAdam, FedYogi and FedProx rows, each with its one setting (server
 * learning rate, proximal mu) picked on separate split seeds (FLAMBY_TUNING_SEEDS),
 * which also pick the federated row that FLamby's pooled 0.795 is checked on; and the
 * pooled-budget diagnostic of eval/pooled.ts.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import type { StrategyOptions } from '../coordinator/strategy/strategy.ts';
import { join } from 'node:path';
import { loadSchema } from '../shared/data/schema.ts';
import type { ClassificationReport, MeanAndSpread } from '../shared/metrics/classification.ts';
import { mergeRuns, sectionSettings, specList, toRecord, wanted, type EvalContext, type RunRecord, type SectionSettings } from './context.ts';
import { simOptions, type SimOutcome } from './jobs.ts';
import { dropFeatures, readRawSchema, writeSchema } from './schemas.ts';
import { budgetRows, budgetVariants, stepMatchedBatch, variantSettings, type BudgetData, type StepMatch } from './pooled.ts';
import { BASELINE, DEBIASED_AUTO, HEART_SITES, LOGREG, modelSettings, type ModelSpec } from './settings.ts';
import { completeRows, concatText, flambySplit, readRawSiteFile, splitSeed, subsetText, writeSplit } from './splits.ts';
import { atLeast, pooledReport, spread, type Verdict } from './summary.ts';
import { bothClasses, FEDERATED_TRAINERS, FIXED_CONFIGS, SCAFFOLD_ID, fixedRowSplit, POOLED_TRAINERS, poolTrainers, fixedSplitSummary, readFlambySplit, type FixedSplitData } from './flamby-fixed.ts';
import { flambyTuningSeeds, OPTION_NAME, pickedValue, TUNED, tunedLabel, tuningOutcome, type FlambyTuning, type TunedSpec } from './flamby-tuning.ts';

export const FLAMBY_DROPPED = ['slope', 'ca', 'thal'] as const;
/** FLamby's published counts and accuracies (Fed-Heart-Disease, 5 seeds, pooled test rows). */
export const FLAMBY_ROWS = 740;
export const FLAMBY_TEST_ROWS: Record<string, number> = { cleveland: 104, hungary: 89, switzerland: 16, va: 45 };
export const FLAMBY_PUBLISHED = [
  { what: 'FedAvg logistic regression', accuracy: 0.758 },
  { what: 'pooled training (logistic regression)', accuracy: 0.795 },
  { what: 'best federated strategy (FedAdam)', accuracy: 0.793 },
];

/** FLamby's pooled accuracy: the target of the best federated model. */
export const FLAMBY_POOLED_TARGET = 0.795;

const POOLED_LOGREG: ModelSpec = { id: 'pooled-logreg', label: 'pooled training, logistic regression', model: 'logreg' };
const POOLED_BASELINE: ModelSpec = { id: 'pooled-baseline', label: 'pooled training, baseline', model: 'baseline' };
/** SCAFFOLD: FedAvg with control variates against client drift (no setting to tune). */
export const SCAFFOLD_LOGREG: ModelSpec = { id: SCAFFOLD_ID, label: 'SCAFFOLD logistic regression', model: 'logreg', strategy: 'scaffold' };
/** The FedAvg and SCAFFOLD rows (no setting to tune); with TUNED, the rows the tuning splits pick among. */
export const FEDERATED: readonly ModelSpec[] = [LOGREG, SCAFFOLD_LOGREG, BASELINE, DEBIASED_AUTO];
const CONFIGS: readonly ModelSpec[] = [...FEDERATED, POOLED_LOGREG, POOLED_BASELINE];

/** The pooled-budget diagnostic (eval/pooled.ts), baseline model, beside the FedAvg and pooled baselines. */
const BUDGET = budgetVariants(false);
const BUDGET_METRICS = [
  { key: 'auroc', label: 'AUROC on the pooled test rows' },
  { key: 'accuracy', label: 'accuracy' },
];

export interface FlambyRun extends RunRecord {
  pooled: ClassificationReport;
  stepsPerRound?: number;
}

export interface FlambyConfig {
  id: string;
  label: string;
  model: string;
  debiasing?: Record<string, unknown>;
  /** Absent: the section's strategy (FedAvg). */
  strategy?: string;
  strategyOptions?: StrategyOptions;
}

export interface FlambyTarget {
  target: number;
  /** The row picked on the tuning seeds, and its accuracy on the reported seeds. */
  best: string;
  accuracy: MeanAndSpread;
  verdict: Verdict;
  /** The highest reported federated row (an optimistic reading: picked on the numbers it is judged on). */
  maxConfig: string;
  maxAccuracy: number;
}

export interface FlambyData {
  settings: SectionSettings & { testFraction: number };
  counts: { site: string; rows: number; dropped: number; nTrain: number; nTest: number; flambyTest: number }[];
  totalRows: number;
  countsMatch: boolean;
  configs: FlambyConfig[];
  runs: FlambyRun[];
  summary: Record<string, { accuracy: MeanAndSpread; auroc: MeanAndSpread; balancedAccuracy: MeanAndSpread; ece: MeanAndSpread }>;
  published: typeof FLAMBY_PUBLISHED;
  /** Absent in results stored before the FedOpt rows and the budget diagnostic ran. */
  tuning?: FlambyTuning;
  target?: FlambyTarget;
  budget?: BudgetData;
  /** The sites whose train part holds one class, per random split seed (tuning and reported); absent in results stored before flambySplit. */
  oneClassTrain?: { seed: number; sites: string[] }[];
  /** FLamby's own fixed split (flamby-fixed.ts); absent in results stored before it ran. */
  fixed?: FixedSplitData;
}

export async function runFlamby(ctx: EvalContext): Promise<FlambyData> {
  const s = ctx.settings;
  const tuningSeeds = flambyTuningSeeds(s);
  const heartSchemaPath = join(ctx.heartDir, 'schema.json');
  const rawSchema = readRawSchema(heartSchemaPath);
  const heartSchema = loadSchema(heartSchemaPath);
  const derived = dropFeatures(rawSchema, FLAMBY_DROPPED);
  const schemaPath = join(ctx.tmp, 'schema.json');
  const schema = writeSchema(schemaPath, derived);
  const kept = Object.values(derived.modalities).flat();
  const columns = rawSchema.columns!;
  // FLamby drops rows with a "?" in a kept column; chol = 0 stays (our schema still reads it as "not measured").
  const colIdx = kept.map((f) => columns.indexOf(f));
  const missing = new Set(rawSchema.missingValues ?? ['?']);
  const fixedSplit = readFlambySplit();
  const files = HEART_SITES.map((h) => {
    const src = readRawSiteFile(heartSchema, join(ctx.heartDir, h.file));
    const keep = completeRows(src, colIdx, missing);
    const path = join(ctx.tmp, `${h.name}.csv`);
    writeFileSync(path, subsetText(src, keep));
    return { name: h.name, keep, rows: keep.length, dropped: src.rows.length - keep.length, file: readRawSiteFile(schema, path) };
  });
  const sites = files.map((f) => f.name);

  const counts: FlambyData['counts'] = [];
  const oneClassTrain: NonNullable<FlambyData['oneClassTrain']> = [];
  const outcomes: SimOutcome[] = [];
  let stepMatch: StepMatch | undefined;
  /** One seed's split on disk (FLamby's fixed one for seed 'fixed'), and simulate's site lists for it. */
  const prepare = (seed: number | 'fixed') => {
    const dir = join(ctx.tmp, `seed${seed}`);
    mkdirSync(dir, { recursive: true });
    const split = files.map((f) => {
      const rows = seed === 'fixed' ? fixedRowSplit(f.name, f.keep, fixedSplit.centres[f.name]!) : flambySplit(f.file.labels, s.flambyTestFraction, splitSeed(seed, f.name));
      const w = writeSplit(f.file, rows, join(dir, f.name));
      if (seed === s.seeds[0])
        counts.push({ site: f.name, rows: f.rows, dropped: f.dropped, nTrain: w.nTrain, nTest: w.nTest, flambyTest: FLAMBY_TEST_ROWS[f.name]! });
      return { name: f.name, ...w, both: bothClasses(f.file.labels, rows.train), trains: rows.train.length > 0 };
    });
    if (seed !== 'fixed') oneClassTrain.push({ seed, sites: split.filter((f) => f.trains && !f.both).map((f) => f.name) });
    const pooledTrain = join(dir, 'pooled.train.csv');
    writeFileSync(pooledTrain, concatText(split.map((f) => readRawSiteFile(schema, f.train))));
    // The pooled site's --holdout: every site's test rows, so that simulate trains it on every train row.
    const pooledTest = join(dir, 'pooled.test.csv');
    writeFileSync(pooledTest, concatText(split.map((f) => readRawSiteFile(schema, f.test))));
    const testSites = split.map((f) => ({ name: f.name, path: f.test }));
    return {
      match: stepMatchedBatch(split.map((f) => f.nTrain)),
      // A train part of one class trains (with a warning; on FLamby's split, Switzerland's); one of no rows is scored as a test-only site.
      federated: {
        sites: split.filter((f) => f.trains).map((f) => ({ name: f.name, path: f.train })),
        holdouts: testSites.filter((_, i) => split[i]!.trains),
        testSites: testSites.filter((_, i) => !split[i]!.trains),
      },
      // The sites whose train part holds both classes train; the others are scored as test-only sites.
      federatedTrainers: {
        sites: split.filter((f) => f.both).map((f) => ({ name: f.name, path: f.train })),
        holdouts: testSites.filter((_, i) => split[i]!.both),
        testSites: testSites.filter((_, i) => !split[i]!.both),
      },
      pooled: { sites: [{ name: 'pooled', path: pooledTrain }], holdouts: [{ name: 'pooled', path: pooledTest }], testSites },
      pooled70: { sites: [{ name: 'pooled', path: pooledTrain }], testSites },
      pooledTrainers: { sites: [{ name: 'pooled', path: poolTrainers(dir, split, (f) => readRawSiteFile(schema, f)) }], holdouts: [{ name: 'pooled', path: pooledTest }], testSites },
    };
  };
  type Layout = ReturnType<typeof prepare>['federated'] | ReturnType<typeof prepare>['pooled'] | ReturnType<typeof prepare>['pooled70'];
  const go = async (
    id: string,
    seed: number,
    model: string,
    modelSettings_: Record<string, unknown>,
    layout: Layout,
    strategy?: { name: string; options: StrategyOptions },
    tag = '',
  ): Promise<FlambyRun> => {
    const out = await ctx.runner.run({
      label: `s2 flamby ${id}${tag} seed ${seed}`,
      options: simOptions({
        schema: schemaPath,
        rounds: s.rounds,
        seed,
        strategy: strategy?.name ?? s.strategy,
        strategyOptions: strategy?.options ?? {},
        model,
        modelSettings: modelSettings_,
        ...layout,
      }),
    });
    outcomes.push(out);
    const steps = out.results.history[0]?.metrics.train_steps;
    return { ...toRecord(id, seed, out, sites), pooled: pooledReport(out.predictions, sites), ...(steps !== undefined ? { stepsPerRound: steps } : {}) };
  };
  const optionsOf = (t: TunedSpec, value: number) => ({ name: t.strategy, options: { [t.option]: value } as StrategyOptions });
  const strategyOf = (spec: ModelSpec) => (spec.strategy ? { name: spec.strategy, options: {} } : undefined);

  // The tuning seeds first, so the picks are known while the reported seeds' FedAvg rows run.
  const tuningLayouts = new Map(tuningSeeds.map((seed) => [seed, prepare(seed).federated]));
  const tuningPending: Promise<FlambyTuning['runs'][number]>[] = [];
  for (const seed of ctx.only ? [] : tuningSeeds) {
    const layout = tuningLayouts.get(seed)!;
    const score = (config: string, value: number | undefined) => (r: FlambyRun) => ({
      config,
      ...(value !== undefined ? { value } : {}),
      seed,
      accuracy: r.pooled.accuracy,
      auroc: r.pooled.auroc,
    });
    for (const t of TUNED)
      for (const value of t.grid)
        tuningPending.push(go(t.id, seed, t.model, modelSettings(t, s), layout, optionsOf(t, value), ` ${OPTION_NAME[t.option]} ${value} (tuning)`).then(score(t.id, value)));
    for (const spec of FEDERATED)
      tuningPending.push(go(spec.id, seed, spec.model, modelSettings(spec, s), layout, strategyOf(spec), ' (tuning)').then(score(spec.id, undefined)));
  }
  // --only-configs: the picks come from the stored section (its tuning ran the same code on the same seeds).
  const stored = ctx.only?.stored as FlambyData | undefined;
  if (ctx.only && !stored?.tuning) throw new Error('--only-configs: the stored section 2 has no tuning to take the picks from');
  const tuning = ctx.only ? Promise.resolve(stored!.tuning!) : Promise.all(tuningPending).then((runs) => tuningOutcome(tuningSeeds, runs));

  const pending: Promise<FlambyRun>[] = [];
  for (const seed of s.seeds) {
    const p = prepare(seed);
    stepMatch ??= p.match;
    for (const spec of FEDERATED.filter((x) => wanted(ctx, x.id))) pending.push(go(spec.id, seed, spec.model, modelSettings(spec, s), p.federated, strategyOf(spec)));
    for (const spec of [POOLED_LOGREG, POOLED_BASELINE].filter((x) => wanted(ctx, x.id))) pending.push(go(spec.id, seed, spec.model, modelSettings(spec, s), p.pooled));
    for (const v of BUDGET.filter((x) => wanted(ctx, x.id)))
      pending.push(go(v.id, seed, v.model, variantSettings(v, s.localEpochs, p.match), v.layout === 'federated' ? p.federated : v.layout === 'pooled' ? p.pooled : p.pooled70));
    for (const t of TUNED.filter((x) => wanted(ctx, x.id)))
      pending.push(
        tuning.then((tu) => {
          const value = pickedValue(tu, t.id);
          return go(t.id, seed, t.model, modelSettings(t, s), p.federated, optionsOf(t, value));
        }),
      );
  }
  // FLamby's own split: the same rows for every seed; settings and the judged row from the tuning splits.
  const fixed = prepare('fixed');
  const trainersOnly = [POOLED_TRAINERS.id, FEDERATED_TRAINERS.id];
  const fixedRuns = FIXED_CONFIGS.filter((id) => wanted(ctx, 'flamby-split') || (trainersOnly.includes(id) && wanted(ctx, id))).flatMap((id) =>
    s.seeds.map((seed) =>
      tuning.then((tu) => {
        const t = TUNED.find((x) => x.id === id);
        const spec = t ?? CONFIGS.find((c) => c.id === id) ?? [POOLED_TRAINERS, FEDERATED_TRAINERS].find((c) => c.id === id)!;
        const layout =
          id === POOLED_TRAINERS.id ? fixed.pooledTrainers
          : id === FEDERATED_TRAINERS.id ? fixed.federatedTrainers
          : id.startsWith('pooled') ? fixed.pooled
          : fixed.federated;
        return go(id, seed, spec.model, modelSettings(spec, s), layout, t ? optionsOf(t, pickedValue(tu, t.id)) : strategyOf(spec), ' (FLamby split)');
      }).then((r) => ({ config: id, seed, accuracy: r.pooled.accuracy, auroc: r.pooled.auroc })),
    ),
  );
  const [fresh, tu, fixedFresh] = await Promise.all([Promise.all(pending), tuning, Promise.all(fixedRuns)]);
  const runs = mergeRuns(fresh, stored?.runs);
  const fixedDone = mergeRuns(fixedFresh, stored?.fixed?.runs);
  const configs: FlambyConfig[] = displayOrder().map((id) => {
    const t = TUNED.find((x) => x.id === id);
    if (t) {
      const value = pickedValue(tu, t.id);
      return { id: t.id, label: tunedLabel(t.label, `${OPTION_NAME[t.option]} ${value}, picked on the tuning seeds`), model: t.model, strategy: t.strategy, strategyOptions: { [t.option]: value } };
    }
    return specList([CONFIGS.find((c) => c.id === id)!])[0]!;
  });
  const summary: FlambyData['summary'] = {};
  for (const c of configs) {
    const mine = runs.filter((r) => r.config === c.id);
    summary[c.id] = {
      accuracy: spread(mine.map((r) => r.pooled.accuracy)),
      auroc: spread(mine.map((r) => r.pooled.auroc)),
      balancedAccuracy: spread(mine.map((r) => r.pooled.balancedAccuracy)),
      ece: spread(mine.map((r) => r.pooled.ece)),
    };
  }
  const totalRows = files.reduce((a, f) => a + f.rows, 0);
  const budgetRuns = runs.map((r) => ({ config: r.config, seed: r.seed, stepsPerRound: r.stepsPerRound, values: { auroc: r.pooled.auroc, accuracy: r.pooled.accuracy } }));
  return {
    settings: { ...sectionSettings(s, outcomes), testFraction: s.flambyTestFraction },
    counts,
    totalRows,
    countsMatch: totalRows === FLAMBY_ROWS && counts.every((c) => c.nTest === c.flambyTest),
    oneClassTrain: oneClassTrain.sort((a, b) => a.seed - b.seed),
    configs,
    runs,
    summary,
    published: FLAMBY_PUBLISHED,
    tuning: tu,
    target: flambyTarget(tu.best, summary, configs),
    ...(fixedDone.length === 0 ? {} : { fixed: {
      source: fixedSplit.source,
      generatedWith: fixedSplit.generatedWith,
      counts: files.map((f) => {
        const rows = fixedRowSplit(f.name, f.keep, fixedSplit.centres[f.name]!);
        return { site: f.name, nTrain: rows.train.length, nTest: rows.test.length, stratified: fixedSplit.centres[f.name]!.stratified, trains: rows.train.length > 0, oneClass: rows.train.length > 0 && !bothClasses(f.file.labels, rows.train) };
      }),
      runs: fixedDone,
      ...fixedSplitSummary(fixedDone, tu.best, FLAMBY_POOLED_TARGET),
    } }),
    budget: {
      reference: BASELINE.id,
      pooled: POOLED_BASELINE.id,
      metrics: BUDGET_METRICS,
      stepMatch: stepMatch!,
      rows: budgetRows(budgetRuns, [BASELINE, POOLED_BASELINE, ...BUDGET], BASELINE.id, BUDGET_METRICS.map((m) => m.key)),
    },
  };
}

/** The rows of the accuracy table, federated by model then pooled. */
function displayOrder(): string[] {
  return [LOGREG.id, 'fedadam-logreg', 'fedyogi-logreg', 'fedprox-logreg', SCAFFOLD_LOGREG.id, BASELINE.id, 'fedadam-baseline', DEBIASED_AUTO.id, POOLED_LOGREG.id, POOLED_BASELINE.id];
}

/** The FLamby target on the reported seeds: the row picked on the tuning seeds against FLamby's pooled 0.795. */
export function flambyTarget(best: string, summary: FlambyData['summary'], configs: readonly FlambyConfig[]): FlambyTarget {
  const federated = configs.filter((c) => !c.id.startsWith('pooled'));
  let maxConfig = best;
  for (const c of federated) if ((summary[c.id]?.accuracy.mean ?? -Infinity) > (summary[maxConfig]?.accuracy.mean ?? -Infinity)) maxConfig = c.id;
  const accuracy = summary[best]?.accuracy ?? { mean: NaN, std: NaN, n: 0 };
  return {
    target: FLAMBY_POOLED_TARGET,
    best,
    accuracy,
    verdict: atLeast(accuracy.mean, FLAMBY_POOLED_TARGET),
    maxConfig,
    maxAccuracy: summary[maxConfig]?.accuracy.mean ?? NaN,
  };
}

/**
 * Section 1: the four heart-disease hospitals, per-site held-out metrics. Every
 * configuration of a seed reads the same pre-split files (70/30, stratified):
 * each site alone, pooled training, FedAvg logreg, baseline and debiased (auto),
 * and the pooled-budget diagnostic of eval/pooled.ts (why pooled scored below FedAvg).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadSchema } from '../shared/data/schema.ts';
import { simOptions, type SimOutcome } from './jobs.ts';
import {
  mergeRecords,
  mergeRuns,
  wanted,
  sectionSettings,
  specList,
  summarizeBySite,
  toRecord,
  type DecisionRecord,
  type EvalContext,
  type RunRecord,
  type SectionSettings,
  type SiteSummary,
} from './context.ts';
import { markdownTable } from '../shared/report/table.ts';
import type { ClassificationReport } from '../shared/metrics/classification.ts';
import { BASELINE, DEBIASED_AUTO, HEART_SITES, LOGREG, modelSettings, type ModelSpec } from './settings.ts';
import { concatText, projectSplit, readRawSiteFile, splitSeed, writeSplit } from './splits.ts';
import { fmtMeanStd, pooledReport } from './summary.ts';
import { decisionCell } from './markdown.ts';
import { budgetRows, budgetVariants, renderBudget, stepMatchedBatch, variantSettings, type BudgetData, type BudgetRun, type StepMatch } from './pooled.ts';

const ALONE: ModelSpec = { id: 'alone', label: 'each site alone (baseline, own train rows)', model: 'baseline' };
const POOLED: ModelSpec = { id: 'pooled', label: 'pooled training (baseline, all train rows in one site)', model: 'baseline' };
const CONFIGS: readonly ModelSpec[] = [ALONE, POOLED, LOGREG, BASELINE, DEBIASED_AUTO];
/** The pooled-budget diagnostic (eval/pooled.ts): its rows beside the pooled and FedAvg baselines. */
const BUDGET = budgetVariants(true);
const BUDGET_METRICS = [
  { key: 'meanAuroc', label: 'mean per-site AUROC' },
  { key: 'pooledAuroc', label: 'AUROC on the pooled test rows' },
];

/** A run's record with what the budget diagnostic reads: steps per round and the report over every site's test rows together. */
export interface HeartRun extends RunRecord {
  stepsPerRound?: number;
  pooled?: ClassificationReport;
}

export interface HeartSitesData {
  settings: SectionSettings & { testFraction: number };
  sites: string[];
  splits: { seed: number; site: string; nTrain: number; nTest: number }[];
  configs: ReturnType<typeof specList>;
  runs: HeartRun[];
  summary: SiteSummary;
  decisions: { seed: number; decision: DecisionRecord | undefined }[];
  /** Why pooled training scored below FedAvg (absent in results stored before it ran). */
  budget?: BudgetData;
}

export async function runHeartSites(ctx: EvalContext): Promise<HeartSitesData> {
  const s = { ...ctx.settings, seeds: ctx.settings.heartSeeds };
  const schemaPath = join(ctx.heartDir, 'schema.json');
  const schema = loadSchema(schemaPath);
  const raw = HEART_SITES.map((h) => ({ name: h.name, file: readRawSiteFile(schema, join(ctx.heartDir, h.file)) }));
  const sites = HEART_SITES.map((h) => h.name);
  const splits: HeartSitesData['splits'] = [];
  const outcomes: SimOutcome[] = [];
  const pending: Promise<HeartRun>[] = [];
  let stepMatch: StepMatch | undefined;
  for (const seed of s.seeds) {
    const dir = join(ctx.tmp, `seed${seed}`);
    mkdirSync(dir, { recursive: true });
    const files = raw.map(({ name, file }) => {
      const f = writeSplit(file, projectSplit(file.labels, s.heartTestFraction, splitSeed(seed, name)), join(dir, name));
      splits.push({ seed, site: name, nTrain: f.nTrain, nTest: f.nTest });
      return { name, ...f };
    });
    const pooledTrain = join(dir, 'pooled.train.csv');
    writeFileSync(pooledTrain, concatText(files.map((f) => readRawSiteFile(schema, f.train))));
    // The pooled site's --holdout: every site's test rows, so that simulate trains it on every train row.
    const pooledTest = join(dir, 'pooled.test.csv');
    writeFileSync(pooledTest, concatText(files.map((f) => readRawSiteFile(schema, f.test))));
    const match = stepMatchedBatch(files.map((f) => f.nTrain));
    stepMatch ??= match;
    const base = { schema: schemaPath, rounds: s.rounds, seed, strategy: s.strategy };
    const go = async (id: string, label: string, o: Parameters<typeof simOptions>[0], only?: string[]): Promise<HeartRun> => {
      const out = await ctx.runner.run({ label: `s1 ${label} seed ${seed}`, options: simOptions(o) });
      outcomes.push(out);
      const steps = out.results.history[0]?.metrics.train_steps;
      return { ...toRecord(id, seed, out, only), pooled: pooledReport(out.predictions, sites), ...(steps !== undefined ? { stepsPerRound: steps } : {}) };
    };
    const alone = (wanted(ctx, ALONE.id) ? files : []).map((f) =>
      go(ALONE.id, `alone ${f.name}`, {
        ...base,
        model: ALONE.model,
        modelSettings: modelSettings(ALONE, s),
        sites: [{ name: f.name, path: f.train }],
        holdouts: [{ name: f.name, path: f.test }],
      }),
    );
    if (wanted(ctx, ALONE.id)) pending.push(Promise.all(alone).then((parts) => mergeRecords(ALONE.id, seed, parts)));
    const federated = { sites: files.map((f) => ({ name: f.name, path: f.train })), holdouts: files.map((f) => ({ name: f.name, path: f.test })) };
    const testSites = files.map((f) => ({ name: f.name, path: f.test }));
    const pooled = { sites: [{ name: 'pooled', path: pooledTrain }], holdouts: [{ name: 'pooled', path: pooledTest }], testSites };
    if (wanted(ctx, POOLED.id)) pending.push(go(POOLED.id, 'pooled', { ...base, model: POOLED.model, modelSettings: modelSettings(POOLED, s), ...pooled }, sites));
    for (const spec of [LOGREG, BASELINE, DEBIASED_AUTO].filter((x) => wanted(ctx, x.id)))
      pending.push(go(spec.id, spec.id, { ...base, model: spec.model, modelSettings: modelSettings(spec, s), ...federated }));
    for (const v of BUDGET.filter((x) => wanted(ctx, x.id))) {
      const layout =
        v.layout === 'federated' ? federated
        : v.layout === 'pooled' ? pooled
        : { sites: [{ name: 'pooled', path: pooledTrain }], testSites };
      pending.push(go(v.id, v.id, { ...base, model: v.model, modelSettings: variantSettings(v, s.localEpochs, match), ...layout }, sites));
    }
  }
  const runs = mergeRuns(await Promise.all(pending), (ctx.only?.stored as HeartSitesData | undefined)?.runs);
  const summary = summarizeBySite(
    runs,
    CONFIGS.map((c) => c.id),
    sites,
  );
  const budgetRuns: BudgetRun[] = runs.map((r) => ({
    config: r.config,
    seed: r.seed,
    stepsPerRound: r.stepsPerRound,
    values: { meanAuroc: sites.reduce((a, x) => a + (r.sites[x]?.auroc ?? NaN), 0) / sites.length, pooledAuroc: r.pooled?.auroc ?? NaN },
  }));
  return {
    settings: { ...sectionSettings(s, outcomes), testFraction: s.heartTestFraction },
    sites,
    splits,
    configs: specList(CONFIGS),
    runs,
    summary,
    decisions: runs.filter((r) => r.config === DEBIASED_AUTO.id).map((r) => ({ seed: r.seed, decision: r.debiasing })),
    budget: {
      reference: BASELINE.id,
      pooled: POOLED.id,
      metrics: BUDGET_METRICS,
      stepMatch: stepMatch!,
      rows: budgetRows(budgetRuns, [BASELINE, POOLED, ...BUDGET], BASELINE.id, BUDGET_METRICS.map((m) => m.key)),
    },
  };
}

export function renderHeartSites(d: HeartSitesData): string {
  const out: string[] = [];
  const seeds = d.settings.seeds.length;
  out.push(
    `Each hospital's file is split 70/30 (stratified by label, one split per seed, the same files for every ` +
      `configuration); the models train on the 70% and are scored on each site's 30%. Mean ± standard deviation over ` +
      `${seeds} seed${seeds > 1 ? 's' : ''}. "Each site alone" is a one-site federation on that site's own train rows; ` +
      `"pooled" is one site holding all four train sets, scored on the same four test files` +
      (d.budget ? ' (it trains on every one of those rows: see "Pooled training and its budget" below).' : '.'),
    '',
  );
  const sizes = d.sites.map((site) => {
    const r = d.splits.find((x) => x.site === site)!;
    return `${site} ${r.nTrain}/${r.nTest}`;
  });
  out.push(`Train/test rows per site: ${sizes.join(', ')}.`, '');
  out.push('**Held-out AUROC per site** (mean over the four sites taken per seed):', '');
  out.push(
    markdownTable(
      ['model', ...d.sites, 'mean'],
      d.configs.map((c) => [c.label, ...[...d.sites, 'mean'].map((site) => fmtMeanStd(d.summary[c.id]![site]!.auroc))]),
    ),
  );
  out.push('**All metrics** (accuracy and balanced accuracy at threshold 0.5; ECE with 10 bins):', '');
  const rows: string[][] = [];
  for (const site of [...d.sites, 'mean'])
    for (const c of d.configs) {
      const m = d.summary[c.id]![site]!;
      rows.push([site, c.id, fmtMeanStd(m.auroc), fmtMeanStd(m.accuracy), fmtMeanStd(m.balancedAccuracy), fmtMeanStd(m.ece)]);
    }
  out.push(markdownTable(['site', 'model', 'AUROC', 'accuracy', 'balanced accuracy', 'ECE'], rows));
  out.push('**What auto decided**, per seed:', '');
  out.push(
    markdownTable(
      ['seed', 'decision', 'flagged', 'reason'],
      d.decisions.map((x) => [String(x.seed), ...decisionCell(x.decision)]),
    ),
  );
  if (d.budget) out.push(renderBudget(d.budget, 'mean per-site AUROC'));
  return out.join('\n');
}

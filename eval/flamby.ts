/**
 * Section 2: FLamby's Fed-Heart-Disease split. FLamby drops slope, ca and thal, drops
 * rows with any other value missing ("?"), and splits each centre 66/34, stratified:
 * 740 rows, test rows 104, 89, 16, 45. Accuracy is taken on the pooled test rows
 * (every site's test predictions together), as FLamby reports it.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadSchema } from '../shared/data/schema.ts';
import type { ClassificationReport, MeanAndSpread } from '../shared/metrics/classification.ts';
import { markdownTable } from '../shared/report/table.ts';
import { sectionSettings, specList, toRecord, type EvalContext, type RunRecord, type SectionSettings } from './context.ts';
import { simOptions, type SimOutcome } from './jobs.ts';
import { decisionTally } from './markdown.ts';
import { dropFeatures, readRawSchema, writeSchema } from './schemas.ts';
import { BASELINE, DEBIASED_AUTO, HEART_SITES, LOGREG, modelSettings, type ModelSpec } from './settings.ts';
import { completeRows, concatText, exactStratifiedSplit, readRawSiteFile, splitSeed, subsetText, writeSplit } from './splits.ts';
import { fmtMeanStd, pooledReport, spread } from './summary.ts';

export const FLAMBY_DROPPED = ['slope', 'ca', 'thal'] as const;
/** FLamby's published counts and accuracies (Fed-Heart-Disease, 5 seeds, pooled test rows). */
export const FLAMBY_ROWS = 740;
export const FLAMBY_TEST_ROWS: Record<string, number> = { cleveland: 104, hungary: 89, switzerland: 16, va: 45 };
export const FLAMBY_PUBLISHED = [
  { what: 'FedAvg logistic regression', accuracy: 0.758 },
  { what: 'pooled training (logistic regression)', accuracy: 0.795 },
  { what: 'best federated strategy (FedAdam)', accuracy: 0.793 },
];

const POOLED_LOGREG: ModelSpec = { id: 'pooled-logreg', label: 'pooled training, logistic regression', model: 'logreg' };
const POOLED_BASELINE: ModelSpec = { id: 'pooled-baseline', label: 'pooled training, baseline', model: 'baseline' };
const FEDERATED: readonly ModelSpec[] = [LOGREG, BASELINE, DEBIASED_AUTO];
const CONFIGS: readonly ModelSpec[] = [...FEDERATED, POOLED_LOGREG, POOLED_BASELINE];

export interface FlambyRun extends RunRecord {
  pooled: ClassificationReport;
}

export interface FlambyData {
  settings: SectionSettings & { testFraction: number };
  counts: { site: string; rows: number; dropped: number; nTrain: number; nTest: number; flambyTest: number }[];
  totalRows: number;
  countsMatch: boolean;
  configs: ReturnType<typeof specList>;
  runs: FlambyRun[];
  summary: Record<string, { accuracy: MeanAndSpread; auroc: MeanAndSpread; balancedAccuracy: MeanAndSpread; ece: MeanAndSpread }>;
  published: typeof FLAMBY_PUBLISHED;
}

export async function runFlamby(ctx: EvalContext): Promise<FlambyData> {
  const s = ctx.settings;
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
  const files = HEART_SITES.map((h) => {
    const src = readRawSiteFile(heartSchema, join(ctx.heartDir, h.file));
    const keep = completeRows(src, colIdx, missing);
    const path = join(ctx.tmp, `${h.name}.csv`);
    writeFileSync(path, subsetText(src, keep));
    return { name: h.name, rows: keep.length, dropped: src.rows.length - keep.length, file: readRawSiteFile(schema, path) };
  });

  const counts: FlambyData['counts'] = [];
  const outcomes: SimOutcome[] = [];
  const pending: Promise<FlambyRun>[] = [];
  for (const seed of s.seeds) {
    const dir = join(ctx.tmp, `seed${seed}`);
    mkdirSync(dir, { recursive: true });
    const split = files.map((f) => {
      const w = writeSplit(f.file, exactStratifiedSplit(f.file.labels, s.flambyTestFraction, splitSeed(seed, f.name)), join(dir, f.name));
      if (seed === s.seeds[0])
        counts.push({ site: f.name, rows: f.rows, dropped: f.dropped, nTrain: w.nTrain, nTest: w.nTest, flambyTest: FLAMBY_TEST_ROWS[f.name]! });
      return { name: f.name, ...w };
    });
    const pooledTrain = join(dir, 'pooled.train.csv');
    writeFileSync(pooledTrain, concatText(split.map((f) => readRawSiteFile(schema, f.train))));
    const sites = split.map((f) => f.name);
    const go = async (spec: ModelSpec, o: Pick<Parameters<typeof simOptions>[0], 'sites'> & Partial<Parameters<typeof simOptions>[0]>) => {
      const out = await ctx.runner.run({
        label: `s2 flamby ${spec.id} seed ${seed}`,
        options: simOptions({ schema: schemaPath, rounds: s.rounds, seed, strategy: s.strategy, model: spec.model, modelSettings: modelSettings(spec, s), ...o }),
      });
      outcomes.push(out);
      return { ...toRecord(spec.id, seed, out, sites), pooled: pooledReport(out.predictions, sites) };
    };
    for (const spec of FEDERATED)
      pending.push(go(spec, { sites: split.map((f) => ({ name: f.name, path: f.train })), holdouts: split.map((f) => ({ name: f.name, path: f.test })) }));
    for (const spec of [POOLED_LOGREG, POOLED_BASELINE])
      pending.push(go(spec, { sites: [{ name: 'pooled', path: pooledTrain }], testSites: split.map((f) => ({ name: f.name, path: f.test })) }));
  }
  const runs = await Promise.all(pending);
  const summary: FlambyData['summary'] = {};
  for (const c of CONFIGS) {
    const mine = runs.filter((r) => r.config === c.id);
    summary[c.id] = {
      accuracy: spread(mine.map((r) => r.pooled.accuracy)),
      auroc: spread(mine.map((r) => r.pooled.auroc)),
      balancedAccuracy: spread(mine.map((r) => r.pooled.balancedAccuracy)),
      ece: spread(mine.map((r) => r.pooled.ece)),
    };
  }
  const totalRows = files.reduce((a, f) => a + f.rows, 0);
  return {
    settings: { ...sectionSettings(s, outcomes), testFraction: s.flambyTestFraction },
    counts,
    totalRows,
    countsMatch: totalRows === FLAMBY_ROWS && counts.every((c) => c.nTest === c.flambyTest),
    configs: specList(CONFIGS),
    runs,
    summary,
    published: FLAMBY_PUBLISHED,
  };
}

export function renderFlamby(d: FlambyData): string {
  const out: string[] = [];
  const nTest = d.counts.reduce((a, c) => a + c.nTest, 0);
  out.push(
    `FLamby's Fed-Heart-Disease preparation: slope, ca and thal dropped (the fluoroscopy and thallium modalities ` +
      `disappear, exercise loses slope), rows with any other value missing ("?") dropped, each centre split 66/34 ` +
      `stratified (test size ceil(0.34 n), as scikit-learn's train_test_split; a new split per seed). ` +
      `Rows kept: ${d.totalRows} (FLamby: ${FLAMBY_ROWS}); test rows ${d.counts.map((c) => c.nTest).join(', ')} ` +
      `(FLamby: ${d.counts.map((c) => c.flambyTest).join(', ')}): ${d.countsMatch ? '**counts match**' : '**counts differ**'}. ` +
      `Note: chol = 0 (all of Switzerland, part of VA) is kept as FLamby keeps it, but our schema reads it as "not ` +
      `measured", so the labs modality is partly absent there; FLamby's logistic regression reads it as a value.`,
    '',
  );
  out.push(
    markdownTable(
      ['site', 'rows kept', 'rows dropped', 'train', 'test', 'FLamby test'],
      d.counts.map((c) => [c.site, c.rows, c.dropped, c.nTrain, c.nTest, c.flambyTest]),
    ),
  );
  out.push(`**Accuracy on the ${nTest} pooled test rows** (all sites' test predictions together), mean ± std over seeds:`, '');
  const rows = d.configs.map((c) => {
    const m = d.summary[c.id]!;
    return [c.label, fmtMeanStd(m.accuracy), fmtMeanStd(m.auroc), fmtMeanStd(m.balancedAccuracy), fmtMeanStd(m.ece)];
  });
  for (const p of d.published) rows.push([`FLamby published: ${p.what}`, p.accuracy.toFixed(3), '', '', '']);
  out.push(markdownTable(['model', 'accuracy', 'AUROC', 'balanced accuracy', 'ECE'], rows));
  const dec = d.runs.filter((r) => r.config === DEBIASED_AUTO.id).map((r) => r.debiasing);
  out.push(`Auto decision on this split: dual branch ${decisionTally(dec)} seeds.`, '');
  return out.join('\n');
}

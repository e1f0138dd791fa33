/**
 * Section 1: the four heart-disease hospitals, per-site held-out metrics. Every
 * configuration of a seed reads the same pre-split files (70/30, stratified):
 * each site alone, pooled training, FedAvg logreg, baseline and debiased (auto).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadSchema } from '../shared/data/schema.ts';
import { simOptions, type SimOutcome } from './jobs.ts';
import {
  mergeRecords,
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
import { BASELINE, DEBIASED_AUTO, HEART_SITES, LOGREG, modelSettings, type ModelSpec } from './settings.ts';
import { concatText, projectSplit, readRawSiteFile, splitSeed, writeSplit } from './splits.ts';
import { fmtMeanStd } from './summary.ts';
import { decisionCell } from './markdown.ts';

const ALONE: ModelSpec = { id: 'alone', label: 'each site alone (baseline, own train rows)', model: 'baseline' };
const POOLED: ModelSpec = { id: 'pooled', label: 'pooled training (baseline, all train rows in one site)', model: 'baseline' };
const CONFIGS: readonly ModelSpec[] = [ALONE, POOLED, LOGREG, BASELINE, DEBIASED_AUTO];

export interface HeartSitesData {
  settings: SectionSettings & { testFraction: number };
  sites: string[];
  splits: { seed: number; site: string; nTrain: number; nTest: number }[];
  configs: ReturnType<typeof specList>;
  runs: RunRecord[];
  summary: SiteSummary;
  decisions: { seed: number; decision: DecisionRecord | undefined }[];
}

export async function runHeartSites(ctx: EvalContext): Promise<HeartSitesData> {
  const s = ctx.settings;
  const schemaPath = join(ctx.heartDir, 'schema.json');
  const schema = loadSchema(schemaPath);
  const raw = HEART_SITES.map((h) => ({ name: h.name, file: readRawSiteFile(schema, join(ctx.heartDir, h.file)) }));
  const sites = HEART_SITES.map((h) => h.name);
  const splits: HeartSitesData['splits'] = [];
  const outcomes: SimOutcome[] = [];
  const pending: Promise<RunRecord>[] = [];
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
    const base = { schema: schemaPath, rounds: s.rounds, seed, strategy: s.strategy };
    const go = async (spec: ModelSpec, label: string, o: Parameters<typeof simOptions>[0], only?: string[]) => {
      const out = await ctx.runner.run({ label: `s1 ${label} seed ${seed}`, options: simOptions(o) });
      outcomes.push(out);
      return toRecord(spec.id, seed, out, only);
    };
    const alone = files.map((f) =>
      go(ALONE, `alone ${f.name}`, {
        ...base,
        model: ALONE.model,
        modelSettings: modelSettings(ALONE, s),
        sites: [{ name: f.name, path: f.train }],
        holdouts: [{ name: f.name, path: f.test }],
      }),
    );
    pending.push(Promise.all(alone).then((parts) => mergeRecords(ALONE.id, seed, parts)));
    pending.push(
      go(
        POOLED,
        'pooled',
        {
          ...base,
          model: POOLED.model,
          modelSettings: modelSettings(POOLED, s),
          sites: [{ name: 'pooled', path: pooledTrain }],
          testSites: files.map((f) => ({ name: f.name, path: f.test })),
        },
        sites,
      ),
    );
    for (const spec of [LOGREG, BASELINE, DEBIASED_AUTO])
      pending.push(
        go(spec, spec.id, {
          ...base,
          model: spec.model,
          modelSettings: modelSettings(spec, s),
          sites: files.map((f) => ({ name: f.name, path: f.train })),
          holdouts: files.map((f) => ({ name: f.name, path: f.test })),
        }),
      );
  }
  const runs = await Promise.all(pending);
  return {
    settings: { ...sectionSettings(s, outcomes), testFraction: s.heartTestFraction },
    sites,
    splits,
    configs: specList(CONFIGS),
    runs,
    summary: summarizeBySite(
      runs,
      CONFIGS.map((c) => c.id),
      sites,
    ),
    decisions: runs.filter((r) => r.config === DEBIASED_AUTO.id).map((r) => ({ seed: r.seed, decision: r.debiasing })),
  };
}

export function renderHeartSites(d: HeartSitesData): string {
  const out: string[] = [];
  const seeds = d.settings.seeds.length;
  out.push(
    `Each hospital's file is split 70/30 (stratified by label, one split per seed, the same files for every ` +
      `configuration); the models train on the 70% and are scored on each site's 30%. Mean ± standard deviation over ` +
      `${seeds} seed${seeds > 1 ? 's' : ''}. "Each site alone" is a one-site federation on that site's own train rows; ` +
      `"pooled" is one site holding all four train sets, scored on the same four test files.`,
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
  return out.join('\n');
}

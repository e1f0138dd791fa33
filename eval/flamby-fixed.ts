/**
 * Section 2 on FLamby's own split: the one fixed train/test split of FLamby's
 * dataset.py (scikit-learn train_test_split, random_state 43, per centre), read from
 * eval/flamby-split.json (row indices written by eval/flamby-split.py with scikit-learn;
 * no data values). FLamby's seeds vary the training only, so here too: one split, the
 * section's seeds vary initial weights and training order. The strategies' settings and
 * the row the target is judged on come from the tuning splits (flamby-tuning.ts), never
 * from this split.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { MeanAndSpread } from '../shared/metrics/classification.ts';
import { markdownTable } from '../shared/report/table.ts';
import type { ModelSpec } from './settings.ts';
import { concatText, type RawSiteFile, type RowSplit } from './splits.ts';
import { atLeast, fmtMeanStd, spread, type Verdict } from './summary.ts';
import { signed } from './markdown.ts';

export const FLAMBY_SPLIT_FILE = fileURLToPath(new URL('./flamby-split.json', import.meta.url));

/** One centre of eval/flamby-split.json: 0-based data-line indices of the file. */
export interface FlambyCentreSplit {
  kept: number[];
  test: number[];
  stratified: boolean;
}

/** The configurations run on the fixed split (ids of section 2's rows). */
/**
 * Pooled training without the train rows of the sites whose train part holds one class:
 * set beside the full pooled row, it measures what those rows are worth, apart from
 * federation (they once could not train in a federation; now they do, with a warning).
 */
export const POOLED_TRAINERS: ModelSpec = {
  id: 'pooled-logreg-trainers',
  label: 'pooled training, logistic regression, without the train rows of the one-class sites',
  model: 'logreg',
};

/**
 * FedAvg logistic regression on the same sites as POOLED_TRAINERS: beside it, it says how
 * far federation alone is from pooled training once the one-class sites are out, so the
 * gap between the judged row and pooled training on every row can be split between
 * federation and what a one-class site does to a federated average.
 */
export const FEDERATED_TRAINERS: ModelSpec = {
  id: 'logreg-trainers',
  label: 'FedAvg logistic regression, without the train rows of the one-class sites',
  model: 'logreg',
};

/** SCAFFOLD's row id (eval/flamby.ts SCAFFOLD_LOGREG). */
export const SCAFFOLD_ID = 'scaffold-logreg';

/** Every federated row the tuning splits can pick (so the judged row always runs here), the pooled rows and the one-class diagnostics. */
export const FIXED_CONFIGS = ['logreg', 'fedadam-logreg', 'fedyogi-logreg', 'fedprox-logreg', SCAFFOLD_ID, 'baseline', 'fedadam-baseline', 'debiased', 'pooled-logreg', FEDERATED_TRAINERS.id, POOLED_TRAINERS.id] as const;

/** Writes the pooled train file of the sites whose train part holds both classes; returns its path. */
export function poolTrainers(dir: string, split: readonly { train: string; both: boolean }[], read: (path: string) => RawSiteFile): string {
  const path = join(dir, 'pooled-trainers.train.csv');
  writeFileSync(path, concatText(split.filter((f) => f.both).map((f) => read(f.train))));
  return path;
}

export interface FixedSplitData {
  source: string;
  generatedWith: string;
  /**
   * `trains`: false where the site is scored as a test-only site (no train rows; in results
   * stored before one-class sites could train, one class). `oneClass`: its train part holds
   * one class (it trains, without its own recalibration or local-only baseline).
   */
  counts: { site: string; nTrain: number; nTest: number; stratified: boolean; trains: boolean; oneClass?: boolean }[];
  /** Per config id: accuracy and AUROC on the pooled test rows, over the training seeds. */
  summary: Record<string, { accuracy: MeanAndSpread; auroc: MeanAndSpread }>;
  runs: { config: string; seed: number; accuracy: number; auroc: number }[];
  target: { best: string; accuracy: MeanAndSpread; target: number; verdict: Verdict };
}

export function readFlambySplit(path = FLAMBY_SPLIT_FILE): { source: string; generatedWith: string; centres: Record<string, FlambyCentreSplit> } {
  const j = JSON.parse(readFileSync(path, 'utf8')) as { source?: unknown; generatedWith?: unknown; centres?: Record<string, Partial<FlambyCentreSplit>> | null };
  const ints = (v: unknown) => Array.isArray(v) && v.every((x) => Number.isInteger(x) && x >= 0);
  if (typeof j.centres !== 'object' || j.centres === null) throw new Error(`${path}: no "centres" object`);
  for (const [c, s] of Object.entries(j.centres))
    if (!ints(s.kept) || !ints(s.test) || typeof s.stratified !== 'boolean') throw new Error(`${path}: centre "${c}" needs kept and test index lists and "stratified"`);
  return { source: typeof j.source === 'string' ? j.source : '', generatedWith: typeof j.generatedWith === 'string' ? j.generatedWith : '', centres: j.centres as Record<string, FlambyCentreSplit> };
}

/**
 * FLamby's split of one centre as positions among OUR kept rows (`kept`: the file's
 * data-line indices we kept, in order). Throws unless we kept exactly FLamby's rows,
 * so a change in either preparation cannot pass unnoticed.
 */
export function fixedRowSplit(site: string, kept: readonly number[], centre: FlambyCentreSplit): RowSplit {
  if (kept.length !== centre.kept.length || kept.some((k, i) => k !== centre.kept[i]))
    throw new Error(`${site}: the rows kept (${kept.length}) are not FLamby's (${centre.kept.length}); the preparations differ`);
  const test = new Set(centre.test);
  for (const t of test) if (!kept.includes(t)) throw new Error(`${site}: FLamby test row ${t} is not among the kept rows`);
  const split: RowSplit = { train: [], test: [] };
  kept.forEach((k, j) => (test.has(k) ? split.test : split.train).push(j));
  return split;
}

/** Whether the rows at `idx` hold both labels (a site of one class trains without its own recalibration). */
export function bothClasses(labels: ArrayLike<number>, idx: readonly number[]): boolean {
  const pos = idx.reduce((a, i) => a + (labels[i] === 1 ? 1 : 0), 0);
  return pos > 0 && pos < idx.length;
}

/** The fixed-split summary and the target: the row picked on the tuning splits, judged here. */
export function fixedSplitSummary(runs: FixedSplitData['runs'], best: string, target: number): Pick<FixedSplitData, 'summary' | 'target'> {
  const summary: FixedSplitData['summary'] = {};
  for (const id of [...new Set(runs.map((r) => r.config))]) {
    const mine = runs.filter((r) => r.config === id);
    summary[id] = { accuracy: spread(mine.map((r) => r.accuracy)), auroc: spread(mine.map((r) => r.auroc)) };
  }
  const accuracy = summary[best]?.accuracy ?? { mean: NaN, std: NaN, n: 0 };
  return { summary, target: { best, accuracy, target, verdict: atLeast(accuracy.mean, target) } };
}

/** Which sites train on the split, said where a train part holds one class (or none). */
function whoTrains(d: FixedSplitData): string {
  const idle = d.counts.filter((c) => !c.trains);
  const single = d.counts.filter((c) => c.trains && c.oneClass);
  const trainRows = d.counts.filter((c) => c.trains).reduce((a, c) => a + c.nTrain, 0);
  return (
    (idle.length
      ? `On this split ${idle.map((c) => `${c.site}'s ${c.nTrain} train rows`).join(', ')} hold one class only (its negatives all fell in ` +
        `the test part); FLamby trains on them, but a fedcausal site refuses to train on one class, so there ` +
        `${idle.length > 1 ? 'those sites take' : 'that site takes'} part as a test-only site: the federated rows train on the other ` +
        `${d.counts.length - idle.length} hospitals (${idle.reduce((a, c) => a + c.nTrain, 0)} fewer train rows than FLamby's), the pooled row on every train row, and all are scored on every test row. `
      : '') +
    (single.length
      ? `On this split ${single.map((c) => `${c.site}'s ${c.nTrain} train rows`).join(', ')} hold one class only (its negatives all fell in ` +
        `the test part). As FLamby, fedcausal trains on them: a site whose training rows hold one class takes part in training, ` +
        `with a warning at start, and only its own recalibration and local-only baseline are absent. Every federated row trains on ` +
        `all ${d.counts.length - idle.length} hospitals (${trainRows} train rows), the pooled row on the same rows, and all are scored on every test row. `
      : '')
  );
}

export function renderFixedSplit(d: FixedSplitData, labelOf: (id: string) => string, published: readonly { what: string; accuracy: number }[]): string {
  const nTest = d.counts.reduce((a, c) => a + c.nTest, 0);
  const seeds = Object.values(d.summary)[0]?.accuracy.n ?? 0;
  const notStrat = d.counts.filter((c) => !c.stratified).map((c) => c.site);
  const idle = d.counts.filter((c) => !c.trains);
  const single = d.counts.filter((c) => c.trains && c.oneClass);
  const out = [
    "### On FLamby's own split",
    '',
    `The comparable measurement: FLamby's one fixed split (its dataset.py: train_test_split, random_state 43, per ` +
      `centre), taken index for index from eval/flamby-split.json (written by eval/flamby-split.py with ${d.generatedWith}; ` +
      `row indices only). Test rows ${d.counts.map((c) => `${c.site} ${c.nTest}`).join(', ')}` +
      (notStrat.length ? `; ${notStrat.join(', ')} unstratified, as FLamby leaves a centre with 2 or fewer rows of a class` : '') +
      '. ' +
      whoTrains(d) +
      `One split, ${seeds} training seeds (initial weights and order), as FLamby's seeds. Every strategy setting and the ` +
      `row judged below were picked on the tuning splits above, not here. Accuracy and AUROC on the ${nTest} pooled test rows:`,
    '',
  ];
  const rows = Object.keys(d.summary).map((id) => [labelOf(id), fmtMeanStd(d.summary[id]!.accuracy), fmtMeanStd(d.summary[id]!.auroc)]);
  for (const p of published) rows.push([`FLamby published: ${p.what}`, p.accuracy.toFixed(3), '']);
  out.push(markdownTable(['model', 'accuracy', 'AUROC'], rows));
  const g = d.target;
  const gap = g.accuracy.mean - g.target;
  if (g.accuracy.n === 0) {
    out.push(`**Target on FLamby's split**: ${labelOf(g.best)}, the row picked on the tuning splits, has no runs on this split in these results (rerun --sections 2): **n/a**.`, '');
    return out.join('\n');
  }
  out.push(
    `**Target on FLamby's split** (the best federated model, picked on the tuning splits, reaches FLamby's pooled ` +
      `${g.target.toFixed(3)}): ${labelOf(g.best)} ${fmtMeanStd(g.accuracy)} vs ${g.target.toFixed(3)}, difference ` +
      `${gap >= 0 ? '+' : ''}${gap.toFixed(3)} (${(Math.abs(gap) * nTest).toFixed(1)} of the ${nTest} test rows): **${g.verdict}**.`,
    '',
  );
  const all = d.summary['pooled-logreg']?.accuracy.mean;
  const some = d.summary[POOLED_TRAINERS.id]?.accuracy.mean;
  if (all !== undefined && some !== undefined && idle.length) {
    out.push(
      `- Pooled logistic regression on every train row reaches ${all.toFixed(3)} (${signed(all - g.target)} from FLamby's pooled number); ` +
        `on the train rows of the sites that train here only, ${some.toFixed(3)}. The rows the federation cannot train on are worth ` +
        `${signed(all - some)} of accuracy to pooled training, and against that comparable pooled row the judged federated row is ${signed(g.accuracy.mean - some)}: ` +
        `what separates it from the target on this split is ${g.accuracy.mean >= some ? 'those rows, not federation' : 'partly federation'}.`,
      '',
    );
  }
  if (all !== undefined && some !== undefined && single.length) {
    out.push(
      `- Pooled logistic regression on every train row reaches ${all.toFixed(3)} (${signed(all - g.target)} from FLamby's pooled number); ` +
        `without the one-class sites' train rows, ${some.toFixed(3)}: those rows are worth ${signed(all - some)} of accuracy to pooled training. ` +
        `The judged federated row, which now trains on them too, is ${signed(g.accuracy.mean - all)} from pooled training on the same rows.`,
      '',
    );
    out.push(...gapBullets(d, labelOf, all, some));
  }
  return out.join('\n');
}

/**
 * Where the judged row's gap to pooled training comes from (federation alone, or the
 * one-class sites' rows), and SCAFFOLD's row beside it, when those rows ran.
 */
function gapBullets(d: FixedSplitData, labelOf: (id: string) => string, all: number, some: number): string[] {
  const g = d.target;
  const lines: string[] = [];
  const fedAll = d.summary['logreg']?.accuracy.mean;
  const fedSome = d.summary[FEDERATED_TRAINERS.id]?.accuracy.mean;
  if (fedAll !== undefined && fedSome !== undefined)
    lines.push(
      `- Where that gap comes from: FedAvg logistic regression without the one-class sites reaches ${fedSome.toFixed(3)}, ` +
        `${signed(fedSome - some)} from pooled training on the same rows (federation alone); adding the one-class sites' rows ` +
        `moves it by ${signed(fedAll - fedSome)} (FedAvg, ${fedAll.toFixed(3)}) where it moves pooled training by ${signed(all - some)}. ` +
        (fedSome >= some && fedAll - fedSome < all - some
          ? `Federation alone is not behind; the one-class sites are. The usual account of this label skew: trained alone for a round, ` +
            `a site whose rows hold one class can only push its local model toward that class, through the intercept and its features alike; ` +
            `mixed into pooled batches, its rows meet the other sites' rows in every step, which hold the intercept, so the push lands on ` +
            `what sets those rows apart. That is client drift, which control variates (SCAFFOLD) correct.`
          : `Here federation alone accounts for part of the gap.`),
      '',
    );
  const scaffold = d.summary[SCAFFOLD_ID]?.accuracy;
  if (scaffold)
    lines.push(
      `- SCAFFOLD (control variates against client drift, coordinator/strategy/scaffold.ts) reaches ${fmtMeanStd(scaffold)} here ` +
        `(${signed(scaffold.mean - g.target)} from FLamby's pooled number, ${signed(scaffold.mean - all)} from pooled training on the same rows)` +
        (g.best === SCAFFOLD_ID
          ? '; it is the row picked on the tuning splits.'
          : `, but it is not the row picked on the tuning splits (table above), so the target is judged on ${labelOf(g.best)}, ` +
            `by the tuning splits' pick rule (how that rule came to be is said above the tuning table).`),
      '',
    );
  return lines;
}

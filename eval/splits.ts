/**
 * Fixed train/test files for the evaluation: every configuration of one seed reads
 * the same files, so differences between models are never differences of split.
 * Files are written line for line from the source (same number formats, same
 * missing tokens), with the header kept when the source has one.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { stratifiedSplit } from '../shared/data/split.ts';
import { parseSiteTable } from '../shared/data/table.ts';
import type { Schema } from '../shared/data/schema.ts';
import { Rng } from '../shared/rng.ts';

/** A site file read as raw lines: the header line (if any), one line per data row, and each row's label. */
export interface RawSiteFile {
  path: string;
  header?: string;
  rows: string[];
  labels: Uint8Array;
}

/** Reads a site file through the schema (so labels and row order are exactly simulate's) and keeps each row's raw text. */
export function readRawSiteFile(schema: Schema, path: string): RawSiteFile {
  const text = readFileSync(path, 'utf8');
  const table = parseSiteTable(schema, text, path);
  const lines = text.split(/\r?\n/);
  const rows = table.lines.map((l) => lines[l - 1]!);
  // A header is present when the schema lists no columns, or when the file repeats them on line 1.
  const firstData = table.lines[0]!;
  const header = firstData > 1 ? lines.slice(0, firstData - 1).find((l) => l.trim() !== '') : undefined;
  return { path, header, rows, labels: table.labels };
}

/** The text of a file holding `rows` at `idx` (in the given order), under the source's header. */
export function subsetText(file: Pick<RawSiteFile, 'header' | 'rows'>, idx: readonly number[]): string {
  const out = file.header === undefined ? [] : [file.header];
  for (const i of idx) {
    const r = file.rows[i];
    if (r === undefined) throw new Error(`row index ${i} is outside the ${file.rows.length} rows of the file`);
    out.push(r);
  }
  return out.join('\n') + '\n';
}

/** Several files' rows under one header (pooled training); the headers must agree. */
export function concatText(files: readonly Pick<RawSiteFile, 'header' | 'rows' | 'path'>[]): string {
  if (files.length === 0) throw new Error('concatText needs at least one file');
  const header = files[0]!.header;
  for (const f of files)
    if (f.header !== header) throw new Error(`cannot pool ${f.path}: its header differs from ${files[0]!.path}'s`);
  const rows = files.flatMap((f) => f.rows);
  return subsetText({ header, rows }, rows.map((_, i) => i));
}

export interface RowSplit {
  train: number[];
  test: number[];
}

/**
 * Stratified split with the test size fixed as scikit-learn's train_test_split fixes
 * it (ceil(fraction * n)), the per-class test counts by largest remainder. FLamby's
 * split uses that rule; the project's stratifiedSplit rounds per class and can be off
 * by one row, which would not reproduce FLamby's counts (104, 89, 16, 45).
 */
export function exactStratifiedSplit(labels: ArrayLike<number>, testFraction: number, seed: number): RowSplit {
  if (!(testFraction > 0 && testFraction < 1)) throw new Error(`test fraction must be in (0, 1), got ${testFraction}`);
  const n = labels.length;
  const nTest = Math.ceil(testFraction * n - 1e-9);
  const byClass = [0, 1].map((c) => Array.from({ length: n }, (_, i) => i).filter((i) => labels[i] === c));
  const quota = byClass.map((idx) => (idx.length * nTest) / n);
  const counts = quota.map(Math.floor);
  // Hand the rows left over to the classes with the largest fractional parts (ties: the larger class).
  const order = [0, 1].sort((a, b) => quota[b]! - counts[b]! - (quota[a]! - counts[a]!) || byClass[b]!.length - byClass[a]!.length);
  for (let k = 0, left = nTest - counts[0]! - counts[1]!; left > 0; k++, left--) counts[order[k % 2]!]!++;
  const rng = new Rng(seed);
  const train: number[] = [];
  const test: number[] = [];
  byClass.forEach((idx, c) => {
    rng.shuffle(idx);
    test.push(...idx.slice(0, counts[c]));
    train.push(...idx.slice(counts[c]));
  });
  return { train: train.sort((a, b) => a - b), test: test.sort((a, b) => a - b) };
}

/** FLamby stratifies a centre's split only when each class has more than this many rows. */
export const FLAMBY_MIN_CLASS_ROWS_TO_STRATIFY = 3;

/**
 * FLamby's split procedure with a seed of ours: exactStratifiedSplit where both classes
 * have at least FLAMBY_MIN_CLASS_ROWS_TO_STRATIFY rows, otherwise a plain shuffled split
 * of the same size (FLamby's dataset.py passes stratify=None there). Switzerland after
 * FLamby's preparation has one negative among 46 rows: stratifying would keep it in the
 * train part on every seed, where FLamby's procedure puts it in the test part about a
 * third of the time (as its fixed split, random_state 43, does).
 */
export function flambySplit(labels: ArrayLike<number>, testFraction: number, seed: number): RowSplit & { stratified: boolean } {
  let pos = 0;
  for (let i = 0; i < labels.length; i++) pos += labels[i] === 1 ? 1 : 0;
  const stratified = Math.min(pos, labels.length - pos) >= FLAMBY_MIN_CLASS_ROWS_TO_STRATIFY;
  if (stratified) return { ...exactStratifiedSplit(labels, testFraction, seed), stratified };
  // One class for the shuffle: the same test size rule, no per-class quota.
  return { ...exactStratifiedSplit(Array.from({ length: labels.length }, () => 0), testFraction, seed), stratified };
}

/** The project's seeded stratified split (rounding per class), as simulate itself splits. */
export function projectSplit(labels: ArrayLike<number>, testFraction: number, seed: number): RowSplit {
  return stratifiedSplit(labels, testFraction, seed);
}

/** A stable per-(seed, site) split seed, so one site's split does not depend on which other sites are in the run. */
export function splitSeed(seed: number, site: string): number {
  let h = (seed * 2654435761) >>> 0;
  for (const ch of site) h = Math.imul(h ^ ch.charCodeAt(0), 16777619) >>> 0;
  return h;
}

/** Writes train.csv / test.csv for one site under `prefix` and returns their paths and sizes. */
export function writeSplit(file: RawSiteFile, split: RowSplit, prefix: string): { train: string; test: string; nTrain: number; nTest: number } {
  const train = `${prefix}.train.csv`;
  const test = `${prefix}.test.csv`;
  writeFileSync(train, subsetText(file, split.train));
  writeFileSync(test, subsetText(file, split.test));
  return { train, test, nTrain: split.train.length, nTest: split.test.length };
}

/** Indices of the rows whose tokens in `columns` include none of the `missing` tokens (FLamby's dropna). */
export function completeRows(file: Pick<RawSiteFile, 'rows'>, columnIndex: readonly number[], missing: ReadonlySet<string>): number[] {
  const keep: number[] = [];
  file.rows.forEach((line, i) => {
    const fields = line.split(',').map((f) => f.trim());
    if (columnIndex.every((c) => !missing.has(fields[c] ?? ''))) keep.push(i);
  });
  return keep;
}

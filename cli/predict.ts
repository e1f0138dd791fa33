import { closeSync, existsSync, fstatSync, lstatSync, openSync, readlinkSync, realpathSync, statSync, writeFileSync, type Stats } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { numberFlag, text } from '../shared/config/fields.ts';
import { parseFlags } from '../shared/config/flags.ts';
import type { CsvRecord } from '../shared/data/csv.ts';
import { readCsvParts, type CsvPart } from '../shared/data/csv-parts.ts';
import { parseSiteRecords } from '../shared/data/table.ts';
import type { SiteTable } from '../shared/data/site-table.ts';
import { HOLD, LineTally, rowsAt } from '../shared/data/line-tally.ts';
import type { PatientScorer, Scored } from '../site-agent/score-patients.ts';
import { InputError, StorageError } from '../shared/errors.ts';
import { readInputPieces } from '../shared/input-file.ts';
import type { Logger } from '../shared/logger.ts';
import { FAR_SDS, loadModelBundle, weightsSha256, type BundleCalibration, type ModelBundle } from '../shared/model/bundle.ts';
import { auroc, ece } from '../shared/metrics/classification.ts';
import { canonicalPath, checkOutputFile, openFileWhole } from '../shared/output-path.ts';

/** Rows read and scored at a time (--batch-rows): about 1.2 KB of memory a row while it is scored. */
export const BATCH_ROWS = 100_000;

export const PREDICT_HELP = `usage: fedcausal predict --model FILE.model.json --data FILE.csv [--out SCORES.csv] [--id COLUMN] [--batch-rows N]

Scores a hospital's rows with the model a federation trained. A site saves the model at
the end of a complete federation (site.yaml: modelDir, by default models/ beside it);
the coordinator saves one in its run folder (model.json). The model file holds the
schema, so the data file is read as the site's training file was: the same columns,
missing-value tokens and checks. The label column may be absent or empty (new patients).

Writes CSV, one line per data row, to --out or standard output:
  row          the row's 0-based index among the file's data rows
  COLUMN       with --id COLUMN: that column's value, as written (a record number)
  score        the model's probability of the outcome, as the federation's evaluation scored it
  calibrated   the risk after the saving site's own recalibration (its training rows);
               absent from a model saved without one (the coordinator's, or a site of one class)
  label        0/1 where the file has the label, empty where it does not (only if any row has it)
A row with no value in any feature (an export's empty row) is left unscored (empty fields).
On standard error it says what it scored with; names, by line, rows whose missingness
pattern or category the federation never saw and numbers more than ${FAR_SDS} SDs from its
training values (swapped columns, a typo), and a column sitting as a whole far from the
federation's (another unit; a file of 3 rows or more); and, where the file has labels of both classes, gives AUROC
and ECE. A model file changed after it was saved is refused.

  --model FILE   the saved model (.model.json)
  --data FILE    the rows to score (CSV, as the schema in the model file describes; - reads
                 standard input). Warnings name lines of this file (a header counted), the
                 output's row its data rows from 0
  --out FILE     where the scores go (default, or -: standard output): written whole, readable
                 by its owner only (scores with record numbers are patient data), never the
                 --model or --data file; a device or pipe is written into as it is
  --id COLUMN    copy this column (not a model feature, say a record number) into the output,
                 as written (a value beginning with =, +, - or @ is said: a spreadsheet may
                 read it as a formula)
  --batch-rows N rows read and scored at a time (default ${BATCH_ROWS}; about 1.2 KB of memory a row):
                 a larger file is scored in parts, with progress on standard error and the
                 same scores; each value's check against its column's median in the file runs
                 over its part. A row that stops a later part leaves no --out file; on
                 standard output the earlier parts' lines are out, and the error says so
`;

export const PREDICT_FLAGS = { model: text(), data: text(), out: text().optional(), id: text().optional(), 'batch-rows': numberFlag({ min: 1, max: 10_000_000, int: true }).optional() };

export async function predictCommand(argv: string[], out: (s: string) => Promise<void>, err: (s: string) => void, log: Logger): Promise<number> {
  const v = parseFlags(argv, PREDICT_FLAGS);
  if (v === 'help') return await out(PREDICT_HELP), 0;
  const bundle = loadModelBundle(v.model);
  // `-`: standard input and output, as other tools read them.
  const data = v.data === '-' ? 'standard input' : v.data;
  // Through links, the file they name (a dangling link's target too): written whole there, the links kept.
  const outFile = v.out === undefined || STDOUT.has(v.out) ? undefined : linkTarget(v.out);
  if (outFile) checkScoresFile(outFile, v.out!, { '--model': v.model, '--data': v.data });
  const { PatientScorer } = await import('../site-agent/score-patients.ts');
  const scorer = await PatientScorer.create(bundle, log, v.model, data);
  const batchRows = v['batch-rows'] ?? BATCH_ROWS;
  let run: PartsScoring;
  try {
    const sink: ScoresSink = outFile ? scoresFile(outFile) : { write: out, commit: () => {}, abort: () => {} };
    run = new PartsScoring(bundle, scorer, sink, data, v.id, batchRows);
    await scoreAll(run, readCsvParts(readInputPieces(v.data, 'data file'), data, batchRows), outFile === undefined, err);
  } finally {
    // Whatever stops it (the scores file that cannot be opened too): the model's tensors go.
    scorer.dispose();
  }
  err(summary(bundle, v.model, run.rows - run.blank.count, outFile));
  for (const n of [...run.notes(), ...scorer.notes(), ...flatRecalibration(bundle), ...harmfulRecalibration(bundle), ...thinRecalibration(bundle)]) err(`warning: ${n}\n`);
  const l = run.labelled;
  if (l.y.length) err(labelledFigures(l.y.values(), l.s.values(), bundle.calibration ? l.c.values() : undefined));
  return 0;
}

/** Every part scored and written, then the output committed; on an error, none of it kept (a file) or said to be cut short (standard output). */
async function scoreAll(run: PartsScoring, parts: AsyncIterable<CsvPart>, toStdout: boolean, err: (s: string) => void): Promise<void> {
  try {
    for await (const part of parts) {
      const lastLine = await run.score(part.records);
      // Progress on a file of more than one part (a million rows take seconds).
      if (!(part.last && run.parts === 1)) err(`scored ${run.rows} rows (${run.data} to line ${lastLine})\n`);
    }
    run.sink.commit();
  } catch (e) {
    run.sink.abort();
    // On standard output, the parts before an error are out already: said, so nobody takes them for the file's scores.
    if (toStdout && run.rows > 0 && e instanceof Error) e.message += ` (standard output holds the scores of the ${run.rows} rows before this part: incomplete; with --out FILE an error writes no file)`;
    throw e;
  }
}

/** Where the scores go, part by part: a file whole or not at all, a device or pipe as they come, or standard output. */
interface ScoresSink {
  write(text: string): Promise<void>;
  commit(): void;
  abort(): void;
}

/**
 * A data file scored one part at a time, in file order: what each part needs from the ones
 * before it (the header, the output's columns, the rows' numbering) and what is said of all of
 * them at the end (empty rows, the labelled rows' figures).
 */
class PartsScoring {
  rows = 0;
  parts = 0;
  readonly blank = new LineTally();
  readonly labelled = { y: new Grow(), s: new Grow(), c: new Grow() };
  /** Rows whose --id value a spreadsheet would read as a formula. */
  private readonly formulaIds = new LineTally();
  /** Labelled rows of a file in parts whose first part had none: the output has no label column for them. */
  private readonly unshownLabels = new LineTally();
  private header: CsvRecord | undefined;
  private labelColumn = false;

  constructor(
    private readonly bundle: ModelBundle,
    private readonly scorer: PatientScorer,
    readonly sink: ScoresSink,
    readonly data: string,
    private readonly id: string | undefined,
    private readonly batchRows: number,
  ) {}

  /** Scores one part's records and writes their lines; returns the part's last line in the file. */
  async score(records: CsvRecord[]): Promise<number | undefined> {
    const first = this.parts++ === 0;
    const opts = { labelOptional: true, ...(this.id === undefined ? {} : { keepColumn: this.id }) };
    const table = withModelSchema(() => parseSiteRecords(this.bundle.schema, this.header ? [this.header, ...records] : records, this.data, opts));
    // A header is the first part's first record where its first data row is not (a file without one starts with data).
    if (first && records.length && table.lines[0] !== records[0]!.line) this.header = records[0];
    // An export's trailing rows of separators only are no patients: left unscored, and said.
    const empty = new Set(table.values.flatMap((row, i) => (row.every((x) => x === null) ? [i] : [])));
    for (const i of empty) this.blank.add(table.lines[i]!);
    const scored = this.scorer.score(table, empty);
    // A label column where the first part's rows carry any (a file of one part: where any row does).
    if (first) this.labelColumn = table.labelKnown?.some((k, i) => k === 1 && !empty.has(i)) ?? false;
    const id = this.id === undefined ? undefined : { name: this.id, values: table.kept! };
    id?.values.forEach((v, i) => FORMULA_START.test(v) && this.formulaIds.add(table.lines[i]!));
    await this.sink.write(scoresCsv(table, scored, id, this.labelColumn, empty, this.rows, first));
    this.keepLabelled(table, scored, empty);
    this.rows += table.values.length;
    return table.lines.at(-1);
  }

  /** The labelled rows' labels and scores, for the figures at the end. */
  private keepLabelled(table: SiteTable, scored: Scored, empty: ReadonlySet<number>): void {
    for (let i = 0; i < table.values.length; i++) {
      if (table.labelKnown?.[i] !== 1 || empty.has(i)) continue;
      if (!this.labelColumn) this.unshownLabels.add(table.lines[i]!);
      this.labelled.y.push(table.labels[i]!);
      this.labelled.s.push(scored.scores[i]!);
      if (scored.calibrated) this.labelled.c.push(scored.calibrated[i]!);
    }
  }

  notes(): string[] {
    const notes: string[] = [];
    if (this.blank.count) notes.push(`${this.data}: ${rowsAt(this.blank, HOLD)} no value in any feature (an export's empty rows?): left unscored`);
    if (this.formulaIds.count)
      notes.push(
        `${this.data}: ${rowsAt(this.formulaIds, HOLD)} a "${this.id}" value beginning with =, +, - or @, copied as written: a spreadsheet opening the scores may read it as a formula; import the file as text`,
      );
    if (this.unshownLabels.count)
      notes.push(`${this.data}: ${rowsAt(this.unshownLabels, ['carries', 'carry'])} a label the output has no column for (its columns were set by the first ${this.batchRows} rows, which carry none); they count in the figures below`);
    return notes;
  }
}

/**
 * A recalibration that raised the ECE on the site's own held-out rows, which it was not fitted on:
 * the calibrated column is not shown to be the better risk. Scoring a file that holds the rows it
 * was fitted on shows it helping (an outside try: 0.079 -> 0.097 held out, "0.059 -> 0.032" here).
 */
function harmfulRecalibration(b: ModelBundle): string[] {
  const h = b.calibration?.heldOut;
  if (!h || !(h.eceAfter > h.eceBefore)) return [];
  return [
    `the site's recalibration raised the calibration error on its own ${h.rows} held-out rows (ECE ${h.eceBefore.toFixed(3)} before, ${h.eceAfter.toFixed(3)} after): ` +
      'the calibrated column is not shown to be the better risk; rows it was fitted on (its training rows) would show it helping. Prefer the score column unless a check on new patients says otherwise',
  ];
}

/** Fewer training rows than this of either class, and a site's recalibration is said to rest on too few. */
const FEW_CLASS_ROWS = 10;

/**
 * A recalibration fitted on a handful of one class: a 60-row site's fit on 2 positives tripled
 * the ECE on another hospital's rows and capped the top risk at 0.29 (a researcher's try).
 */
function thinRecalibration(b: ModelBundle): string[] {
  const c = b.calibration;
  if (c?.positives === undefined) return [];
  const fewest = Math.min(c.positives, c.rows - c.positives);
  if (fewest >= FEW_CLASS_ROWS) return [];
  const which = c.positives === fewest ? `${c.positives} positive` : `${fewest} negative`;
  return [
    `the site's recalibration was fitted on ${which} of its ${c.rows} training rows (fewer than ${FEW_CLASS_ROWS}): too few for a fitted risk to be trusted; ` +
      'prefer the score column, or the recalibration of a site with more of each class',
  ];
}

/** How the recalibration did on the site's held-out rows, and where they hold one class, that it says little. */
function heldOutText(h: BundleCalibration['heldOut']): string {
  if (!h) return '';
  const oneClass = h.positives === 0 || h.positives === h.rows ? ', rows of one class: it says little' : '';
  return `; on its ${h.rows} held-out rows ECE ${h.eceBefore.toFixed(3)} before, ${h.eceAfter.toFixed(3)} after${oneClass}`;
}

/** A recalibration slope under which every patient gets nearly the same calibrated risk. */
const FLAT_SLOPE = 0.05;

function flatRecalibration(b: ModelBundle): string[] {
  if (!b.calibration || b.calibration.a >= FLAT_SLOPE) return [];
  return [`the recalibration's slope is ${b.calibration.a.toPrecision(2)}: the calibrated column is (almost) one value for every patient, the site's prevalence; the model's scores carried next to nothing its recalibration could use. Read the score column, and check the federation's results before relying on this model`];
}

/** --out names standard output (`>> file` appends to it as the shell set it up; replaced whole it lost what was there). */
const STDOUT = new Set(['-', '/dev/stdout', '/dev/fd/1', '/proc/self/fd/1']);

/** The path at the end of `path`'s links (it may not exist yet). */
function linkTarget(path: string): string {
  let p = resolve(path);
  for (let hops = 0; hops < 40; hops++) {
    try {
      if (!lstatSync(p).isSymbolicLink()) return p;
    } catch {
      return p;
    }
    p = resolve(dirname(p), readlinkSync(p));
  }
  throw new InputError(`--out ${path}: too many levels of links`);
}

/**
 * The model's schema is in the model file: a message that says to change the schema means
 * the export (an outside try was told to edit a schema whose change the checksum refuses).
 */
function withModelSchema<T>(read: () => T): T {
  try {
    return read();
  } catch (e) {
    if (e instanceof InputError && /schema/.test(e.message))
      throw new InputError(`${e.message} (predict reads the file with the schema the model was trained with, which is part of the model file: change the export to match it)`);
    throw e;
  }
}

/** --out must not be the model or the data file (a typo would replace them); a device or pipe is written as it is. `target`: --out at the end of its links. */
function checkScoresFile(target: string, out: string, inputs: Record<string, string>): void {
  if (special(target)) return;
  checkOutputFile(target, '--out');
  const resolved = existsSync(target) ? realpathSync(target) : canonicalPath(target);
  const same = (path: string) => (path === '-' ? sameFile(fstatSync(0), resolved) : existsSync(path) && realpathSync(path) === resolved);
  for (const [flag, path] of Object.entries(inputs))
    if (same(path)) throw new InputError(`--out ${out}: is the ${flag} file${path === '-' ? ' (standard input comes from it)' : ''}; the scores would replace it: give another file name`);
}

/** Whether the file at `path` (if any) is the one `st` describes (standard input redirected from it). */
function sameFile(st: Stats, path: string): boolean {
  try {
    const o = statSync(path);
    return st.isFile() && o.dev === st.dev && o.ino === st.ino;
  } catch {
    return false;
  }
}

/** An existing --out that is neither a regular file nor a folder (a device, a pipe): written into, never replaced (as root, a rename made /dev/null a file of scores). */
function special(path: string): boolean {
  try {
    const st = statSync(path);
    return !st.isFile() && !st.isDirectory();
  } catch {
    return false;
  }
}

/**
 * The scores file, whole or not at all, readable by its owner only: scores with record numbers
 * are patient data. Through a link, the file it names is replaced, not the link. A device or a
 * pipe is written into as the parts come.
 */
function scoresFile(path: string): ScoresSink {
  const failed = (e: unknown) => new StorageError(`cannot write the scores to ${path} (${(e as Error).message}): free space on (or repair) that disk, or give another --out`, { cause: e });
  const guard =
    <A extends unknown[]>(f: (...a: A) => void) =>
    (...a: A) => {
      try {
        f(...a);
      } catch (e) {
        throw failed(e);
      }
    };
  if (special(path)) {
    const fd = openDevice(path, failed);
    const write = guard((t: string) => writeFileSync(fd, t));
    return { write: async (t) => write(t), commit: guard(() => closeSync(fd)), abort: () => closeSync(fd) };
  }
  let file: ReturnType<typeof openFileWhole>;
  try {
    file = openFileWhole(path, 0o600);
  } catch (e) {
    throw failed(e);
  }
  const write = guard((t: string) => file.write(t));
  return { write: async (t) => write(t), commit: guard(() => file.commit()), abort: () => file.abort() };
}

function openDevice(path: string, failed: (e: unknown) => Error): number {
  try {
    return openSync(path, 'w');
  } catch (e) {
    throw failed(e);
  }
}

/** The output: a line per data row, scores as JS writes them (the shortest text that reads back the same number, as simulate's predictions). */
function scoresCsv(table: SiteTable, scored: Scored, id: { name: string; values: string[] } | undefined, labelled: boolean, blank: ReadonlySet<number>, offset: number, withHeader: boolean): string {
  const header = ['row', ...(id ? [csvField(id.name)] : []), 'score', ...(scored.calibrated ? ['calibrated'] : []), ...(labelled ? ['label'] : [])];
  const lines = withHeader ? [header.join(',')] : [];
  for (let i = 0; i < table.values.length; i++) {
    const label = table.labelKnown?.[i] ? String(table.labels[i]) : '';
    const score = (s: Float32Array) => (blank.has(i) ? '' : String(s[i]));
    lines.push([String(offset + i), ...(id ? [csvField(id.values[i]!)] : []), score(scored.scores), ...(scored.calibrated ? [score(scored.calibrated)] : []), ...(labelled ? [label] : [])].join(','));
  }
  return lines.length ? lines.join('\n') + '\n' : '';
}

function summary(b: ModelBundle, file: string, rows: number, outFile: string | undefined): string {
  const who = b.site === undefined ? 'the coordinator' : `site "${b.site}"`;
  const cal = b.calibration
    ? `calibrated: ${who}'s own recalibration (fitted on its ${b.calibration.rows} training rows${b.calibration.positives === undefined ? '' : `, ${b.calibration.positives} positive`}${heldOutText(b.calibration.heldOut)})`
    : 'no calibrated column: the model file carries no recalibration (the coordinator saves none; a site whose training rows hold one class cannot fit one)';
  return (
    `scored ${rows} row${rows === 1 ? '' : 's'} with ${file}: federation "${b.federation}", ${b.model.kind} model after ${b.round - 1} training round${b.round === 2 ? '' : 's'}, saved by ${who} at ${b.createdAt} (fedcausal ${b.software})\n` +
    `${cal}\n` +
    // Which run it came from: the run folder's results.json names the same checksum as modelSha256.
    `weights sha256 ${weightsSha256(b.weights)} (its run's results.json: modelSha256)\n` +
    (outFile ? `scores: ${outFile}\n` : '')
  );
}

/** AUROC and ECE of the rows that carry a label, where they hold both classes: a check that the model still fits these patients. */
function labelledFigures(y: Float32Array, s: Float32Array, calibrated: Float32Array | undefined): string {
  const positives = y.reduce((sum, x) => sum + x, 0);
  if (positives === 0 || positives === y.length) return `labelled rows: ${y.length}, all of one class: no AUROC\n`;
  const f = (x: number) => x.toFixed(3);
  const c = calibrated ? `, ECE calibrated ${f(ece(y, calibrated))}` : '';
  // A check that the model fits these patients; rows the federation trained on read better than new ones.
  return `on the ${y.length} labelled rows (${positives} positive): AUROC ${f(auroc(y, s))}, ECE ${f(ece(y, s))}${c} (where these rows include any the federation trained on, those score better than new patients would)\n`;
}

/** A column of numbers of unknown length, grown by doubling. */
class Grow {
  private data = new Float32Array(1024);
  length = 0;

  push(x: number): void {
    if (this.length === this.data.length) {
      const more = new Float32Array(this.data.length * 2);
      more.set(this.data);
      this.data = more;
    }
    this.data[this.length++] = x;
  }

  values(): Float32Array {
    return this.data.subarray(0, this.length);
  }
}

/** What a spreadsheet reads as the start of a formula (a negative number aside). */
const FORMULA_START = /^(?:[=+@\t\r]|-(?![\d.]))/;

/** A CSV field, quoted where it holds a separator, quote or line break. */
function csvField(s: string): string {
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/**
 * Where a site file's columns are: the schema's own `columns` (a file without a header) or the
 * file's header, checked against the schema, with a did-you-mean for a name that is nearly
 * right; and a column kept as written (predict's --id).
 */
import { InputError } from '../errors.ts';
import { parseDecimal, separatorHint, type CsvRecord } from './csv.ts';
import { featureList, type Schema } from './schema.ts';
import { show } from './message-text.ts';

/** How a file is read: a training file needs every row's label; rows to be scored (fedcausal predict) may have none. */
export interface ReadOptions {
  /** The label column may be absent from the header, and a row's label missing: such rows are marked unlabelled (labelKnown). */
  labelOptional?: boolean;
  /** A column kept as written, row by row (`kept`): predict's --id, a record number beside the scores. */
  keepColumn?: string;
}

/** `column`'s text in each data row, from the columns the file was read with; a column it lacks names them (never a row's values). */
export function keptColumn(columns: readonly string[], body: readonly CsvRecord[], file: string, column: string): string[] {
  const at = columns.indexOf(column);
  if (at < 0) throw new InputError(`${file}: has no column "${column}" (its columns: ${showHeader(columns)})${separatorHint(body[0]?.fields ?? [], columns.length)}`);
  return body.map((r) => r.fields[at] ?? '');
}

/** Lower case, without blanks and punctuation: "Chol ", "CHOL" and "chol_" all read "chol". */
function loose(s: string): string {
  return s.toLowerCase().replace(/[\s\p{P}\p{S}]+/gu, '');
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++)
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[b.length]!;
}

/** The header name most like `want` among `names` (same name up to case and punctuation, or a typo or two), if any. */
export function closeMatch(want: string, names: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestScore = Infinity;
  const w = loose(want);
  const allowed = want.length <= 4 ? 1 : 2;
  for (const n of names) {
    if (n === want) continue;
    const score = loose(n) === w ? 0 : editDistance(n.toLowerCase(), want.toLowerCase());
    if (score <= allowed && score < bestScore) {
      best = n;
      bestScore = score;
    }
  }
  return best;
}

function showHeader(names: readonly string[]): string {
  const max = 30;
  const shown = names.slice(0, max).map(show).join(', ');
  return names.length > max ? `${shown}, ... (${names.length} columns)` : shown;
}

/** The file's column names and its data records: the header is checked against the schema here. */
export function resolveColumns(schema: Schema, records: CsvRecord[], file: string, opts: ReadOptions): { columns: string[]; body: CsvRecord[] } {
  const first = records[0]!;
  if (schema.columns) {
    // Rows to be scored may come without the label column: the schema's columns less that one.
    const unlabelled = opts.labelOptional ? schema.columns.filter((c) => c !== schema.label.column) : undefined;
    const columns = unlabelled && first.fields.length === unlabelled.length ? unlabelled : schema.columns;
    if (first.fields.length === columns.length && first.fields.every((f, i) => f === columns[i]))
      return { columns, body: records.slice(1) };
    // A first line naming columns (not values) is a header that does not match, not a row of bad numbers.
    const names = new Set(columns.map(loose));
    const headerLike = first.fields.some(
      (f) => !parseDecimal(f).ok && !schema.missingValues.has(f) && names.has(loose(f)),
    );
    if (!headerLike) return { columns, body: records };
    if (readByName(first.fields, columns, schema, opts)) return byHeader(schema, records, file, opts);
    throw positionalMismatch(first, columns, file);
  }
  return byHeader(schema, records, file, opts);
}

/**
 * Whether a header that is not the schema's `columns` is read by its names: rows to be scored
 * (predict) may carry columns of their own (a record number) around the features; a header
 * naming each needed column once, in another order or with others beside, is read so too, as
 * INTERFACES.md says (the header names the columns; an outside try found predict and training
 * disagree); and one in another order with a name missing, misspelt or twice is said by name
 * (byHeader's message: the position-by-position list named none of them).
 */
function readByName(header: readonly string[], columns: readonly string[], schema: Schema, opts: ReadOptions): boolean {
  if (opts.labelOptional || namesEachOnce(header, neededColumns(schema, opts))) return true;
  return header.filter((f, i) => columns.includes(f) && columns[i] !== f).length >= 2;
}

/** A header line that matches the schema's `columns` neither by position nor by name: where it differs, position by position. */
function positionalMismatch(first: CsvRecord, columns: readonly string[], file: string): InputError {
  const diffs: string[] = [];
  columns.forEach((c, i) => {
    const f = first.fields[i];
    if (f !== c) diffs.push(f === undefined ? `no name where "${c}" was expected (position ${i + 1})` : `${show(f)} where "${c}" was expected (position ${i + 1})`);
  });
  if (first.fields.length > columns.length) diffs.push(`${first.fields.length - columns.length} name(s) more than the schema's ${columns.length}`);
  return new InputError(
    `${file}:${first.line}: line ${first.line} looks like a header but does not match the schema's "columns": ` +
      `${diffs.slice(0, 5).join('; ')}${diffs.length > 5 ? `; ... (${diffs.length} differences)` : ''}; ` +
      `header found: ${showHeader(first.fields)}`,
  );
}

/** The columns a file must hold: every feature, and the label where rows must carry one. */
function neededColumns(schema: Schema, opts: ReadOptions): string[] {
  return [...featureList(schema), ...(opts.labelOptional ? [] : [schema.label.column])];
}

function namesEachOnce(header: readonly string[], need: readonly string[]): boolean {
  return need.every((c) => header.indexOf(c) >= 0 && header.indexOf(c) === header.lastIndexOf(c));
}

/** The columns as the file's header names them: every schema column must be there, once. */
function byHeader(schema: Schema, records: CsvRecord[], file: string, opts: ReadOptions): { columns: string[]; body: CsvRecord[] } {
  const first = records[0]!;
  const columns = first.fields;
  const need = neededColumns(schema, opts);
  const missing = need.filter((c) => !columns.includes(c));
  if (missing.length > 0) {
    const spare = columns.filter((c) => !need.includes(c));
    const listed = missing.map((c) => {
      const m = closeMatch(c, spare);
      return m === undefined ? `"${c}"` : `"${c}" (did you mean ${show(m)}?)`;
    });
    throw new InputError(
      `${file}:${first.line}: header lacks column${missing.length > 1 ? 's' : ''} ${listed.join(', ')} required by the schema; ` +
        `header found: ${showHeader(columns)}${separatorHint(columns)}`,
    );
  }
  const twice = need.filter((c) => columns.indexOf(c) !== columns.lastIndexOf(c));
  if (twice.length > 0)
    throw new InputError(`${file}:${first.line}: header names column ${twice.map((c) => `"${c}"`).join(', ')} more than once`);
  return { columns, body: records.slice(1) };
}


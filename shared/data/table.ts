import { InputError } from '../errors.ts';
import { readInputFile } from '../input-file.ts';
import { canonicalToken, parseCsv, parseDecimal, separatorHint, type CsvRecord } from './csv.ts';
import { keptColumn, resolveColumns, type ReadOptions } from './file-columns.ts';
import { featureList, type LabelTokens, type Schema } from './schema.ts';
import { CLIP_ROBUST_SDS, MAX_ABS_VALUE, ROBUST_MIN_COUNT, ROBUST_SD_LIMIT, robustScale, type RobustScale } from './stats.ts';
import type { SiteTable } from './site-table.ts';
import { num, show } from './message-text.ts';
import { sentinelValues } from './missing-codes.ts';

// The type lives in its own module so that stats.ts can take a table without importing the loader.
export type { SiteTable } from './site-table.ts';
export { closeMatch, type ReadOptions } from './file-columns.ts';

/** Fewest data rows a site's file may have (check-data, and a site's training file); a parameter where it is used. */
export const MIN_ROWS = 20;
/** Longest token an undeclared categorical column accepts. */
export const MAX_CATEGORY_LENGTH = 64;

/** The |value| limit as people write it: 1e15. */
const MAX_ABS_TEXT = MAX_ABS_VALUE.toExponential().replace('+', '');

const SCALE_NAME: Record<RobustScale['method'], string> = {
  mad: 'MAD',
  iqr: 'IQR',
  'untied-mad': 'MAD of the values off the median',
  constant: 'constant',
};

const NON_FINITE_WORD = /^[+-]?(?:nan|inf|infinity)$/i;
const NON_PRINTABLE = /\p{C}/u;

/**
 * Parses and validates one site's file against the schema. Every error is bad input
 * naming `file:LINE` (the line as the user sees it in the file, header counted), the
 * column and the value at fault:
 * - numeric features and the label: plain decimals only (see parseDecimal), |value| <= MAX_ABS_VALUE;
 * - the label: one of `label.values` when declared, else a non-negative integer;
 * - categorical features: one of `categories` when declared, else a short printable
 *   token, and no word in a column whose values are otherwise numeric codes;
 * - numeric features: inside `ranges` when declared, else within ROBUST_SD_LIMIT robust
 *   SDs of the column's median in this file (for a column of at least ROBUST_MIN_COUNT values).
 * Row count and classes are checked by checkSiteRows (a holdout or test file may be small).
 */
export function parseSiteTable(schema: Schema, text: string, file: string, opts: ReadOptions = {}): SiteTable {
  return parseSiteRecords(schema, parseCsv(text, file), file, opts);
}

/** parseSiteTable of records already read (the header first): a file scored in parts (CsvReader) reads each part so. */
export function parseSiteRecords(schema: Schema, records: CsvRecord[], file: string, opts: ReadOptions = {}): SiteTable {
  if (records.length === 0) throw new InputError(`${file}: no rows`);
  const { columns, body } = resolveColumns(schema, records, file, opts);
  if (body.length === 0) throw new InputError(`${file}: no data rows`);
  const site = siteFile(schema, file, columns, body, opts);
  const kept = opts.keepColumn === undefined ? undefined : keptColumn(columns, body, file, opts.keepColumn);
  const { values, labels, labelKnown, labelCounts, rawLabels, lines, patterns } = readRows(site);
  // Column-wide checks, once every value of the file is known.
  const clipBounds = site.features.map((f, j) => checkColumn(site, values, lines, f, j));
  const table: SiteTable = { file, features: site.features, values, labels, labelValues: labelCounts, lines, patterns, clipBounds, ...(labelKnown ? { labelKnown } : {}), ...(kept ? { kept } : {}) };
  // Without declared label.values, a lone code far above the rest (a 7 among grades 0-4) is
  // taken for a typo, not binarised: refused, naming where, with the way to accept it.
  // Rows to be scored (labels optional) are not judged on the labels some may carry.
  if (!site.labelValues && !opts.labelOptional) checkStrayLabels(site, table, labelCounts, rawLabels);
  return table;
}

/** One site file being read: its data records and where the schema's columns sit in them, worked out once. */
interface SiteFile {
  schema: Schema;
  file: string;
  columns: string[];
  body: CsvRecord[];
  features: string[];
  /** Each feature's index in a record's fields. */
  featIdx: number[];
  labelIdx: number;
  labelCol: string;
  /** The declared raw label values; undefined when the schema declares none. */
  labelValues: Set<number> | undefined;
  /** The declared categories of categorical features, for lookup. */
  declaredCats: Map<string, Set<string>>;
  tokens: LabelTokens | undefined;
  labelOptional: boolean;
}

function siteFile(schema: Schema, file: string, columns: string[], body: CsvRecord[], opts: ReadOptions): SiteFile {
  const features = featureList(schema);
  return {
    schema,
    file,
    columns,
    body,
    features,
    featIdx: features.map((f) => columns.indexOf(f)),
    labelIdx: columns.indexOf(schema.label.column),
    labelCol: schema.label.column,
    labelValues: schema.label.values ? new Set(schema.label.values) : undefined,
    declaredCats: new Map([...schema.categories].map(([f, vals]) => [f, new Set(vals)])),
    tokens: schema.label.tokens,
    labelOptional: opts.labelOptional === true,
  };
}

/** The rows of a file, each checked as it is read. */
interface Rows {
  values: SiteTable['values'];
  labels: Uint8Array;
  /** With labels optional: 1 where the row has a label. */
  labelKnown?: Uint8Array;
  /** Each raw label value with its row count. */
  labelCounts: Map<number, number>;
  rawLabels: Float64Array;
  lines: number[];
  patterns: string[];
}

function readRows(site: SiteFile): Rows {
  const { schema, file, columns, body, features, featIdx } = site;
  const values: SiteTable['values'] = [];
  const labels = new Uint8Array(body.length);
  const labelKnown = site.labelOptional ? new Uint8Array(body.length) : undefined;
  const labelCounts = new Map<number, number>();
  const rawLabels = new Float64Array(body.length);
  const lines: number[] = [];
  const patterns: string[] = [];
  body.forEach((rec, r) => {
    const line = rec.line;
    if (rec.fields.length !== columns.length)
      throw new InputError(`${file}:${line}: expected ${columns.length} fields, found ${rec.fields.length}${separatorHint(rec.fields, columns.length)}`);
    const lab = readLabel(site, rec);
    if (lab === undefined) rawLabels[r] = NaN;
    else {
      labels[r] = lab > schema.label.threshold ? 1 : 0;
      if (labelKnown) labelKnown[r] = 1;
      labelCounts.set(lab, (labelCounts.get(lab) ?? 0) + 1);
      rawLabels[r] = lab;
    }
    const row = features.map((f, j) => readCell(site, line, f, rec.fields[featIdx[j]!]!));
    values.push(row);
    lines.push(line);
    patterns.push(missingPattern(schema.modalities, row));
  });
  return { values, labels, ...(labelKnown ? { labelKnown } : {}), labelCounts, rawLabels, lines, patterns };
}

/** Where a message points: `file:LINE: column "col"`. */
function at(file: string, line: number, col: string): string {
  return `${file}:${line}: column "${col}"`;
}

/** A strict decimal within MAX_ABS_VALUE; `what` follows the column name in messages. */
function readNumber(file: string, line: number, col: string, tok: string, what = ''): number {
  const d = parseDecimal(tok);
  if (!d.ok && d.reason !== 'too large for a number')
    throw new InputError(`${at(file, line, col)}${what} must be a number (a plain decimal such as 1.5, -2 or 3e2), found ${show(tok)}`);
  if (!d.ok || Math.abs(d.value) > MAX_ABS_VALUE)
    throw new InputError(`${at(file, line, col)}${what} value ${show(tok)} is out of range: |value| > ${MAX_ABS_TEXT}`);
  return d.value;
}

/** A numeric label that is a word: say how to declare words (an outside try's yes/no label had no way in). */
function labelWhat(tok: string): string {
  return /^[A-Za-z]/.test(tok.trim()) ? ' (label; written as words? declare label.positive and label.negative in the schema)' : ' (label)';
}

/** A label written as words, as the raw value 1 (positive) or 0 (negative). */
function labelFromToken(site: SiteFile, line: number, tokens: LabelTokens, tok: string): number {
  const t = canonicalToken(tok.trim());
  if (tokens.positive.includes(t)) return 1;
  if (tokens.negative.includes(t)) return 0;
  throw new InputError(
    `${at(site.file, line, site.labelCol)} (label) value ${show(tok)} is in neither label.positive (${tokens.positive.join(', ')}) nor label.negative (${tokens.negative.join(', ')})`,
  );
}

/** A record's raw label value: present, then readable, then allowed; undefined where labels are optional and this row has none. */
function readLabel(site: SiteFile, rec: CsvRecord): number | undefined {
  const { file, labelCol, labelValues, tokens } = site;
  const line = rec.line;
  if (site.labelIdx < 0) return undefined; // absent from the header: only where labels are optional (resolveColumns)
  const labTok = rec.fields[site.labelIdx]!;
  const missing = site.schema.missingValues.has(labTok) || labTok === '';
  if (missing && site.labelOptional) return undefined;
  if (missing)
    throw new InputError(`${at(file, line, labelCol)} (label) is missing (${show(labTok)}); every row needs a label`);
  const lab = tokens ? labelFromToken(site, line, tokens, labTok) : readNumber(file, line, labelCol, labTok, labelWhat(labTok));
  if (labelValues) {
    if (!labelValues.has(lab))
      throw new InputError(
        `${at(file, line, labelCol)} (label) value ${show(labTok)} is not an allowed label value (label.values: ${[...labelValues].join(', ')})`,
      );
  } else if (!tokens && (!Number.isInteger(lab) || lab < 0))
    throw new InputError(
      `${at(file, line, labelCol)} (label) must be a non-negative integer (0/1, or a grade such as 0-4; ` +
        `declare label.values in the schema for other codes), found ${show(labTok)}`,
    );
  return lab;
}

/** One feature's cell: null when missing, else a category or a number, checked. */
function readCell(site: SiteFile, line: number, f: string, tok: string): number | string | null {
  const { schema } = site;
  if (schema.missingValues.has(tok) || (schema.missingCodes.get(f)?.has(tok) ?? false)) return null;
  if (schema.categorical.has(f)) return readCategory(site, line, f, tok);
  const v = readNumber(site.file, line, f, tok);
  const range = schema.ranges.get(f);
  if (range && (v < range[0] || v > range[1]))
    throw new InputError(`${at(site.file, line, f)} value ${show(tok)} is outside its declared range [${range[0]}, ${range[1]}]`);
  return v;
}

/** A categorical cell as its canonical token: a declared category, or else a short printable token. */
function readCategory(site: SiteFile, line: number, f: string, tok: string): string {
  const d = parseDecimal(tok);
  if (d.ok && Math.abs(d.value) > MAX_ABS_VALUE)
    throw new InputError(`${at(site.file, line, f)} value ${show(tok)} is out of range: |value| > ${MAX_ABS_TEXT}`);
  const c = canonicalToken(tok);
  const allowed = site.declaredCats.get(f);
  if (allowed) {
    if (!allowed.has(c))
      throw new InputError(`${at(site.file, line, f)} value ${show(tok)} is not one of its declared categories (${[...allowed].map(show).join(', ')})`);
  } else if (tok === '') {
    throw new InputError(`${at(site.file, line, f)} is empty; add "" to missingValues if an empty cell means missing`);
  } else if (tok.length > MAX_CATEGORY_LENGTH) {
    throw new InputError(`${at(site.file, line, f)} value ${show(tok)} is not a category: longer than ${MAX_CATEGORY_LENGTH} characters`);
  } else if (NON_PRINTABLE.test(tok)) {
    throw new InputError(`${at(site.file, line, f)} value ${show(tok)} is not a category: it holds control or non-printable characters`);
  } else if (NON_FINITE_WORD.test(tok)) {
    throw new InputError(`${at(site.file, line, f)} value ${show(tok)} is not a category but a non-finite number; add it to missingValues if it means missing`);
  }
  return c;
}

/** A row's missingness pattern: per modality in schema order, '1' when any of its features is present. */
function missingPattern(modalities: Schema['modalities'], row: (number | string | null)[]): string {
  let k = 0;
  let pattern = '';
  for (const m of modalities) {
    const cells = row.slice(k, (k += m.features.length));
    pattern += cells.some((v) => v !== null) ? '1' : '0';
  }
  return pattern;
}

/** The token as the file wrote it, of row r's feature j. */
function rawToken(site: SiteFile, r: number, j: number): string {
  return site.body[r]!.fields[site.featIdx[j]!]!;
}

/** Feature j's whole-column checks; its clip bounds (null for categorical and constant columns). */
function checkColumn(site: SiteFile, values: SiteTable['values'], lines: number[], f: string, j: number): readonly [number, number] | null {
  if (site.schema.categorical.has(f)) {
    if (!site.declaredCats.has(f)) checkNumericCodes(site, values, lines, f, j);
    return null;
  }
  const range = site.schema.ranges.get(f);
  if (range) return range;
  return robustBounds(site, values, lines, f, j);
}

/** A word among numeric codes (cp = 1..4, then "banana") is a data error, not a new category. */
function checkNumericCodes(site: SiteFile, values: SiteTable['values'], lines: number[], f: string, j: number): void {
  let numeric = 0;
  let firstWord = -1;
  let words = 0;
  values.forEach((row, r) => {
    const v = row[j];
    if (v === null || v === undefined) return;
    if (parseDecimal(rawToken(site, r, j)).ok) numeric++;
    else {
      words++;
      if (firstWord < 0) firstWord = r;
    }
  });
  if (words > 0 && numeric > words)
    throw new InputError(
      `${at(site.file, lines[firstWord]!, f)} value ${show(rawToken(site, firstWord, j))} is not a numeric code, though ${numeric} of the column's ` +
        `${numeric + words} values are; fix it, add it to missingValues, or declare "categories" for "${f}" in the schema`,
    );
}

/**
 * An undeclared numeric column's clip bounds from its robust scale (null when it has
 * none); with enough values, a value beyond ROBUST_SD_LIMIT robust SDs is refused.
 */
function robustBounds(site: SiteFile, values: SiteTable['values'], lines: number[], f: string, j: number): readonly [number, number] | null {
  const observed: number[] = [];
  for (const row of values) if (typeof row[j] === 'number') observed.push(row[j]);
  const rs = robustScale(observed);
  if (!rs || rs.scale === 0) return null;
  const bounds = [rs.median - CLIP_ROBUST_SDS * rs.scale, rs.median + CLIP_ROBUST_SDS * rs.scale] as const;
  if (observed.length < ROBUST_MIN_COUNT) return bounds;
  const lo = rs.median - ROBUST_SD_LIMIT * rs.scale;
  const hi = rs.median + ROBUST_SD_LIMIT * rs.scale;
  const r = values.findIndex((row) => typeof row[j] === 'number' && (row[j] < lo || row[j] > hi));
  if (r < 0) return bounds;
  const where = `${at(site.file, lines[r]!, f)} value ${show(rawToken(site, r, j))}`;
  const far = `more than ${ROBUST_SD_LIMIT} robust SDs from the column's median (allowed [${num(lo)}, ${num(hi)}]: median ${num(rs.median)}, robust SD ${num(rs.scale)} by ${SCALE_NAME[rs.method]})`;
  // A value in many rows that far out is most often an export's code for missing (-999 in 40 rows of spo2: an outside try was told only to "fix it").
  const code = sentinelValues(observed).find((c) => c.value === values[r]![j]);
  if (code)
    throw new InputError(
      `${where} in ${code.rows} rows is ${far}: most likely a code for missing this export writes; declare it in the schema's "missingCodes" for "${f}" ` +
        `(spelt ${show(rawToken(site, r, j))}, as the file writes it), or fix the export`,
    );
  throw new InputError(`${where} is ${far}; fix it, mark it missing, or declare "ranges" for "${f}" in the schema`);
}

/** Refuses a stray label code (see strayLabelValues), naming its first row and the others. */
function checkStrayLabels(site: SiteFile, table: SiteTable, labelCounts: Map<number, number>, rawLabels: Float64Array): void {
  const stray = strayLabelValues(table);
  if (!stray.length) return;
  const r = rawLabels.findIndex((v) => stray.includes(v));
  const others = [...labelCounts.keys()].filter((v) => !stray.includes(v)).sort((a, b) => a - b);
  throw new InputError(
    `${at(site.file, table.lines[r]!, site.labelCol)} (label) value ${show(String(rawLabels[r]))} stands apart from the file's other labels (${others.join(', ')}): ` +
      `a code in at most 1% of the rows and more than 1 above the rest is taken for an error; declare label.values in the schema if it is a real code`,
  );
}

/**
 * Label values that stand apart from the rest: more than 1 above the next value, in at
 * most 1% of the rows, above at least two other codes (such as a 7 among grades 0-4).
 * Empty when none does.
 */
export function strayLabelValues(t: SiteTable): number[] {
  const counts = t.labelValues;
  if (!counts) return [];
  const sorted = [...counts.keys()].sort((a, b) => a - b);
  const rare = Math.max(1, Math.floor(t.labels.length / 100));
  const stray: number[] = [];
  // At least two other codes: a file of 0s and 2s is a coding, not a stray 2.
  for (let k = sorted.length - 1; k > 1; k--) {
    const v = sorted[k]!;
    if (v - sorted[k - 1]! > 1 && counts.get(v)! <= rare) stray.unshift(v);
    else break;
  }
  return stray;
}

export function loadSiteTable(schema: Schema, file: string, opts: ReadOptions = {}): SiteTable {
  return parseSiteTable(schema, readInputFile(file, 'data file'), file, opts);
}

/**
 * A file a site trains on needs enough rows: too few make local training and
 * evaluation meaningless. `minRows` defaults to MIN_ROWS. Rows of one class only are
 * allowed (a referral clinic that only sees positives still contributes to the
 * federation's model): singleClassNote says what such a site does not compute.
 */
export function checkSiteRows(t: SiteTable, opts: { minRows?: number; label?: string } = {}): void {
  const minRows = opts.minRows ?? MIN_ROWS;
  const n = t.labels.length;
  if (n < minRows)
    throw new InputError(
      `${t.file}: ${n} data row${n === 1 ? '' : 's'}, fewer than the minimum row count of ${minRows} a site needs to train and be evaluated`,
    );
}

/** The rows at `idx`, as a table of their own (train/test splits). */
export function selectRows(t: SiteTable, idx: number[]): SiteTable {
  return {
    file: t.file,
    features: t.features,
    values: idx.map((i) => t.values[i]!),
    labels: Uint8Array.from(idx, (i) => t.labels[i]!),
    lines: idx.map((i) => t.lines[i]!),
    patterns: idx.map((i) => t.patterns[i]!),
    ...(t.clipBounds ? { clipBounds: t.clipBounds } : {}),
  };
}

import { InputError } from '../errors.ts';
import { readInputFile } from '../input-file.ts';
import { parseCsv } from './csv.ts';
import { featureList, type Schema } from './schema.ts';

/** One site's rows, parsed and checked against the schema; nothing is encoded yet. */
export interface SiteTable {
  file: string;
  features: string[];
  /** rows x features: a number for numeric features, a canonical token for categorical ones, null when missing. */
  values: (number | string | null)[][];
  labels: Uint8Array;
  /** Source line of each row, for error messages. */
  lines: number[];
  /** Per row, one character per modality in schema order, '1' = present. */
  patterns: string[];
}

/** "1.0" and "1" are the same category at different hospitals. */
function canonicalToken(t: string): string {
  const v = Number(t);
  return t !== '' && Number.isFinite(v) ? String(v) : t;
}

export function parseSiteTable(schema: Schema, text: string, file: string): SiteTable {
  const records = parseCsv(text, file);
  if (records.length === 0) throw new InputError(`${file}: no rows`);
  let columns: string[];
  let body = records;
  if (schema.columns) {
    columns = schema.columns;
    const first = records[0]!.fields;
    if (first.length === columns.length && first.every((f, i) => f === columns[i])) body = records.slice(1);
  } else {
    columns = records[0]!.fields;
    body = records.slice(1);
    const need = [...featureList(schema), schema.label.column];
    for (const c of need)
      if (!columns.includes(c)) throw new InputError(`${file}:1: header lacks column "${c}" required by the schema`);
  }
  if (body.length === 0) throw new InputError(`${file}: no data rows`);
  const features = featureList(schema);
  const featIdx = features.map((f) => columns.indexOf(f));
  const labelIdx = columns.indexOf(schema.label.column);
  const isMissing = (col: string, tok: string) =>
    schema.missingValues.has(tok) || (schema.missingCodes.get(col)?.has(tok) ?? false);

  const values: SiteTable['values'] = [];
  const labels = new Uint8Array(body.length);
  const lines: number[] = [];
  const patterns: string[] = [];
  body.forEach((rec, r) => {
    if (rec.fields.length !== columns.length)
      throw new InputError(`${file}:${rec.line}: expected ${columns.length} fields, found ${rec.fields.length}`);
    const labTok = rec.fields[labelIdx]!;
    const lab = Number(labTok);
    if (schema.missingValues.has(labTok) || labTok === '' || !Number.isFinite(lab))
      throw new InputError(
        `${file}:${rec.line}: column "${schema.label.column}" (label) must be a number, found "${labTok}"`,
      );
    labels[r] = lab > schema.label.threshold ? 1 : 0;
    const row = features.map((f, j) => {
      const tok = rec.fields[featIdx[j]!]!;
      if (isMissing(f, tok)) return null;
      if (schema.categorical.has(f)) return canonicalToken(tok);
      const v = Number(tok);
      if (tok === '' || !Number.isFinite(v))
        throw new InputError(`${file}:${rec.line}: column "${f}" must be a number, found "${tok}"`);
      return v;
    });
    values.push(row);
    lines.push(rec.line);
    let k = 0;
    let pattern = '';
    for (const m of schema.modalities) {
      const cells = row.slice(k, (k += m.features.length));
      pattern += cells.some((v) => v !== null) ? '1' : '0';
    }
    patterns.push(pattern);
  });
  return { file, features, values, labels, lines, patterns };
}

export function loadSiteTable(schema: Schema, file: string): SiteTable {
  return parseSiteTable(schema, readInputFile(file, 'data file'), file);
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
  };
}

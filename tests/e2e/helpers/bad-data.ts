/**
 * Heart-disease files with one fault each (a bad cell, too few rows, one class, a
 * misnamed header), written into a caller's folder: the inputs of the check-data tests
 * and of the reliability report's bad-data faults (bench/reliability), made one way.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { HEART_FILES, HEART_SCHEMA } from './federation.ts';

export const HEART_COLUMNS = (JSON.parse(readFileSync(HEART_SCHEMA, 'utf8')) as { columns: string[] }).columns;

/** A data file and the schema to read it with. */
export interface BadInput {
  data: string;
  schema: string;
}

function heartLines(site: string): string[] {
  const file = HEART_FILES[site];
  if (!file) throw new Error(`no heart-disease file for site "${site}"`);
  return readFileSync(file, 'utf8').split('\n');
}

/** The site's whole file with the cell at `line` (1-based, as in the file) and `column` replaced; its path. */
export function withCell(dir: string, site: string, line: number, column: string, value: string, name: string): string {
  const lines = heartLines(site);
  const fields = lines[line - 1]!.split(',');
  const k = HEART_COLUMNS.indexOf(column);
  if (k < 0) throw new Error(`no column "${column}" in the heart schema`);
  fields[k] = value;
  lines[line - 1] = fields.join(',');
  const file = join(dir, `${name}.csv`);
  writeFileSync(file, lines.join('\n'));
  return file;
}

/** The site's whole file with `column` set to `value` in every row (an export default); its path. */
export function withColumn(dir: string, site: string, column: string, value: string, name: string): string {
  const k = HEART_COLUMNS.indexOf(column);
  if (k < 0) throw new Error(`no column "${column}" in the heart schema`);
  const lines = heartLines(site).map((l) => {
    if (l.trim() === '') return l;
    const fields = l.split(',');
    fields[k] = value;
    return fields.join(',');
  });
  const file = join(dir, `${name}.csv`);
  writeFileSync(file, lines.join('\n'));
  return file;
}

/** The heart schema with `edit` applied, written into `dir`. */
export function heartSchemaWith(dir: string, edit: (s: Record<string, unknown>) => void, name: string): string {
  const s = JSON.parse(readFileSync(HEART_SCHEMA, 'utf8')) as Record<string, unknown>;
  edit(s);
  const file = join(dir, `${name}.json`);
  writeFileSync(file, JSON.stringify(s));
  return file;
}

/** Cleveland's first row alone. */
export function oneRowFile(dir: string): string {
  const file = join(dir, 'one-row.csv');
  writeFileSync(file, heartLines('cleveland')[0] + '\n');
  return file;
}

/** Cleveland's healthy rows (class 0) alone; `rows` is how many there are. */
export function oneClassFile(dir: string): { file: string; rows: number } {
  const healthy = heartLines('cleveland').filter((l) => l.endsWith(',0'));
  const file = join(dir, 'one-class.csv');
  writeFileSync(file, healthy.join('\n') + '\n');
  return { file, rows: healthy.length };
}

/** Cleveland with a header line that spells "chol" as "Chol", and a schema without "columns" (the header names them). */
export function misnamedHeader(dir: string): BadInput {
  const schema = heartSchemaWith(dir, (s) => delete s.columns, 'header-schema');
  const header = HEART_COLUMNS.map((c) => (c === 'chol' ? 'Chol' : c));
  const data = join(dir, 'misnamed-header.csv');
  writeFileSync(data, [header.join(','), ...heartLines('cleveland')].join('\n'));
  return { data, schema };
}

/**
 * Derived schemas for the evaluation (INTERFACES.md schema.json format, as raw JSON
 * objects): the oracle's schema restricted to the causal features, and FLamby's
 * feature set. The CSV files stay as they are: `columns` (or the header) still
 * names every column, and a column in no modality is simply not read.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { compileSchema, type Schema } from '../shared/data/schema.ts';

export interface RawSchema {
  columns?: string[];
  label: { column: string; threshold: number };
  modalities: Record<string, string[]>;
  categorical?: string[];
  missingValues?: string[];
  missingCodes?: Record<string, string[]>;
}

export function readRawSchema(path: string): RawSchema {
  const raw = JSON.parse(readFileSync(path, 'utf8')) as RawSchema;
  compileSchema(raw, path); // fail early, with the schema module's own message
  return raw;
}

/**
 * The schema keeping only the features `keep` says yes to: modalities left empty
 * disappear, `categorical` and `missingCodes` lose the dropped features.
 */
export function restrictSchema(s: RawSchema, keep: (feature: string) => boolean): RawSchema {
  const modalities: Record<string, string[]> = {};
  for (const [m, fs] of Object.entries(s.modalities)) {
    const kept = fs.filter(keep);
    if (kept.length > 0) modalities[m] = kept;
  }
  if (Object.keys(modalities).length === 0) throw new Error('the restricted schema keeps no feature');
  const out: RawSchema = { ...s, modalities };
  if (s.categorical) out.categorical = s.categorical.filter(keep);
  if (s.missingCodes) out.missingCodes = Object.fromEntries(Object.entries(s.missingCodes).filter(([f]) => keep(f)));
  return out;
}

/** Only the listed features (the oracle's causal features); every name must be in the schema. */
export function keepFeatures(s: RawSchema, features: readonly string[]): RawSchema {
  const all = new Set(Object.values(s.modalities).flat());
  for (const f of features) if (!all.has(f)) throw new Error(`feature "${f}" is not in the schema's modalities`);
  const set = new Set(features);
  return restrictSchema(s, (f) => set.has(f));
}

/** Every feature except the listed ones (FLamby's drop of slope, ca and thal). */
export function dropFeatures(s: RawSchema, features: readonly string[]): RawSchema {
  const all = new Set(Object.values(s.modalities).flat());
  for (const f of features) if (!all.has(f)) throw new Error(`feature "${f}" is not in the schema's modalities`);
  const set = new Set(features);
  return restrictSchema(s, (f) => !set.has(f));
}

/** Writes the schema and returns it compiled (so a bad derivation fails here, not inside a run). */
export function writeSchema(path: string, s: RawSchema): Schema {
  writeFileSync(path, JSON.stringify(s, null, 2) + '\n');
  return compileSchema(s, path);
}

import { z } from 'zod';
import { mapping, strict, text } from '../config/fields.ts';
import { fieldError, parseInput } from '../config/issues.ts';
import { InputError } from '../errors.ts';
import { readInputFile } from '../input-file.ts';
import { canonicalToken } from './csv.ts';

/** The data schema of ../shared/docs/INTERFACES.md, validated. */
export interface Schema {
  /** Column names when the CSV has no header row; undefined when the header names them. */
  columns?: string[];
  /**
   * `values`, when declared, lists every raw label value allowed (e.g. [0, 1, 2, 3, 4]);
   * without it a raw label must be a non-negative integer (0/1, or a grade such as 0-4).
   * The outcome is 1 where the raw value is greater than `threshold`.
   */
  label: { column: string; threshold: number; values?: number[]; tokens?: LabelTokens };
  /** Modality name -> its features, in schema order. */
  modalities: { name: string; features: string[] }[];
  categorical: Set<string>;
  missingValues: Set<string>;
  missingCodes: Map<string, Set<string>>;
  /** Declared vocabularies of categorical features, as canonical tokens ("1.0" -> "1"), in declared order. */
  categories: Map<string, string[]>;
  /** Declared [min, max] of numeric features (inclusive); undeclared columns get the robust check. */
  ranges: Map<string, [number, number]>;
}

/**
 * A label written as words (`yes`/`no`, `Y`/`N`): each class's tokens as the file writes
 * them (canonical: `"1.0"` is `1`). They read as the raw values 1 and 0, with threshold 0.
 */
export interface LabelTokens {
  positive: string[];
  negative: string[];
}

/** Every feature in modality order (the model's input order). */
export function featureList(schema: Schema): string[] {
  return schema.modalities.flatMap((m) => m.features);
}

/** The fields of schema.json as written (INTERFACES.md, and the extensions in docs/configuration.md). */
const strings = () => z.array(z.string(), { error: 'must be a list of strings' });
const finite = (what: string) => z.number({ error: `must be ${what}` }).refine(Number.isFinite, { error: `must be ${what}` });
export const schemaFileSchema = strict({
  columns: strings().optional(),
  label: strict(
    {
      column: text(),
      threshold: finite('a number').optional(),
      positive: strings().min(1, { error: 'must be a non-empty list of strings' }).optional(),
      negative: strings().min(1, { error: 'must be a non-empty list of strings' }).optional(),
      values: z
        .array(finite('a number'), { error: 'must be a non-empty list of numbers (the allowed raw label values)' })
        .min(1, { error: 'must be a non-empty list of numbers (the allowed raw label values)' })
        .optional(),
    },
    'a mapping { column, threshold } or { column, positive, negative }',
  ),
  modalities: mapping(strings().min(1, { error: 'must list at least one feature' }), 'a mapping of modality name -> [features]').refine(
    (m) => Object.keys(m).length > 0,
    { error: 'must name at least one modality' },
  ),
  categorical: strings().optional(),
  missingValues: strings().default(['', 'NA', '?']),
  missingCodes: mapping(strings(), 'a mapping of column -> [values]').optional(),
  categories: mapping(
    z.array(z.union([z.string(), finite('a number')]), { error: 'must be a non-empty list of strings or numbers' })
      .min(1, { error: 'must be a non-empty list of strings or numbers' }),
    'a mapping of categorical feature -> [values]',
  ).optional(),
  ranges: mapping(
    z.tuple([finite('a number'), finite('a number')], { error: 'must be [min, max], two numbers' }),
    'a mapping of numeric feature -> [min, max]',
  ).optional(),
}, 'a JSON object');

/** Reports a schema field at fault (its dotted path) and why; never returns. */
type Fail = (path: string, msg: string) => never;

/** schema.json's fields as validated by schemaFileSchema, before compileSchema cross-checks them. */
type SchemaFile = z.infer<typeof schemaFileSchema>;

/** Validates a parsed schema object; `where` names the source (file path) in errors. */
export function compileSchema(raw: unknown, where: string): Schema {
  const source = { file: where };
  const s = parseInput(schemaFileSchema, raw, source);
  const fail = (path: string, msg: string): never => {
    throw fieldError(source, path, msg);
  };
  const { label, columns } = s;
  const tokens = labelTokens(label, fail);
  const threshold = tokens ? 0 : label.threshold!;
  const labelValues = label.values ? distinctLabelValues(label.values, threshold, fail) : undefined;
  // Feature -> its modality: every later check asks whether a column is in one.
  const { modalities, seen } = compileModalities(s.modalities, label.column, fail);
  if (columns)
    for (const f of [...seen.keys(), label.column]) if (!columns.includes(f)) fail('columns', `must include feature "${f}"`);
  const categorical = new Set(s.categorical ?? []);
  for (const c of categorical) if (!seen.has(c)) fail('categorical', `"${c}" is in no modality`);
  const missingCodes = compileMissingCodes(s.missingCodes ?? {}, seen, fail);
  const categories = compileCategories(s.categories ?? {}, seen, categorical, fail);
  const ranges = compileRanges(s.ranges ?? {}, seen, categorical, fail);
  return {
    columns,
    label: { column: label.column, threshold, ...(labelValues ? { values: labelValues } : {}), ...(tokens ? { tokens } : {}) },
    modalities,
    categorical,
    missingValues: new Set(s.missingValues),
    missingCodes,
    categories,
    ranges,
  };
}

/** The declared raw label values without repeats; both classes must be possible among them. */
function distinctLabelValues(values: number[], threshold: number, fail: Fail): number[] {
  const distinct = [...new Set(values)];
  if (!distinct.some((x) => x > threshold) || !distinct.some((x) => x <= threshold))
    fail('label.values', `must include values on both sides of label.threshold (${threshold}), or one class can never occur`);
  return distinct;
}

/** The modalities in schema order, and which modality each feature is in (checked: in one only, not the label). */
function compileModalities(
  declared: SchemaFile['modalities'],
  labelColumn: string,
  fail: Fail,
): { modalities: Schema['modalities']; seen: Map<string, string> } {
  const modalities: Schema['modalities'] = [];
  const seen = new Map<string, string>();
  for (const [name, features] of Object.entries(declared)) {
    for (const f of features) {
      if (seen.has(f)) fail(`modalities.${name}`, `feature "${f}" is in both modalities "${seen.get(f)}" and "${name}"`);
      if (f === labelColumn) fail(`modalities.${name}`, `must not list the label column "${f}"`);
      seen.set(f, name);
    }
    modalities.push({ name, features });
  }
  return { modalities, seen };
}

/** A per-column section (missingCodes, categories, ranges) may only name features. */
function checkInModality(seen: ReadonlyMap<string, string>, field: string, col: string, fail: Fail): void {
  if (!seen.has(col)) fail(`${field}.${col}`, 'is in no modality');
}

function compileMissingCodes(declared: Record<string, string[]>, seen: ReadonlyMap<string, string>, fail: Fail): Map<string, Set<string>> {
  const missingCodes = new Map<string, Set<string>>();
  for (const [col, vals] of Object.entries(declared)) {
    checkInModality(seen, 'missingCodes', col, fail);
    missingCodes.set(col, new Set(vals));
  }
  return missingCodes;
}

/** Declared vocabularies, as canonical tokens without repeats ("1.0" and "1" are one category). */
function compileCategories(
  declared: Record<string, (string | number)[]>,
  seen: ReadonlyMap<string, string>,
  categorical: ReadonlySet<string>,
  fail: Fail,
): Map<string, string[]> {
  const categories = new Map<string, string[]>();
  for (const [col, vals] of Object.entries(declared)) {
    checkInModality(seen, 'categories', col, fail);
    if (!categorical.has(col)) fail(`categories.${col}`, 'is not in "categorical"');
    categories.set(col, [...new Set(vals.map((x) => canonicalToken(String(x).trim())))]);
  }
  return categories;
}

function compileRanges(
  declared: Record<string, [number, number]>,
  seen: ReadonlyMap<string, string>,
  categorical: ReadonlySet<string>,
  fail: Fail,
): Map<string, [number, number]> {
  const ranges = new Map<string, [number, number]>();
  for (const [col, range] of Object.entries(declared)) {
    checkInModality(seen, 'ranges', col, fail);
    if (categorical.has(col)) fail(`ranges.${col}`, 'is categorical (declare its "categories" instead)');
    if (range[0] > range[1]) fail(`ranges.${col}`, `must be [min, max] with min <= max (got ${JSON.stringify(range)})`);
    ranges.set(col, range);
  }
  return ranges;
}

/** A label's word tokens, where the schema gives them instead of a threshold (checked: both lists, disjoint). */
function labelTokens(
  label: { threshold?: number | undefined; values?: number[] | undefined; positive?: string[] | undefined; negative?: string[] | undefined },
  fail: Fail,
): LabelTokens | undefined {
  if (label.positive === undefined && label.negative === undefined) {
    if (label.threshold === undefined) fail('label.threshold', 'is required (or, for a label written as words, label.positive and label.negative)');
    return undefined;
  }
  if (label.threshold !== undefined || label.values !== undefined)
    fail('label', 'gives positive/negative with threshold or values: give either threshold (numeric labels, values optional) or positive and negative (labels written as words)');
  if (!label.positive || !label.negative) fail(label.positive ? 'label.negative' : 'label.positive', 'is required with the other (the tokens of each class, e.g. positive: ["yes"], negative: ["no"])');
  const [positive, negative] = [label.positive, label.negative].map((l) => [...new Set(l.map((t) => canonicalToken(t.trim())))]) as [string[], string[]];
  const both = positive.find((t) => negative.includes(t));
  if (both !== undefined) fail('label', `"${both}" is in both label.positive and label.negative`);
  return { positive, negative };
}

export function loadSchema(path: string): Schema {
  const text = readInputFile(path, 'schema');
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new InputError(`${path}: schema is not valid JSON (${(e as Error).message})`);
  }
  return compileSchema(raw, path);
}

/**
 * The schema as a schema file writes it, which compileSchema reads back to the same schema (a
 * saved model carries it). schemaToJson's label keeps the compiled form, which is the
 * fingerprint's and must not change; a label of words is written as the file gives it.
 */
export function schemaFileJson(s: Schema): unknown {
  const { column, threshold, values, tokens } = s.label;
  const label = tokens ? { column, positive: tokens.positive, negative: tokens.negative } : { column, threshold, ...(values ? { values } : {}) };
  return { ...(schemaToJson(s) as object), label };
}

/** A stable, order-preserving JSON form: the readiness summary's schema fingerprint hashes it. */
export function schemaToJson(s: Schema): unknown {
  return {
    ...(s.columns ? { columns: s.columns } : {}),
    label: s.label,
    modalities: Object.fromEntries(s.modalities.map((m) => [m.name, m.features])),
    categorical: [...s.categorical],
    missingValues: [...s.missingValues],
    missingCodes: Object.fromEntries([...s.missingCodes].map(([k, v]) => [k, [...v]])),
    // The extensions appear only when declared, so a schema without them keeps its old form (and digest).
    ...(s.categories.size ? { categories: Object.fromEntries(s.categories) } : {}),
    ...(s.ranges.size ? { ranges: Object.fromEntries(s.ranges) } : {}),
  };
}

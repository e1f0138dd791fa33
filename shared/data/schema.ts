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
  label: { column: string; threshold: number; values?: number[] };
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

/** Every feature in modality order (the model's input order). */
export function featureList(schema: Schema): string[] {
  return schema.modalities.flatMap((m) => m.features);
}

function fail(where: string, msg: string): never {
  throw new InputError(`${where}: ${msg}`);
}

function stringArray(v: unknown, where: string, field: string): string[] {
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string'))
    fail(where, `field "${field}" must be an array of strings`);
  return v as string[];
}

/** Validates a parsed schema object; `where` names the source (file path) in errors. */
export function compileSchema(raw: unknown, where: string): Schema {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) fail(where, 'schema must be a JSON object');
  const r = raw as Record<string, unknown>;
  const known = new Set(['columns', 'label', 'modalities', 'categorical', 'missingValues', 'missingCodes', 'categories', 'ranges']);
  for (const k of Object.keys(r)) if (!known.has(k)) fail(where, `unknown field "${k}"`);

  const columns = r.columns === undefined ? undefined : stringArray(r.columns, where, 'columns');
  const label = r.label as Record<string, unknown> | null | undefined;
  if (typeof label !== 'object' || label === null) fail(where, 'field "label" must be an object { column, threshold }');
  if (typeof label.column !== 'string' || !label.column) fail(where, 'field "label.column" must be a non-empty string');
  if (typeof label.threshold !== 'number' || !Number.isFinite(label.threshold))
    fail(where, 'field "label.threshold" must be a number');
  for (const k of Object.keys(label))
    if (k !== 'column' && k !== 'threshold' && k !== 'values') fail(where, `unknown field "label.${k}"`);
  let labelValues: number[] | undefined;
  if (label.values !== undefined) {
    const v = label.values;
    if (!Array.isArray(v) || v.length === 0 || v.some((x) => typeof x !== 'number' || !Number.isFinite(x)))
      fail(where, 'field "label.values" must be a non-empty array of numbers (the allowed raw label values)');
    labelValues = [...new Set(v as number[])];
    const t = label.threshold;
    if (!labelValues.some((x) => x > t) || !labelValues.some((x) => x <= t))
      fail(where, `field "label.values" must include values on both sides of "label.threshold" (${t}), or one class can never occur`);
  }

  const mods = r.modalities;
  if (typeof mods !== 'object' || mods === null || Array.isArray(mods) || Object.keys(mods).length === 0)
    fail(where, 'field "modalities" must be a non-empty object of name -> [features]');
  const modalities: Schema['modalities'] = [];
  const seen = new Map<string, string>();
  for (const [name, feats] of Object.entries(mods as Record<string, unknown>)) {
    const features = stringArray(feats, where, `modalities.${name}`);
    if (features.length === 0) fail(where, `modality "${name}" has no features`);
    for (const f of features) {
      if (seen.has(f)) fail(where, `feature "${f}" is in both modalities "${seen.get(f)}" and "${name}"`);
      if (f === label.column) fail(where, `label column "${f}" must not be a feature (modality "${name}")`);
      seen.set(f, name);
    }
    modalities.push({ name, features });
  }
  if (columns) {
    for (const f of [...seen.keys(), label.column])
      if (!columns.includes(f)) fail(where, `feature "${f}" is not in "columns"`);
  }
  const categorical = new Set(r.categorical === undefined ? [] : stringArray(r.categorical, where, 'categorical'));
  for (const c of categorical) if (!seen.has(c)) fail(where, `categorical feature "${c}" is in no modality`);
  const missingValues = new Set(
    r.missingValues === undefined ? ['', 'NA', '?'] : stringArray(r.missingValues, where, 'missingValues'),
  );
  const missingCodes = new Map<string, Set<string>>();
  if (r.missingCodes !== undefined) {
    if (typeof r.missingCodes !== 'object' || r.missingCodes === null || Array.isArray(r.missingCodes))
      fail(where, 'field "missingCodes" must be an object of column -> [values]');
    for (const [col, vals] of Object.entries(r.missingCodes as Record<string, unknown>)) {
      if (!seen.has(col)) fail(where, `missingCodes names "${col}", which is in no modality`);
      missingCodes.set(col, new Set(stringArray(vals, where, `missingCodes.${col}`)));
    }
  }
  const categories = new Map<string, string[]>();
  if (r.categories !== undefined) {
    if (typeof r.categories !== 'object' || r.categories === null || Array.isArray(r.categories))
      fail(where, 'field "categories" must be an object of categorical feature -> [values]');
    for (const [col, vals] of Object.entries(r.categories as Record<string, unknown>)) {
      if (!seen.has(col)) fail(where, `categories names "${col}", which is in no modality`);
      if (!categorical.has(col)) fail(where, `categories names "${col}", which is not in "categorical"`);
      if (!Array.isArray(vals) || vals.length === 0 || vals.some((x) => typeof x !== 'string' && !(typeof x === 'number' && Number.isFinite(x))))
        fail(where, `field "categories.${col}" must be a non-empty array of strings or numbers`);
      categories.set(col, [...new Set((vals as (string | number)[]).map((x) => canonicalToken(String(x).trim())))]);
    }
  }
  const ranges = new Map<string, [number, number]>();
  if (r.ranges !== undefined) {
    if (typeof r.ranges !== 'object' || r.ranges === null || Array.isArray(r.ranges))
      fail(where, 'field "ranges" must be an object of numeric feature -> [min, max]');
    for (const [col, range] of Object.entries(r.ranges as Record<string, unknown>)) {
      if (!seen.has(col)) fail(where, `ranges names "${col}", which is in no modality`);
      if (categorical.has(col)) fail(where, `ranges names "${col}", which is categorical (declare its "categories" instead)`);
      if (
        !Array.isArray(range) ||
        range.length !== 2 ||
        range.some((x) => typeof x !== 'number' || !Number.isFinite(x)) ||
        (range[0] as number) > (range[1] as number)
      )
        fail(where, `field "ranges.${col}" must be [min, max], two numbers with min <= max`);
      ranges.set(col, [range[0] as number, range[1] as number]);
    }
  }
  return {
    columns,
    label: { column: label.column, threshold: label.threshold, ...(labelValues ? { values: labelValues } : {}) },
    modalities,
    categorical,
    missingValues,
    missingCodes,
    categories,
    ranges,
  };
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

/** A stable, order-preserving JSON form, so sites can check they share the coordinator's schema. */
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

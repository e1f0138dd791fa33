import { InputError } from '../errors.ts';
import { readInputFile } from '../input-file.ts';

/** The data schema of ../shared/docs/INTERFACES.md, validated. */
export interface Schema {
  /** Column names when the CSV has no header row; undefined when the header names them. */
  columns?: string[];
  label: { column: string; threshold: number };
  /** Modality name -> its features, in schema order. */
  modalities: { name: string; features: string[] }[];
  categorical: Set<string>;
  missingValues: Set<string>;
  missingCodes: Map<string, Set<string>>;
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
  const known = new Set(['columns', 'label', 'modalities', 'categorical', 'missingValues', 'missingCodes']);
  for (const k of Object.keys(r)) if (!known.has(k)) fail(where, `unknown field "${k}"`);

  const columns = r.columns === undefined ? undefined : stringArray(r.columns, where, 'columns');
  const label = r.label as Record<string, unknown> | undefined;
  if (typeof label !== 'object' || label === null) fail(where, 'field "label" must be an object { column, threshold }');
  if (typeof label.column !== 'string' || !label.column) fail(where, 'field "label.column" must be a non-empty string');
  if (typeof label.threshold !== 'number' || !Number.isFinite(label.threshold))
    fail(where, 'field "label.threshold" must be a number');

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
  return { columns, label: { column: label.column, threshold: label.threshold }, modalities, categorical, missingValues, missingCodes };
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
  };
}

/**
 * Bounds on what one site may claim in a result: every count is a non-negative integer no
 * larger than the site's row count, and the row count itself is what the site said at the
 * statistics stage (stage 1), capped by `limits.maxExamplesPerSite`. A site weighs in the
 * aggregate by its numExamples and in the prior by its pattern counts: unchecked, one
 * compromised site claiming 1e12 rows replaces the global model or invents a pattern.
 * Refusals are ProtocolError('out-of-bounds'): the endpoint fails the site for the round.
 */
import { ProtocolError } from '../shared/errors.ts';
import { MAX_ABS_VALUE } from '../shared/data/stats.ts';
import { featureList, type Schema } from '../shared/data/schema.ts';
import type { ResultMeta, TaskKind } from '../shared/protocol/messages.ts';
import type { SealedHeader } from '../shared/crypto/envelope.ts';
import { DEFAULT_UPDATE_NORM_MULTIPLE, type NormBounds } from './update-clip.ts';

/** The default cap on a site's row count: hospital scale; set `limits.maxExamplesPerSite` to your largest site. */
export const DEFAULT_MAX_EXAMPLES_PER_SITE = 1_000_000;

/**
 * Room for a result's meta (sums, counts, metrics) beside its weights: stage-2 class moments
 * of d features take about 120 d^2 bytes, so 4 MiB holds d = 180 with room to spare.
 */
export const DEFAULT_RESULT_META_KIB = 4096;

export interface CountBounds {
  maxExamplesPerSite: number;
}

/** Everything the round loop bounds in a site's result (coordinator.yaml `limits`). */
export interface ResultBounds extends CountBounds, NormBounds {
  /** Bytes a result's meta may take on top of its weights. */
  resultMetaBytes: number;
}

export const DEFAULT_RESULT_BOUNDS: ResultBounds = {
  maxExamplesPerSite: DEFAULT_MAX_EXAMPLES_PER_SITE,
  updateNormMultiple: DEFAULT_UPDATE_NORM_MULTIPLE,
  resultMetaBytes: DEFAULT_RESULT_META_KIB * 1024,
};

/**
 * The most payload bytes a result may claim in its signed header: the frame's length prefix,
 * the meta allowance and, for a fit result, the model's float32 weights. The endpoint refuses
 * a larger claim before it spools a byte.
 */
export function maxResultPayload(kind: TaskKind, modelSize: number, metaBytes: number): number {
  return 4 + metaBytes + (kind === 'fit' ? 4 * modelSize : 0);
}

/** Where a result stands: its kind and statistics stage, and the rows the site reported at stage 1 (if it did). */
export interface ResultContext {
  site: string;
  kind: ResultMeta['kind'];
  stage?: number;
  /** numExamples of the site's stage-1 statistics; undefined when it sent none (or state saved before it was kept). */
  rows?: number;
  /** Whether stage-1 row counts are kept (false only for a run resumed from state saved before they were). */
  rowsKept: boolean;
  /** The federation's schema: the statistics may name only its features (absent in unit tests of the counts alone). */
  schema?: Schema;
}

/** Throws ProtocolError('out-of-bounds') unless every count in `meta` is within the site's bounds. */
export function checkResultCounts(meta: ResultMeta, at: ResultContext, bounds: CountBounds): void {
  const fail = (what: string): never => {
    throw new ProtocolError(`${at.kind} from site "${at.site}": ${what}`, 'out-of-bounds');
  };
  // Decoded JSON from a site: typed as a ResultMeta, checked as what it is, unknown.
  const m = meta as unknown as Record<string, unknown>;
  const n = m.numExamples;
  if (!isCount(n, bounds.maxExamplesPerSite))
    return fail(`numExamples must be an integer from 0 to limits.maxExamplesPerSite ${bounds.maxExamplesPerSite} (got ${show(n)})`);
  checkAgainstStageOne(n, at, fail);
  if (m.patternCounts !== undefined) checkLabelCounts(m.patternCounts, n, 'patternCounts', fail);
  if (m.cellCounts !== undefined) checkLabelCounts(m.cellCounts, n, 'cellCounts', fail);
  if (m.featureStats !== undefined) checkFeatureStats(m.featureStats, n, fail, at.schema);
  else if (at.kind === 'stats' && (at.stage ?? 1) === 1) fail('featureStats is missing: the statistics stage sends them');
  for (const name of ['classMoments', 'classMomentsWithinSite'] as const) if (m[name] !== undefined) checkClassMomentCounts(m[name], n, name, fail);
  if (m.classMoments !== undefined && m.classMomentsWithinSite === undefined) fail('classMomentsWithinSite is missing: protocol 3 sends the class moments centred on the site\'s own means beside them');
  const evalN = field(m.evaluation, 'n');
  if (m.evaluation !== undefined && !isCount(evalN, bounds.maxExamplesPerSite))
    fail(`evaluation.n must be an integer from 0 to ${bounds.maxExamplesPerSite} (got ${show(evalN)})`);
}

/** After stage 1, a site claims exactly the rows it reported then (a test-only site, with none, only the cap). */
function checkAgainstStageOne(n: number, at: ResultContext, fail: (what: string) => never): void {
  const firstStage = at.kind === 'stats' && (at.stage ?? 1) === 1;
  if (!firstStage && at.rows !== undefined && n !== at.rows)
    // Most often the site's data file changed mid-run (a new export at a restart: an outside try lost every later round of a site, unexplained).
    fail(`numExamples ${n} differs from the ${at.rows} rows it reported at the statistics stage: its data file has changed since this run's statistics round (a new export?); give the site back the file the run started with, or start a new run`);
  // Fit updates and later statistics weigh by the stage-1 rows: a site that sent none has no weight it may claim.
  if ((at.kind === 'fit' || (at.kind === 'stats' && !firstStage)) && at.rows === undefined && at.rowsKept)
    fail('it reported no rows at the statistics stage, so it has no weight it may claim');
}

export function isCount(v: unknown, max: number): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= max;
}

export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function field(o: unknown, key: string): unknown {
  return isRecord(o) ? o[key] : undefined;
}

/** A bounded excerpt of a value a site sent: never the whole of it in a message or a log. */
export function show(v: unknown): string {
  // A number as itself: JSON would write an Infinity (1e999 on the wire) or a NaN as null.
  const s = v === undefined ? 'undefined' : typeof v === 'number' ? String(v) : JSON.stringify(v);
  return s.length > 40 ? `${s.slice(0, 40)}...` : s;
}

/** [label 0, label 1] counts per key (patterns, cells): each an integer, their total at most the site's rows. */
function checkLabelCounts(raw: unknown, rows: number, name: string, fail: (what: string) => never): void {
  if (!isRecord(raw)) return fail(`${name} must be an object`);
  let total = 0;
  for (const [key, v] of Object.entries(raw)) {
    const pair: unknown[] = Array.isArray(v) ? v : [];
    const [a, b] = pair;
    if (pair.length !== 2 || !isCount(a, rows) || !isCount(b, rows))
      return fail(`${name}["${key.slice(0, 40)}"] must be two integer counts from 0 to its ${rows} rows (got ${show(v)})`);
    total += a + b;
  }
  if (total > rows) fail(`${name} add up to ${total}, more than its ${rows} rows`);
}

function checkFeatureStats(raw: unknown, rows: number, fail: (what: string) => never, schema?: Schema): void {
  const n = field(raw, 'n');
  if (!isCount(n, rows)) return fail(`featureStats.n must be an integer from 0 to its ${rows} rows (got ${show(n)})`);
  const numeric = field(raw, 'numeric');
  const categories = field(raw, 'categories');
  if (!isRecord(numeric) || !isRecord(categories)) return fail('featureStats.numeric and featureStats.categories must be objects');
  if (schema) checkFeatureNames(Object.keys(numeric), Object.keys(categories), schema, fail);
  for (const [f, v] of Object.entries(numeric)) {
    const name = `featureStats.numeric["${f.slice(0, 40)}"]`;
    const count = field(v, 'count');
    if (!isCount(count, n)) return fail(`${name}.count must be an integer from 0 to ${n} (got ${show(count)})`);
    checkNumericSums(field(v, 'sum'), field(v, 'sumSq'), count, name, fail);
  }
  for (const [f, cats] of Object.entries(categories)) {
    if (!isRecord(cats)) return fail(`featureStats.categories["${f.slice(0, 40)}"] must be an object of counts`);
    let total = 0;
    for (const [c, k] of Object.entries(cats)) {
      if (!isCount(k, n)) return fail(`featureStats.categories["${f.slice(0, 40)}"]["${c.slice(0, 40)}"] must be an integer from 0 to ${n} (got ${show(k)})`);
      total += k;
    }
    if (total > n) fail(`featureStats.categories["${f.slice(0, 40)}"] add up to ${total}, more than ${n} rows`);
  }
}

/**
 * The statistics name only the schema's features, numeric ones under `numeric`, categorical
 * under `categories`: a name the coordinator looks up in its own maps ("constructor",
 * "__proto__") reached Object.prototype and crashed the run (an outside attack), and any
 * other name is no feature of this federation.
 */
function checkFeatureNames(numeric: string[], categories: string[], schema: Schema, fail: (what: string) => never): void {
  const features = new Set(featureList(schema));
  for (const [names, categorical, where] of [[numeric, false, 'numeric'], [categories, true, 'categories']] as const) {
    const bad = names.find((f) => !features.has(f) || schema.categorical.has(f) !== categorical);
    if (bad !== undefined) fail(`featureStats.${where}["${bad.slice(0, 40)}"] is not a ${categorical ? 'categorical' : 'numeric'} feature of the federation's schema`);
  }
}

/**
 * Relative slack for float64 rounding in a column's sums: a site adds its values one by one,
 * so its sum and sum of squares are off by at most about rows x 2^-53 of themselves (1e-10 at
 * a million rows); 1e-6 is far beyond that and far below any real lie's size.
 */
export const SUM_ROUNDING = 1e-6;

/**
 * A numeric column's sums must be what `count` values within +-MAX_ABS_VALUE (1e15, what a
 * site's validation lets through: shared/data/stats.ts) can add up to: |sum| <= count M,
 * 0 <= sumSq <= count M^2, and sum^2 <= count sumSq (Cauchy-Schwarz: a variance is never
 * negative), each within SUM_ROUNDING. Then the federation's mean lies within +-M and its
 * variance within M^2, so the published scaling is finite, and far inside float32 (3.4e38),
 * in which every site trains: a sum of 1e300 passed the count checks, the agreed SD came out
 * beyond float32 and every site's training loss was NaN; a sum of "abc" published a mean of
 * null and every honest site refused the feature space.
 */
function checkNumericSums(sum: unknown, sumSq: unknown, count: number, name: string, fail: (what: string) => never): void {
  if (typeof sum !== 'number' || !Number.isFinite(sum)) return fail(`${name}.sum must be a finite number (got ${show(sum)})`);
  if (typeof sumSq !== 'number' || !Number.isFinite(sumSq)) return fail(`${name}.sumSq must be a finite number (got ${show(sumSq)})`);
  const slack = 1 + SUM_ROUNDING;
  if (Math.abs(sum) > count * MAX_ABS_VALUE * slack) fail(`${name}.sum ${sum} is more than ${count} values within +-${MAX_ABS_VALUE} add up to`);
  if (sumSq < 0 || sumSq > count * MAX_ABS_VALUE ** 2 * slack) fail(`${name}.sumSq ${sumSq} must be from 0 to what ${count} values within +-${MAX_ABS_VALUE} add up to`);
  if (sum * sum > count * sumSq * slack) fail(`${name}: sum ${sum} and sumSq ${sumSq} of ${count} values would give a negative variance`);
}

/** Class moments: rows per class add up to at most the site's rows; every per-column and per-pair count is within its class. */
function checkClassMomentCounts(raw: unknown, rows: number, name: string, fail: (what: string) => never): void {
  const classes = field(raw, 'classes');
  if (!Array.isArray(classes)) return; // the shape is checked where the moments are merged (validateClassMoments)
  let total = 0;
  classes.forEach((c: unknown, k) => {
    const r = field(c, 'rows');
    if (!isCount(r, rows)) return fail(`${name}.classes[${k}].rows must be an integer from 0 to its ${rows} rows (got ${show(r)})`);
    total += r;
    for (const counted of ['colCount', 'pairCount']) {
      const counts = field(c, counted);
      if (Array.isArray(counts) && !counts.every((x) => isCount(x, r)))
        fail(`${name}.classes[${k}].${counted} must hold integers from 0 to the class's ${r} rows`);
    }
  });
  if (total > rows) fail(`${name} rows add up to ${total}, more than its ${rows} rows`);
}

/** A plain fit result: the model's number of weights, and a sound control variate if it carries one. */
export function checkFitResult(meta: Pick<ResultMeta, 'weights' | 'controlVariate'>, modelSize: number, asksControl = false): void {
  if (meta.weights !== modelSize) throw new ProtocolError(`update has ${meta.weights} weights, the model has ${modelSize}`, 'malformed');
  if (meta.controlVariate !== undefined && !asksControl) throw new ProtocolError('the result carries a control variate the round did not ask for', 'malformed');
  checkControlVariate(meta.controlVariate, modelSize);
}

/** A fit result's control variate (SCAFFOLD), when it carries one: one finite number per model parameter. */
export function checkControlVariate(cv: unknown, modelSize: number): void {
  if (cv === undefined) return;
  if (!Array.isArray(cv) || cv.length !== modelSize)
    throw new ProtocolError(`control variate must be an array of ${modelSize} numbers (one per parameter); got ${Array.isArray(cv) ? `${cv.length}` : `a ${typeof cv}`}`, 'malformed');
  const bad = cv.findIndex((x) => typeof x !== 'number' || !Number.isFinite(x));
  if (bad >= 0) {
    const x: unknown = cv[bad];
    throw new ProtocolError(`control variate entry ${bad} is ${typeof x === 'number' ? String(x) : JSON.stringify(x)}, not a finite number`, 'malformed');
  }
}

/** Shape checks on a decrypted result meta: a signed message can still be malformed. */
export function checkResultMeta(raw: unknown, h: Pick<SealedHeader, 'kind' | 'site' | 'round'>): asserts raw is ResultMeta {
  const bad = (what: string): never => {
    throw new ProtocolError(`${h.kind} from site "${h.site}": ${what}`, 'malformed');
  };
  if (typeof raw !== 'object' || raw === null) return bad('payload meta is not an object');
  // Decoded JSON from a site: every field is checked before the meta is used as a ResultMeta.
  const meta = raw as Partial<Record<keyof ResultMeta, unknown>>;
  if (meta.round !== h.round) bad(`payload says round ${JSON.stringify(meta.round)}, header says ${h.round}`);
  if (typeof meta.weights !== 'number' || !Number.isInteger(meta.weights) || meta.weights < 0) bad('field "weights" must be a non-negative integer');
  if (typeof meta.numExamples !== 'number' || !Number.isFinite(meta.numExamples) || meta.numExamples < 0) bad('field "numExamples" must be a number >= 0');
  if (typeof meta.metrics !== 'object' || meta.metrics === null) bad('field "metrics" must be an object');
}

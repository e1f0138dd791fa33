/**
 * Outcome balancing against flagged readings (METHOD.md, "What broke in the first
 * build"): w(x_f, m, y) = P(y) / P(y | x_f, m), clipped and normalised, so that in the
 * weighted training rows the flagged readings and the missingness pattern say nothing
 * about the label, and not one step further.
 *
 * Sites contribute counts of (cell, label), a cell being the row's pattern and the bin
 * of each flagged reading: sums, never rows. The coordinator fits P(y | cell) on the
 * summed counts (the counts are sufficient statistics for any model of y on the cell)
 * and publishes the fitted levels, from which each site computes its rows' weights.
 * Model of P(y | cell): an additive logistic regression (a level per pattern and per
 * reading bin) fitted by Newton's method. Additive keeps sparse cells (two readings times
 * many patterns) stable, and publishes no cell's own label rate; it balances each reading
 * over all rows, not within each pattern: a reading whose link to the label differs
 * between patterns keeps a link within each (a review: 0.18 and 0.89 within two
 * patterns, 0.50 over both). docs/debiasing.md says so.
 */
import { ProtocolError } from '../errors.ts';
import type { EncodedData } from './encode.ts';
import type { FeatureSpace } from './feature-space.ts';
import { histogramAuc } from './debias-health.ts';
import { sumLabelCounts } from './patterns.ts';

/** Bin edges of a numeric reading, in standardised units (the agreed scaling): 22 bins of a quarter SD. */
export const READING_BIN_EDGES: readonly number[] = Array.from({ length: 21 }, (_, i) => -2.5 + i * 0.25);
/** Where a bin's level sits on the reading's axis, for interpolation between bins. */
export const READING_BIN_CENTERS: readonly number[] = [
  READING_BIN_EDGES[0]! - 0.125,
  ...READING_BIN_EDGES.slice(1).map((e) => e - 0.125),
  READING_BIN_EDGES.at(-1)! + 0.125,
];
/** Smoothness penalty between adjacent bins' levels (a random walk prior): neighbours share strength. */
const SMOOTH = 1;
/** Ridge on the additive model's levels, on the scale of the summed log-likelihood: enough to fix the levels where a pattern's and a reading's levels trade off, too little to move a fit. */
const RIDGE = 1e-3;
export const ABSENT = 'a';

/** Which encoded columns make each flagged reading's bin. */
export interface BalanceFeature {
  feature: string;
  kind: 'numeric' | 'category';
  /** Encoded columns of the feature (one for numeric, one per category). */
  columns: number[];
}

export function balanceFeatures(space: FeatureSpace, names: readonly string[]): BalanceFeature[] {
  return names.map((feature) => {
    const columns = space.columns.flatMap((c, j) => (c.feature === feature ? [j] : []));
    if (columns.length === 0) throw new Error(`flagged feature "${feature}" is not in the feature space`);
    return { feature, kind: space.columns[columns[0]!]!.kind === 'numeric' ? 'numeric' : 'category', columns };
  });
}

export function numericBin(v: number): number {
  let b = 0;
  while (b < READING_BIN_EDGES.length && v >= READING_BIN_EDGES[b]!) b++;
  return b;
}

/**
 * Row i's reading f as the model of P(y | cell) sees it: its bin key ('a' absent, the
 * numeric bin, 'cK' category K, 'u' an unseen category) and, for an observed numeric
 * reading, its standardised value (for interpolation between bins).
 */
function readingOf(d: EncodedData, i: number, f: BalanceFeature): { key: string; value?: number } {
  const base = i * d.dim;
  if (!f.columns.some((j) => d.observed[base + j])) return { key: ABSENT };
  if (f.kind === 'numeric') {
    const value = d.x[base + f.columns[0]!]!;
    return { key: String(numericBin(value)), value };
  }
  const hot = f.columns.findIndex((j) => d.x[base + j] === 1);
  return { key: hot < 0 ? 'u' : `c${hot}` };
}

/** Each row's cell key: `pattern|bin,bin` (bin 'a' where the reading is absent). */
export function cellKeys(d: EncodedData, features: readonly BalanceFeature[]): string[] {
  const keys = new Array<string>(d.n);
  for (let i = 0; i < d.n; i++) keys[i] = `${d.patterns[i]}|${features.map((f) => readingOf(d, i, f).key).join(',')}`;
  return keys;
}

export type CellCounts = Record<string, [number, number]>;

export function countCells(keys: readonly string[], y: ArrayLike<number>): CellCounts {
  const out: CellCounts = {};
  keys.forEach((k, i) => {
    (out[k] ??= [0, 0])[y[i] ? 1 : 0]++;
  });
  return out;
}

/** The one place cell counts are summed (like the pattern counts, the seam secure aggregation replaces). */
export function sumCellCounts(all: CellCounts[]): CellCounts {
  return sumLabelCounts(all);
}

/** Shape check of a site's cell counts: keys of the expected form, non-negative integer counts. */
export function validateCellCounts(raw: unknown, features: number, where: string): CellCounts {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new ProtocolError(`${where}: cell counts must be an object`, 'malformed');
  for (const [k, v] of Object.entries(raw as Record<string, unknown>)) {
    const parts = k.split('|');
    if (parts.length !== 2 || !/^[01]+$/.test(parts[0]!) || parts[1]!.split(',').length !== features)
      throw new ProtocolError(`${where}: cell "${k.slice(0, 40)}" is not of the form pattern|bins for ${features} readings`, 'malformed');
    const ok = Array.isArray(v) && v.length === 2 && v.every((x) => Number.isInteger(x) && x >= 0);
    if (!ok) throw new ProtocolError(`${where}: cell "${k.slice(0, 40)}" must hold two non-negative integer counts`, 'malformed');
  }
  return raw as CellCounts;
}

/**
 * The published model of P(y | flagged readings, pattern): log-odds = level of the
 * row's pattern + one level per reading (a numeric reading's level interpolated
 * between its bins' centres, so rows inside a bin are balanced too). Sites turn it into
 * w = P(y) / P(y | row), clipped to [1 / maxWeight, maxWeight].
 */
export interface OutcomeBalance {
  features: string[];
  /** P(y = 1) over the training rows that were counted. */
  prevalence: number;
  patterns: Record<string, number>;
  /** Per reading: bin key ('0'..'21' numeric bins, 'a' absent, 'cK' category K, 'u' unseen category) -> log-odds level. */
  levels: Record<string, number>[];
  maxWeight: number;
  /** Share of the counted rows whose weight the clip bound (many = the readings nearly decide the label). */
  clippedShare: number;
  /**
   * Share of the weight the unclipped model gives that the clip took away or added,
   * Σ|raw - clipped| / Σ raw over the counted rows: a few rows whose weights the clip cut
   * from 40 to 10 hold most of what balancing needed (a review: 0.16% of rows clipped, the
   * reading still at AUROC 0.54 after weighting). Absent from a table an earlier build fitted.
   */
  clippedWeight?: number;
}

interface Level {
  name: string;
  /** Numeric reading f's bin b: neighbours are smoothed together. */
  feature?: number;
  bin?: number;
}

/** Additive logistic fit on (cell, label) counts by Newton's method, with a ridge and a smoothness penalty between neighbouring bins. */
function additiveFit(cells: [string, [number, number]][], numeric: boolean[]): { levels: Level[]; beta: Float64Array } {
  const index = new Map<string, number>();
  const levels: Level[] = [];
  const level = (name: string, extra: Omit<Level, 'name'> = {}) => {
    let i = index.get(name);
    if (i === undefined) {
      index.set(name, (i = levels.length));
      levels.push({ name, ...extra });
    }
    return i;
  };
  // Every bin of a numeric reading is a level (the smoothness prior fills the empty ones).
  numeric.forEach((isNum, f) => {
    if (isNum) for (let b = 0; b <= READING_BIN_EDGES.length; b++) level(`f${f}:${b}`, { feature: f, bin: b });
  });
  const rows = cells.map(([k]) => {
    const [pattern, bins] = k.split('|') as [string, string];
    return [level(`p:${pattern}`), ...bins.split(',').map((b, f) => level(`f${f}:${b}`))];
  });
  const L = levels.length;
  const neighbours: [number, number][] = [];
  levels.forEach((lv, a) => {
    if (lv.feature === undefined || lv.bin === undefined) return;
    const next = index.get(`f${lv.feature}:${lv.bin + 1}`);
    if (next !== undefined) neighbours.push([a, next]);
  });
  const beta = new Float64Array(L);
  for (let iter = 0; iter < 50; iter++) {
    const g = new Float64Array(L);
    const H = new Float64Array(L * L);
    for (let a = 0; a < L; a++) {
      g[a] = RIDGE * beta[a]!;
      H[a * L + a] = RIDGE;
    }
    for (const [a, b] of neighbours) {
      const d = SMOOTH * (beta[a]! - beta[b]!);
      g[a]! += d;
      g[b]! -= d;
      H[a * L + a]! += SMOOTH;
      H[b * L + b]! += SMOOTH;
      H[a * L + b]! -= SMOOTH;
      H[b * L + a]! -= SMOOTH;
    }
    cells.forEach(([, [n0, n1]], c) => {
      const lv = rows[c]!;
      let eta = 0;
      for (const a of lv) eta += beta[a]!;
      const p = 1 / (1 + Math.exp(-eta));
      const n = n0 + n1;
      for (const a of lv) {
        g[a]! += n * p - n1;
        for (const b of lv) H[a * L + b]! += n * p * (1 - p);
      }
    });
    const step = solve(H, g, L);
    let move = 0;
    for (let a = 0; a < L; a++) {
      beta[a]! -= step[a]!;
      move = Math.max(move, Math.abs(step[a]!));
    }
    if (move < 1e-9) break;
  }
  return { levels, beta };
}

/** Solves H x = g (H symmetric positive definite) by Gaussian elimination with partial pivoting. */
function solve(H: Float64Array, g: Float64Array, n: number): Float64Array {
  const A = Float64Array.from(H);
  const b = Float64Array.from(g);
  for (let c = 0; c < n; c++) {
    let piv = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(A[r * n + c]!) > Math.abs(A[piv * n + c]!)) piv = r;
    if (piv !== c) {
      for (let k = 0; k < n; k++) [A[c * n + k], A[piv * n + k]] = [A[piv * n + k]!, A[c * n + k]!];
      [b[c], b[piv]] = [b[piv]!, b[c]!];
    }
    const d = A[c * n + c]!;
    for (let r = c + 1; r < n; r++) {
      const f = A[r * n + c]! / d;
      if (f === 0) continue;
      for (let k = c; k < n; k++) A[r * n + k]! -= f * A[c * n + k]!;
      b[r]! -= f * b[c]!;
    }
  }
  const x = new Float64Array(n);
  for (let r = n - 1; r >= 0; r--) {
    let s = b[r]!;
    for (let k = r + 1; k < n; k++) s -= A[r * n + k]! * x[k]!;
    x[r] = s / A[r * n + r]!;
  }
  return x;
}

const clip = (w: number, max: number) => Math.min(max, Math.max(1 / max, w));

/** The published model from summed counts (`numeric[f]`: whether reading f is numeric, so its bins are smoothed and interpolated). */
export function fitOutcomeBalance(counts: CellCounts, features: readonly string[], numeric: readonly boolean[], maxWeight: number): OutcomeBalance {
  const cells = Object.entries(counts).filter(([, [n0, n1]]) => n0 + n1 > 0).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  let N = 0;
  let N1 = 0;
  for (const [, [n0, n1]] of cells) {
    N += n0 + n1;
    N1 += n1;
  }
  const out: OutcomeBalance = { features: [...features], prevalence: N > 0 ? N1 / N : 0.5, patterns: {}, levels: features.map(() => ({})), maxWeight, clippedShare: 0 };
  if (N === 0 || N1 === 0 || N1 === N) return out;
  const { levels, beta } = additiveFit(cells, [...numeric]);
  levels.forEach((lv, a) => {
    const [kind, key] = [lv.name.slice(0, lv.name.indexOf(':')), lv.name.slice(lv.name.indexOf(':') + 1)];
    if (kind === 'p') out.patterns[key] = beta[a]!;
    else out.levels[Number(kind.slice(1))]![key] = beta[a]!;
  });
  // How many counted rows the clip binds, and how much weight it moves (at their bins' levels).
  let clipped = 0;
  let raw = 0;
  let moved = 0;
  for (const [k, [n0, n1]] of cells) {
    // Every counted cell's pattern has a level: the fit gave it one.
    const p = cellProbability(out, k)!;
    for (const [rows, w] of [[n0, (1 - out.prevalence) / (1 - p)], [n1, out.prevalence / p]] as const) {
      const change = Math.abs(w - clip(w, maxWeight));
      if (change > 0) clipped += rows;
      raw += rows * w;
      moved += rows * change;
    }
  }
  out.clippedShare = clipped / N;
  out.clippedWeight = raw > 0 ? moved / raw : 0;
  return out;
}

/** P(y = 1) of a cell `pattern|bins` under the table, at its bins' levels (the fit's view; rows interpolate between bins); undefined where the table lists no level for its pattern. */
function cellProbability(t: OutcomeBalance, key: string): number | undefined {
  const [pattern, bins] = key.split('|') as [string, string];
  const level = t.patterns[pattern];
  if (level === undefined) return undefined;
  let eta = level;
  bins.split(',').forEach((b, f) => (eta += t.levels[f]![b] ?? 0));
  return 1 / (1 + Math.exp(-eta));
}

/** A counted cell's weight for each label under the table (1 for a pattern it lists no level for, as outcomeWeights gives its rows). */
function cellWeights(t: OutcomeBalance, key: string): [number, number] {
  const p = cellProbability(t, key);
  if (p === undefined) return [1, 1];
  return [clip((1 - t.prevalence) / (1 - p), t.maxWeight), clip(t.prevalence / p, t.maxWeight)];
}

/**
 * What the weights leave of each reading's link to the label, from the counts the table was
 * fitted on: its AUROC against the label over the rows where it is observed, unweighted and
 * weighted, at bin level (a numeric reading's bins in order, a categorical one's values
 * ordered by their unweighted label rate), oriented so the unweighted figure is at least 0.5.
 * Where the classes barely overlap at its values no weighting balances it (an outside try:
 * a reading of strength 2 read 0.95 weighted at maxWeight 10, 0.87 at 100, with the clip
 * moving 16% and 3% of the weight): this, not the clip, says so.
 */
export function balanceResidual(counts: CellCounts, t: OutcomeBalance, numeric: readonly boolean[]): { feature: string; unweighted: number; weighted: number }[] {
  return t.features.map((feature, f) => {
    const bins = new Map<string, { raw: [number, number]; weighted: [number, number] }>();
    for (const [key, [n0, n1]] of Object.entries(counts)) {
      if (n0 + n1 === 0) continue;
      const bin = key.slice(key.indexOf('|') + 1).split(',')[f]!;
      if (bin === ABSENT) continue;
      const [w0, w1] = cellWeights(t, key);
      const b = bins.get(bin) ?? { raw: [0, 0], weighted: [0, 0] };
      b.raw[0] += n0;
      b.raw[1] += n1;
      b.weighted[0] += n0 * w0;
      b.weighted[1] += n1 * w1;
      bins.set(bin, b);
    }
    const rate = (b: { raw: [number, number] }) => b.raw[1] / (b.raw[0] + b.raw[1]);
    const order = [...bins.entries()].sort(numeric[f] ? ([a], [b]) => Number(a) - Number(b) : ([, a], [, b]) => rate(a) - rate(b)).map(([, b]) => b);
    const auc = (of: 'raw' | 'weighted') => histogramAuc(order.map((b) => b[of][0]), order.map((b) => b[of][1]));
    const [raw, weighted] = [auc('raw'), auc('weighted')];
    const flip = raw < 0.5;
    return { feature, unweighted: flip ? 1 - raw : raw, weighted: flip ? 1 - weighted : weighted };
  });
}

/** A numeric reading's level at standardised value v: linear between neighbouring bins' centres, flat beyond the ends. */
function numericLevel(levels: Record<string, number>, v: number): number {
  const c = READING_BIN_CENTERS;
  const at = (b: number) => levels[String(b)] ?? 0;
  if (v <= c[0]!) return at(0);
  if (v >= c.at(-1)!) return at(c.length - 1);
  let b = 0;
  while (v > c[b + 1]!) b++;
  const t = (v - c[b]!) / (c[b + 1]! - c[b]!);
  return (1 - t) * at(b) + t * at(b + 1);
}

/**
 * Each row's weight P(y) / P(y | readings, pattern) under the published model, clipped,
 * then raised to `temper` (1 = full weights, 0 = none). A row of a pattern the table does
 * not list (too few rows of a label to publish, or none at the training sites) weighs 1,
 * as pattern balancing weighs it: the model has no intercept apart from the patterns'
 * levels, so a level of 0 read such rows at P(y) = 0.5 and, at a prevalence of 0.15,
 * weighed a positive 0.3 and a negative 1.7: a link of pattern to label made, not removed
 * (a method review).
 */
export function outcomeWeights(t: OutcomeBalance, d: EncodedData, features: readonly BalanceFeature[], temper = 1): Float32Array {
  const w = new Float32Array(d.n);
  for (let i = 0; i < d.n; i++) {
    const level = t.patterns[d.patterns[i]!];
    if (level === undefined) {
      w[i] = 1;
      continue;
    }
    let eta = level;
    features.forEach((f, k) => {
      const lv = t.levels[k] ?? {};
      const r = readingOf(d, i, f);
      eta += r.value === undefined ? (lv[r.key] ?? 0) : numericLevel(lv, r.value);
    });
    const p = 1 / (1 + Math.exp(-eta));
    const raw = d.y[i] ? t.prevalence / p : (1 - t.prevalence) / (1 - p);
    const c = clip(raw, t.maxWeight);
    w[i] = temper === 1 ? c : Math.pow(c, temper);
  }
  return w;
}

/** Shape check of a published model (sites trust the coordinator's signature, not its arithmetic). */
export function validateOutcomeBalance(raw: unknown, where: string): OutcomeBalance {
  const fail = (why: string): never => {
    throw new ProtocolError(`${where}: ${why}`, 'malformed');
  };
  if (typeof raw !== 'object' || raw === null) return fail('not an object');
  const o = raw as Record<string, unknown>;
  const finiteMap = (m: unknown) => typeof m === 'object' && m !== null && Object.values(m).every((v) => typeof v === 'number' && Number.isFinite(v));
  if (!Array.isArray(o.features) || !o.features.every((f) => typeof f === 'string')) fail('features must be a list of names');
  if (typeof o.prevalence !== 'number' || !(o.prevalence >= 0 && o.prevalence <= 1)) fail('prevalence must be a probability');
  if (!finiteMap(o.patterns)) fail('patterns must map patterns to finite levels');
  if (!Array.isArray(o.levels) || o.levels.length !== (o.features as unknown[]).length || !o.levels.every(finiteMap))
    fail('levels must hold one map of finite levels per feature');
  if (typeof o.maxWeight !== 'number' || !(o.maxWeight >= 1)) fail('maxWeight must be a number >= 1');
  return raw as OutcomeBalance;
}

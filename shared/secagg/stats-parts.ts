/**
 * The statistics rounds as secure sums (docs/secagg.md, "Statistics rounds"): each stage's
 * sums laid out as one fixed vector both sides build from what they already share (the
 * schema, the published feature space and prior), so the coordinator decodes only the
 * federation's totals. Stage 1: rows, (pattern, label) counts, numeric sums and a hashed
 * sketch of the undeclared category values (the vocabulary rounds after it: vocabulary-parts.ts); stage 2: class
 * moments; stage 3: (cell, label) counts over the published patterns.
 */
import { createHash } from 'node:crypto';
import { COL_FIELDS, emptyClassMoments, PAIR_FIELDS, pairCountFor, type SiteMoments } from '../data/class-moments.ts';
import { ABSENT, READING_BIN_EDGES, type BalanceFeature, type CellCounts } from '../data/outcome-balance.ts';
import type { PatternLabelCounts } from '../data/patterns.ts';
import { featureList, type Schema } from '../data/schema.ts';
import { MAX_ABS_VALUE, type FeatureStats } from '../data/stats.ts';
import { InputError } from '../errors.ts';
import type { SecAggConfig } from './config.ts';
import { VectorLayout, type PartSpec } from './layout.ts';

/** Buckets per undeclared categorical feature: collisions of a rare value with a common one are about 1 in 4096 per pair. */
export const SKETCH_BUCKETS = 4096;
/** 2^14 patterns x 2 labels = 32,768 counts: beyond that the dense pattern vector is too large to mask every round. */
export const MAX_SECURE_MODALITIES = 14;
/** Ring words of the stage-3 cell vector (4 MiB a site): more flagged readings than this allows are refused. */
export const MAX_SECURE_CELL_WORDS = 1 << 20;
/**
 * |encoded value| one row may add to a class moment: standardised readings, far past any
 * real one (a reading 10^6 SDs out would be clipped, and counted as clipped).
 */
const MAX_ENCODED_VALUE = 1e6;

export type Values = Record<string, number[]>;
export type Sums = Record<string, Float64Array>;

const numericFeatures = (s: Schema) => featureList(s).filter((f) => !s.categorical.has(f));
/** Categorical features without declared values: their vocabulary must be agreed from counts. */
export const undeclaredFeatures = (s: Schema) => featureList(s).filter((f) => s.categorical.has(f) && !s.categories.has(f));

/** A pattern ('1101', one character per modality) as an index into the dense pattern vector. */
const patternIndex = (p: string) => Number.parseInt(p, 2);
const patternName = (i: number, modalities: number) => i.toString(2).padStart(modalities, '0');

/**
 * Where a category value hashes, keyed by the session (so collisions differ between runs):
 * its sketch bucket, and which of a heavy bucket's `slots` name slots it takes (other bits
 * of the same digest, so independent of its bucket). One digest for both.
 */
export function hashCell(session: string, feature: string, value: string, slots = 1): { bucket: number; slot: number } {
  const d = createHash('sha256').update(`${session}\u0000${feature}\u0000${value}`).digest();
  return { bucket: d.readUInt32BE(0) % SKETCH_BUCKETS, slot: d.readUInt32BE(4) % slots };
}

export const sketchBucket = (session: string, feature: string, value: string): number => hashCell(session, feature, value).bucket;
export const nameSlot = (session: string, feature: string, value: string, slots: number): number => hashCell(session, feature, value, slots).slot;

// ---- stage 1: the summary ----

export function summaryLayout(schema: Schema, c: SecAggConfig, maxSites: number): VectorLayout {
  const m = schema.modalities.length;
  if (m > MAX_SECURE_MODALITIES)
    throw new InputError(`secure aggregation: the schema has ${m} modalities; secure statistics hold at most ${MAX_SECURE_MODALITIES} (2^${MAX_SECURE_MODALITIES} missingness patterns)`);
  const k = numericFeatures(schema).length;
  const parts: PartSpec[] = [
    { name: 'rows', length: 1, kind: 'count', bound: c.maxExamples },
    { name: 'patternLabel', length: 2 ** m * 2, kind: 'count', bound: c.maxExamples },
  ];
  if (k > 0)
    parts.push(
      { name: 'numCount', length: k, kind: 'count', bound: c.maxExamples },
      { name: 'numSum', length: k, kind: 'wide', bound: c.maxExamples * MAX_ABS_VALUE },
      { name: 'numSumSq', length: k, kind: 'wide', bound: c.maxExamples * MAX_ABS_VALUE ** 2 },
    );
  const u = undeclaredFeatures(schema).length;
  if (u > 0) parts.push({ name: 'sketch', length: u * SKETCH_BUCKETS, kind: 'count', bound: c.maxExamples });
  return new VectorLayout(parts, maxSites);
}

/** A site's stage-1 vector from its feature stats and pattern counts (rows capped at maxExamples by the layout's clipping). */
export function summaryValues(schema: Schema, session: string, stats: FeatureStats, counts: PatternLabelCounts): Values {
  const m = schema.modalities.length;
  const patternLabel = new Array<number>(2 ** m * 2).fill(0);
  for (const [p, [neg, pos]] of Object.entries(counts)) {
    const i = patternIndex(p);
    patternLabel[2 * i] = neg;
    patternLabel[2 * i + 1] = pos;
  }
  const num = numericFeatures(schema).map((f) => stats.numeric[f] ?? { count: 0, sum: 0, sumSq: 0 });
  const sketch: number[] = [];
  for (const f of undeclaredFeatures(schema)) {
    const buckets = new Array<number>(SKETCH_BUCKETS).fill(0);
    for (const [v, n] of Object.entries(stats.categories[f] ?? {})) buckets[sketchBucket(session, f, v)]! += n;
    sketch.push(...buckets);
  }
  return {
    rows: [stats.n],
    patternLabel,
    ...(num.length > 0 ? { numCount: num.map((x) => x.count), numSum: num.map((x) => x.sum), numSumSq: num.map((x) => x.sumSq) } : {}),
    ...(sketch.length > 0 ? { sketch } : {}),
  };
}

export interface SummarySum {
  /** Numeric sums and n; categories left to the vocabulary rounds. */
  featureStats: FeatureStats;
  patternCounts: PatternLabelCounts;
  /** Per undeclared feature, its bucket counts. */
  sketch: Record<string, number[]>;
}

export function summaryFromSum(schema: Schema, sums: Sums): SummarySum {
  const m = schema.modalities.length;
  const patternCounts: PatternLabelCounts = {};
  const pl = sums.patternLabel!;
  for (let i = 0; i < 2 ** m; i++) if (pl[2 * i]! + pl[2 * i + 1]! > 0) patternCounts[patternName(i, m)] = [pl[2 * i]!, pl[2 * i + 1]!];
  const numeric: FeatureStats['numeric'] = {};
  numericFeatures(schema).forEach((f, j) => (numeric[f] = { count: sums.numCount![j]!, sum: sums.numSum![j]!, sumSq: sums.numSumSq![j]! }));
  const sketch: Record<string, number[]> = {};
  undeclaredFeatures(schema).forEach((f, j) => (sketch[f] = [...sums.sketch!.subarray(j * SKETCH_BUCKETS, (j + 1) * SKETCH_BUCKETS)]));
  return { featureStats: { n: sums.rows![0]!, numeric, categories: {} }, patternCounts, sketch };
}

// ---- stage 2: class moments ----

const momentKind = (f: string): 'count' | 'wide' => (f === 'colCount' || f === 'pairCount' ? 'count' : 'wide');
const momentBound = (f: string, c: SecAggConfig) =>
  momentKind(f) === 'count' ? c.maxExamples : c.maxExamples * (/Sq$|II$|JJ$|IJ$/.test(f) ? MAX_ENCODED_VALUE ** 2 : MAX_ENCODED_VALUE);

/**
 * The fields a site's centred moments add: column sums and squares about the site's column
 * means, and the pair scatter (their counts of rows and columns are the raw ones, less one
 * per pair, and their pair sums of i and j are 0 by construction).
 */
const WITHIN_FIELDS = ['colSum', 'colSumSq', 'pairCount', 'pairSumII', 'pairSumJJ', 'pairSumIJ'] as const;
const fieldLength = (f: string, dim: number) => ((COL_FIELDS as readonly string[]).includes(f) ? dim : pairCountFor(dim));

/** Per class: rows, the column and pair sums, then the centred sums (`w0.` / `w1.`); then the centred label scatter (`w.labelScatter`). */
export function momentsLayout(dim: number, c: SecAggConfig, maxSites: number): VectorLayout {
  const parts: PartSpec[] = [];
  for (const k of [0, 1]) {
    parts.push({ name: `c${k}.rows`, length: 1, kind: 'count', bound: c.maxExamples });
    for (const f of [...COL_FIELDS, ...PAIR_FIELDS]) {
      const length = fieldLength(f, dim);
      if (length > 0) parts.push({ name: `c${k}.${f}`, length, kind: momentKind(f), bound: momentBound(f, c) });
    }
    for (const f of WITHIN_FIELDS) {
      const length = fieldLength(f, dim);
      if (length > 0) parts.push({ name: `w${k}.${f}`, length, kind: momentKind(f), bound: momentBound(f, c) });
    }
  }
  // n1 n0 / n per column: at most a quarter of the rows, not an integer.
  if (dim > 0) parts.push({ name: 'w.labelScatter', length: dim, kind: 'wide', bound: c.maxExamples });
  return new VectorLayout(parts, maxSites);
}

export function momentsValues(m: SiteMoments): Values {
  const out: Values = {};
  m.pooled.classes.forEach((cs, k) => {
    out[`c${k}.rows`] = [cs.rows];
    for (const f of [...COL_FIELDS, ...PAIR_FIELDS]) if (cs[f].length > 0) out[`c${k}.${f}`] = cs[f];
    const w = m.withinSite.classes[k]!;
    for (const f of WITHIN_FIELDS) if (w[f].length > 0) out[`w${k}.${f}`] = w[f];
  });
  if (m.pooled.dim > 0) out['w.labelScatter'] = m.withinSite.labelScatter!;
  return out;
}

export function momentsFromSum(dim: number, sums: Sums): SiteMoments {
  const pooled = emptyClassMoments(dim);
  const withinSite = emptyClassMoments(dim);
  pooled.classes.forEach((cs, k) => {
    cs.rows = sums[`c${k}.rows`]![0]!;
    for (const f of [...COL_FIELDS, ...PAIR_FIELDS]) if (cs[f].length > 0) cs[f] = [...sums[`c${k}.${f}`]!];
    // The centred view keeps the raw counts; its pair sums of i and j stay 0.
    const w = withinSite.classes[k]!;
    w.rows = cs.rows;
    w.colCount = [...cs.colCount];
    for (const f of WITHIN_FIELDS) if (w[f].length > 0) w[f] = [...sums[`w${k}.${f}`]!];
  });
  withinSite.labelScatter = dim > 0 ? [...sums['w.labelScatter']!] : [];
  return { pooled, withinSite };
}

// ---- stage 3: (cell, label) counts ----

/** Every bin key of one flagged reading, as cellKeys writes them. */
function binKeys(f: BalanceFeature): string[] {
  const own = f.kind === 'numeric' ? Array.from({ length: READING_BIN_EDGES.length + 1 }, (_, b) => String(b)) : [...f.columns.map((_, j) => `c${j}`), 'u'];
  return [ABSENT, ...own];
}

/**
 * Every cell, in a fixed order both sides build alike: over all 2^m patterns where that
 * fits (so every row counts, as in the plain round), else over the published patterns
 * only (a row of another pattern is left out: its pattern's name would point at its site).
 */
export function cellList(modalities: number, published: readonly string[], features: readonly BalanceFeature[]): string[] {
  let combos = [''];
  features.forEach((f, i) => (combos = combos.flatMap((c) => binKeys(f).map((b) => (i === 0 ? b : `${c},${b}`)))));
  const all = 2 ** modalities * combos.length * 2 <= MAX_SECURE_CELL_WORDS;
  const patterns = all ? Array.from({ length: 2 ** modalities }, (_, i) => patternName(i, modalities)) : published;
  const cells = patterns.flatMap((p) => combos.map((c) => `${p}|${c}`));
  if (cells.length * 2 > MAX_SECURE_CELL_WORDS)
    throw new InputError(
      `secure aggregation: ${features.length} flagged readings over ${patterns.length} patterns make ${cells.length} cells; secure outcome balancing holds at most ${MAX_SECURE_CELL_WORDS / 2} (flag fewer readings, or list them as trusted)`,
    );
  return cells;
}

export function cellsLayout(cells: readonly string[], c: SecAggConfig, maxSites: number): VectorLayout {
  return new VectorLayout([{ name: 'cellLabel', length: cells.length * 2, kind: 'count', bound: c.maxExamples }], maxSites);
}

/** A site's counts over the listed cells (a row in no listed cell is left out). */
export function cellsValues(cells: readonly string[], counts: CellCounts): Values {
  const v = new Array<number>(cells.length * 2).fill(0);
  cells.forEach((key, i) => {
    const c = counts[key];
    if (c) [v[2 * i], v[2 * i + 1]] = c;
  });
  return { cellLabel: v };
}

export function cellsFromSum(cells: readonly string[], sums: Sums): CellCounts {
  const out: CellCounts = {};
  const v = sums.cellLabel!;
  cells.forEach((key, i) => {
    if (v[2 * i]! + v[2 * i + 1]! > 0) out[key] = [v[2 * i]!, v[2 * i + 1]!];
  });
  return out;
}

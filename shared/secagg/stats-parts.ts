/**
 * The statistics rounds as secure sums (docs/secagg.md, "Statistics rounds"): each stage's
 * sums laid out as one fixed vector both sides build from what they already share (the
 * schema, the published feature space and prior), so the coordinator decodes only the
 * federation's totals. Stage 1: rows, (pattern, label) counts, numeric sums and a hashed
 * sketch of the undeclared category values; the vocabulary is then agreed by a thresholded
 * count (names proposed only for heavy sketch buckets, then counted exactly); stage 2: class
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

type Values = Record<string, number[]>;
type Sums = Record<string, Float64Array>;

const numericFeatures = (s: Schema) => featureList(s).filter((f) => !s.categorical.has(f));
/** Categorical features without declared values: their vocabulary must be agreed from counts. */
export const undeclaredFeatures = (s: Schema) => featureList(s).filter((f) => s.categorical.has(f) && !s.categories.has(f));

/** A pattern ('1101', one character per modality) as an index into the dense pattern vector. */
const patternIndex = (p: string) => Number.parseInt(p, 2);
const patternName = (i: number, modalities: number) => i.toString(2).padStart(modalities, '0');

const valueDigest = (session: string, feature: string, value: string) => createHash('sha256').update(`${session}\u0000${feature}\u0000${value}`).digest();

/** Which bucket a category value falls in: keyed by the session, so collisions differ between runs. */
export function sketchBucket(session: string, feature: string, value: string): number {
  return valueDigest(session, feature, value).readUInt32BE(0) % SKETCH_BUCKETS;
}

/** Which of a heavy bucket's `slots` name slots a value takes: other bits of the same digest, so independent of its bucket. */
export function nameSlot(session: string, feature: string, value: string, slots: number): number {
  return valueDigest(session, feature, value).readUInt32BE(4) % slots;
}

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

// ---- the vocabulary: heavy buckets, names, exact counts ----

/** Per feature, the buckets holding at least `minCount` rows: only values there can reach the threshold. */
export function heavyBuckets(sketch: Record<string, number[]>, minCount: number): Record<string, number[]> {
  const out: Record<string, number[]> = {};
  for (const [f, b] of Object.entries(sketch)) out[f] = b.flatMap((n, i) => (n >= minCount ? [i] : []));
  return out;
}

/**
 * Longest category value the names sum carries: a longer one is never named and folds into
 * "other" (a schema's category codes are short; free text this long is not a category).
 */
export const MAX_NAME_CHARS = 64;
const MAX_CODE_POINT = 0x10ffff;
/** Names are checked by a small hash summed beside them: two sites with different values in one bucket do not decode. */
const CHECK_MOD = 65_521;
const nameCheck = (v: string) => createHash('sha256').update(v).digest().readUInt32BE(0) % CHECK_MOD;

/** Slots per heavy bucket, at most: two values in one bucket meet in one slot about 1 in 64 (1 in 262,144 per pair of values). */
export const MAX_NAME_SLOTS = 64;
/** Ring words of the slot-count vector (4 MiB a site): with many heavy buckets each gets fewer slots, at least one. */
const SLOT_WORD_BUDGET = 1 << 20;

interface Slot {
  feature: string;
  bucket: number;
  slot: number;
}
/** Heavy slots per feature, as the names task lists them: [bucket, slot] pairs. */
export type SlotList = Record<string, [number, number][]>;

/** Slots per heavy bucket, from the number of heavy buckets: both sides derive it from the task's bucket list. */
function slotsPerBucket(schema: Schema, heavy: Record<string, number[]>): number {
  const buckets = undeclaredFeatures(schema).reduce((a, f) => a + new Set(heavy[f] ?? []).size, 0);
  return Math.max(1, Math.min(MAX_NAME_SLOTS, Math.floor(SLOT_WORD_BUDGET / Math.max(1, buckets))));
}

/** Every slot of every heavy bucket, in schema order, bucket by bucket: the slot-count vector's order. */
function allSlots(schema: Schema, heavy: Record<string, number[]>): Slot[] {
  const per = slotsPerBucket(schema, heavy);
  return undeclaredFeatures(schema).flatMap((feature) =>
    [...new Set(heavy[feature] ?? [])].sort((x, y) => x - y).flatMap((bucket) => Array.from({ length: per }, (_, slot) => ({ feature, bucket, slot }))),
  );
}

/** The listed slots, in schema order, sorted: the names vector's order. */
function listedSlots(schema: Schema, slots: SlotList): Slot[] {
  return undeclaredFeatures(schema).flatMap((feature) =>
    [...new Map((slots[feature] ?? []).map(([bucket, slot]) => [`${bucket}/${slot}`, { feature, bucket, slot }])).values()].sort((a, b) => a.bucket - b.bucket || a.slot - b.slot),
  );
}

/** Per feature, each of this site's values by its (bucket, slot) key, with its rows; the most counted value first where two share one. */
function valuesBySlot(schema: Schema, session: string, stats: FeatureStats, heavy: Record<string, number[]>): Map<string, { value: string; rows: number }[]> {
  const per = slotsPerBucket(schema, heavy);
  const out = new Map<string, { value: string; rows: number }[]>();
  for (const feature of undeclaredFeatures(schema)) {
    if (!(heavy[feature]?.length)) continue;
    const counts = stats.categories[feature] ?? {};
    const ranked = Object.keys(counts).sort((x, y) => counts[y]! - counts[x]! || (x < y ? -1 : x > y ? 1 : 0));
    for (const value of ranked) {
      const key = `${feature}\u0000${sketchBucket(session, feature, value)}\u0000${nameSlot(session, feature, value, per)}`;
      (out.get(key) ?? out.set(key, []).get(key)!).push({ value, rows: counts[value]! });
    }
  }
  return out;
}
const slotKey = (s: Slot) => `${s.feature}\u0000${s.bucket}\u0000${s.slot}`;

/**
 * The slot round as a secure sum: every heavy bucket split into slots by a second hash of
 * the value, and per slot the rows this site holds there. Like the sketch, it gives the
 * coordinator federation totals per hash cell, never a name; only slots that reach the
 * minimum are then named, so a rare value is named only where it shares its bucket and
 * its slot with values as many as the minimum.
 */
export function slotCountsLayout(schema: Schema, heavy: Record<string, number[]>, c: SecAggConfig, maxSites: number): VectorLayout {
  return new VectorLayout([{ name: 'slotRows', length: allSlots(schema, heavy).length, kind: 'count', bound: c.maxExamples }], maxSites);
}

export function slotCountsValues(schema: Schema, session: string, stats: FeatureStats, heavy: Record<string, number[]>): Values {
  const by = valuesBySlot(schema, session, stats, heavy);
  return { slotRows: allSlots(schema, heavy).map((s) => (by.get(slotKey(s)) ?? []).reduce((a, v) => a + v.rows, 0)) };
}

/** The slots holding at least `minCount` rows across the federation: only values there can reach the minimum. */
export function heavySlots(schema: Schema, heavy: Record<string, number[]>, sums: Sums, minCount: number): SlotList {
  const out: SlotList = {};
  allSlots(schema, heavy).forEach((s, i) => {
    if (sums.slotRows![i]! >= minCount) (out[s.feature] ??= []).push([s.bucket, s.slot]);
  });
  return out;
}

/**
 * The names round as a secure sum: per heavy slot, how many sites hold a value there, the
 * code points of that value (summed: divided by the holders, they spell it when every
 * holder has the same value) and a check. The coordinator learns each name in a heavy
 * slot and how many sites hold it, never which sites.
 */
export function namesLayout(schema: Schema, slots: SlotList, maxSites: number): VectorLayout {
  const k = listedSlots(schema, slots).length;
  return new VectorLayout(
    [
      { name: 'holders', length: k, kind: 'count', bound: 1 },
      { name: 'chars', length: k * MAX_NAME_CHARS, kind: 'count', bound: MAX_CODE_POINT },
      { name: 'check', length: k, kind: 'count', bound: CHECK_MOD - 1 },
    ],
    maxSites,
  );
}

/**
 * This site's names vector: per heavy slot its value there. Should two of its own share a
 * slot, the one with the most rows (then the first in order): that is the value likeliest
 * to have made the slot heavy, and a rare one sent instead would fold it.
 */
export function namesValues(schema: Schema, session: string, stats: FeatureStats, heavy: Record<string, number[]>, slots: SlotList): Values {
  const list = listedSlots(schema, slots);
  const holders = new Array<number>(list.length).fill(0);
  const chars = new Array<number>(list.length * MAX_NAME_CHARS).fill(0);
  const check = new Array<number>(list.length).fill(0);
  const by = valuesBySlot(schema, session, stats, heavy);
  list.forEach((s, i) => {
    const v = (by.get(slotKey(s)) ?? []).find((x) => [...x.value].length <= MAX_NAME_CHARS && !x.value.includes('\u0000'))?.value;
    if (v === undefined) return;
    holders[i] = 1;
    [...v].forEach((c, j) => (chars[i * MAX_NAME_CHARS + j] = c.codePointAt(0)!));
    check[i] = nameCheck(v);
  });
  return { holders, chars, check };
}

/**
 * The names the sum spells, per feature, and per feature how many slots held values their
 * holders disagree on (two values in one bucket and slot): those name nothing and fold.
 */
export function namesFromSum(schema: Schema, session: string, heavy: Record<string, number[]>, slots: SlotList, sums: Sums): { names: Record<string, string[]>; unresolved: Record<string, number> } {
  const names: Record<string, string[]> = Object.fromEntries(undeclaredFeatures(schema).map((f) => [f, [] as string[]]));
  const unresolved: Record<string, number> = {};
  const per = slotsPerBucket(schema, heavy);
  listedSlots(schema, slots).forEach(({ feature, bucket, slot }, i) => {
    const h = sums.holders![i]!;
    if (h === 0) return;
    const name = spelled(sums, i, h);
    if (name === undefined || sums.check![i] !== h * nameCheck(name) || sketchBucket(session, feature, name) !== bucket || nameSlot(session, feature, name, per) !== slot) {
      unresolved[feature] = (unresolved[feature] ?? 0) + 1;
      return;
    }
    names[feature]!.push(name);
  });
  for (const f of Object.keys(names)) names[f]!.sort();
  return { names, unresolved };
}

/**
 * Per feature, the heavy slots whose rows beyond their counted names still reach the
 * minimum: a value that may have folded (two sites' values met there, or every site named
 * another value of the slot), which no name round shows. Stage 6's rows against stage 5's counts.
 */
export function slotsShortOfNames(
  schema: Schema,
  session: string,
  heavy: Record<string, number[]>,
  slotSums: Sums,
  categories: FeatureStats['categories'],
  minCount: number,
): Record<string, number> {
  const per = slotsPerBucket(schema, heavy);
  const named = new Map<string, number>();
  for (const [feature, counts] of Object.entries(categories))
    for (const [value, n] of Object.entries(counts)) {
      const key = slotKey({ feature, bucket: sketchBucket(session, feature, value), slot: nameSlot(session, feature, value, per) });
      named.set(key, (named.get(key) ?? 0) + n);
    }
  const out: Record<string, number> = {};
  allSlots(schema, heavy).forEach((s, i) => {
    if (slotSums.slotRows![i]! - (named.get(slotKey(s)) ?? 0) >= minCount) out[s.feature] = (out[s.feature] ?? 0) + 1;
  });
  return out;
}

/** Slot i's summed code points divided by its h holders, or undefined where they do not divide (holders disagree). */
function spelled(sums: Sums, i: number, h: number): string | undefined {
  const codes = [...sums.chars!.subarray(i * MAX_NAME_CHARS, (i + 1) * MAX_NAME_CHARS)];
  if (codes.some((c) => c % h !== 0 || c / h > MAX_CODE_POINT)) return undefined;
  let end = codes.length;
  while (end > 0 && codes[end - 1] === 0) end--;
  return end === 0 ? undefined : String.fromCodePoint(...codes.slice(0, end).map((c) => c / h));
}

export function vocabularyLayout(schema: Schema, candidates: Record<string, string[]>, c: SecAggConfig, maxSites: number): VectorLayout {
  const features = undeclaredFeatures(schema);
  const total = features.reduce((a, f) => a + (candidates[f]?.length ?? 0), 0);
  return new VectorLayout(
    [
      { name: 'candidateCounts', length: total, kind: 'count', bound: c.maxExamples },
      { name: 'observedRows', length: features.length, kind: 'count', bound: c.maxExamples },
    ],
    maxSites,
  );
}

export function vocabularyValues(schema: Schema, candidates: Record<string, string[]>, stats: FeatureStats): Values {
  const features = undeclaredFeatures(schema);
  const counts = features.flatMap((f) => (candidates[f] ?? []).map((v) => stats.categories[f]?.[v] ?? 0));
  const observed = features.map((f) => Object.values(stats.categories[f] ?? {}).reduce((a, n) => a + n, 0));
  return { candidateCounts: counts, observedRows: observed };
}

/** The counted candidates, and per feature the rows whose value was not a candidate (they fold into "other"). */
export function vocabularyFromSum(schema: Schema, candidates: Record<string, string[]>, sums: Sums): Pick<FeatureStats, 'categories' | 'uncounted'> {
  const categories: FeatureStats['categories'] = {};
  const uncounted: Record<string, number> = {};
  let k = 0;
  undeclaredFeatures(schema).forEach((f, j) => {
    const c: Record<string, number> = {};
    for (const v of candidates[f] ?? []) c[v] = sums.candidateCounts![k++]!;
    categories[f] = c;
    uncounted[f] = Math.max(0, sums.observedRows![j]! - Object.values(c).reduce((a, n) => a + n, 0));
  });
  return { categories, uncounted };
}

// ---- stage 2: class moments ----

const momentKind = (f: string): 'count' | 'wide' => (f === 'colCount' || f === 'pairCount' ? 'count' : 'wide');
const momentBound = (f: string, c: SecAggConfig) =>
  momentKind(f) === 'count' ? c.maxExamples : c.maxExamples * (/Sq$|II$|JJ$|IJ$/.test(f) ? MAX_ENCODED_VALUE ** 2 : MAX_ENCODED_VALUE);

/** The pair fields a site's centred moments add (their pair sums of i and j are 0 by construction). */
const WITHIN_FIELDS = ['pairCount', 'pairSumII', 'pairSumJJ', 'pairSumIJ'] as const;

/** Per class: rows, the column and pair sums, then the centred pair sums (`w0.` / `w1.`). */
export function momentsLayout(dim: number, c: SecAggConfig, maxSites: number): VectorLayout {
  const parts: PartSpec[] = [];
  const pairs = pairCountFor(dim);
  for (const k of [0, 1]) {
    parts.push({ name: `c${k}.rows`, length: 1, kind: 'count', bound: c.maxExamples });
    for (const f of [...COL_FIELDS, ...PAIR_FIELDS]) {
      const length = (COL_FIELDS as readonly string[]).includes(f) ? dim : pairs;
      if (length > 0) parts.push({ name: `c${k}.${f}`, length, kind: momentKind(f), bound: momentBound(f, c) });
    }
    if (pairs > 0) for (const f of WITHIN_FIELDS) parts.push({ name: `w${k}.${f}`, length: pairs, kind: momentKind(f), bound: momentBound(f, c) });
  }
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
  return out;
}

export function momentsFromSum(dim: number, sums: Sums): SiteMoments {
  const pooled = emptyClassMoments(dim);
  const withinSite = emptyClassMoments(dim);
  pooled.classes.forEach((cs, k) => {
    cs.rows = sums[`c${k}.rows`]![0]!;
    for (const f of [...COL_FIELDS, ...PAIR_FIELDS]) if (cs[f].length > 0) cs[f] = [...sums[`c${k}.${f}`]!];
    // The centred view keeps the raw column sums (label correlations); its pair sums of i and j stay 0.
    const w = withinSite.classes[k]!;
    w.rows = cs.rows;
    for (const f of COL_FIELDS) w[f] = [...cs[f]];
    for (const f of WITHIN_FIELDS) if (w[f].length > 0) w[f] = [...sums[`w${k}.${f}`]!];
  });
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

/**
 * The secure vocabulary rounds (docs/secagg.md, "Statistics rounds"), after stage 1's
 * sketch: rows per slot of the heavy buckets (stage 6), the names of the heavy slots as a
 * sum of code points (stage 4), then the named candidates' exact counts (stage 5). A value
 * rarer than the minimum is named only where its bucket and slot together reach it.
 */
import { createHash } from 'node:crypto';
import type { Schema } from '../data/schema.ts';
import type { FeatureStats } from '../data/stats.ts';
import type { SecAggConfig } from './config.ts';
import { VectorLayout } from './layout.ts';
import { hashCell, undeclaredFeatures, type Sums, type Values } from './stats-parts.ts';

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
const slotKey = (s: Slot) => `${s.feature}\u0000${s.bucket}\u0000${s.slot}`;
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
      const key = slotKey({ feature, ...hashCell(session, feature, value, per) });
      (out.get(key) ?? out.set(key, []).get(key)!).push({ value, rows: counts[value]! });
    }
  }
  return out;
}

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
    const spelledThere = name !== undefined && slotKey({ feature, ...hashCell(session, feature, name, per) }) === slotKey({ feature, bucket, slot });
    if (!spelledThere || sums.check![i] !== h * nameCheck(name)) {
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
      const key = slotKey({ feature, ...hashCell(session, feature, value, per) });
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

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compileSchema, type Schema } from '../../../shared/data/schema.ts';
import { computeFeatureStats, mergeFeatureStats, type FeatureStats } from '../../../shared/data/stats.ts';
import { countPatternLabels } from '../../../shared/data/patterns.ts';
import { agreeVocabularies } from '../../../shared/data/vocabulary.ts';
import { compileSecAggConfig } from '../../../shared/secagg/config.ts';
import {
  nameSlot,
  sketchBucket,
  summaryFromSum,
  summaryLayout,
  summaryValues,
} from '../../../shared/secagg/stats-parts.ts';
import {
  heavyBuckets,
  heavySlots,
  MAX_NAME_SLOTS,
  namesFromSum,
  namesLayout,
  namesValues,
  slotCountsLayout,
  slotCountsValues,
  slotsShortOfNames,
  vocabularyFromSum,
  vocabularyLayout,
  vocabularyValues,
} from '../../../shared/secagg/vocabulary-parts.ts';
import { decodedSum, STATS_SESSION, statsSchema, statsTable } from './helpers.ts';

const schema = statsSchema;
const config = compileSecAggConfig({});
const SESSION = STATS_SESSION;
const table = statsTable;

const sumOf = decodedSum;

test('the vocabulary by a thresholded count: only values in buckets and slots that reach the minimum are named, and they are then counted exactly', () => {
  const tables = [table(0, 'RARE'), table(1), table(2)];
  const stats = tables.map((t) => computeFeatureStats(schema, t));
  const counts = tables.map((t) => countPatternLabels(t.patterns, t.labels));
  const plain = mergeFeatureStats(stats);
  const s = summaryFromSum(schema, sumOf(summaryLayout(schema, config, 3), stats.map((x, i) => summaryValues(schema, SESSION, x, counts[i]!))));
  // Only values in buckets that reach the minimum may be named, and they are then counted exactly.
  const { names: candidates, unresolved } = nameRounds(schema, SESSION, stats, heavyBuckets(s.sketch, 5), 5);
  assert.deepEqual(unresolved, {});
  assert.deepEqual(candidates.ward, ['A', 'B', 'C'], 'the rare value is never named');
  const vLayout = vocabularyLayout(schema, candidates, config, 3);
  const v = vocabularyFromSum(schema, candidates, sumOf(vLayout, stats.map((x) => vocabularyValues(schema, candidates, x))));
  assert.deepEqual(v.categories.ward, Object.fromEntries(Object.entries(plain.categories.ward!).filter(([k]) => k !== 'RARE')));
  assert.equal(v.uncounted!.ward, 1, 'the rare row is counted, unnamed');
  assert.deepEqual(agreeVocabularies(schema, { ...s.featureStats, ...v }, 5), agreeVocabularies(schema, plain, 5));
});

/** Two values of `feature` under `session` in one bucket: in one name slot too (`sameSlot`), or in two. */
function meeting(session: string, feature: string, sameSlot: boolean, prefix = 'v'): [string, string] {
  const seen = new Map<string, string>();
  for (let i = 0; ; i++) {
    const v = `${prefix}${i}`;
    const b = sketchBucket(session, feature, v);
    const key = sameSlot ? `${b}/${nameSlot(session, feature, v, MAX_NAME_SLOTS)}` : `${b}`;
    const other = seen.get(key);
    if (other && (sameSlot || nameSlot(session, feature, other, MAX_NAME_SLOTS) !== nameSlot(session, feature, v, MAX_NAME_SLOTS))) return [other, v];
    if (!other) seen.set(key, v);
  }
}

/** Stages 6, 4 and 5 over these sites' stats: rows per slot of the heavy buckets, the names of the slots with `minCount` rows, their counts. */
function nameRounds(sch: Schema, session: string, stats: FeatureStats[], heavy: Record<string, number[]>, minCount: number) {
  const counts = sumOf(slotCountsLayout(sch, heavy, config, stats.length), stats.map((x) => slotCountsValues(sch, session, x, heavy)));
  const slots = heavySlots(sch, heavy, counts, minCount);
  const sums = sumOf(namesLayout(sch, slots, stats.length), stats.map((x) => namesValues(sch, session, x, heavy, slots)));
  const named = namesFromSum(sch, session, heavy, slots, sums);
  const v = vocabularyFromSum(sch, named.names, sumOf(vocabularyLayout(sch, named.names, config, stats.length), stats.map((x) => vocabularyValues(sch, named.names, x))));
  return { ...named, slots, short: slotsShortOfNames(sch, session, heavy, counts, v.categories, minCount) };
}

const wardSite = (c: Record<string, number>): FeatureStats => ({ n: Object.values(c).reduce((a, k) => a + k, 0), numeric: {}, categories: { ward: c } });

test('the names sum spells a value its holders agree on; values sharing a bucket are each named in their own slot; two sites\' values in one slot name nothing', () => {
  const bucketOf = (v: string) => sketchBucket(SESSION, 'ward', v);
  const shared = meeting(SESSION, 'ward', false);
  const clash = meeting(SESSION, 'ward', true);
  const heavy = { ward: [bucketOf('Ünïcödé ✓'), bucketOf(shared[0]), bucketOf(clash[0])] };
  const run = (sites: Record<string, number>[]) => nameRounds(schema, SESSION, sites.map(wardSite), heavy, 5);
  assert.deepEqual(run([{ 'Ünïcödé ✓': 2 }, { 'Ünïcödé ✓': 2 }, { 'Ünïcödé ✓': 2 }]).names.ward, ['Ünïcödé ✓'], 'three holders of one value');
  assert.deepEqual(run([{ [shared[0]]: 5 }, { [shared[1]]: 5 }]).names.ward, [...shared].sort(), 'two values in one bucket, each in its own slot: both named');
  const c = run([{ [clash[0]]: 5 }, { [clash[1]]: 5 }]);
  assert.deepEqual([c.names.ward, c.unresolved, c.short], [[], { ward: 1 }, { ward: 1 }], 'one slot, two sites\' values: nothing named, and counted');
  // Both values at both sites, the same one the more counted at each: every site names it, nothing disagrees, and only the slot's rows show the other.
  const hidden = run([{ [clash[0]]: 6, [clash[1]]: 5 }, { [clash[0]]: 4, [clash[1]]: 3 }]);
  assert.deepEqual([hidden.names.ward, hidden.unresolved, hidden.short], [[clash[0]], {}, { ward: 1 }]);
  assert.deepEqual(run([{ [shared[0]]: 5 }, { [shared[1]]: 5 }]).short, {}, 'every value named: no slot short');
  assert.deepEqual(run([{ A: 9 }]).names.ward, [], 'a value in no listed bucket is not named');
});

test('names: a rare value in a heavy bucket stays unnamed (its slot is light), at its own site or another', () => {
  const [common, rare] = meeting(SESSION, 'ward', false, 'c');
  const slotOf = (v: string) => nameSlot(SESSION, 'ward', v, MAX_NAME_SLOTS);
  let rare2 = '';
  for (let i = 0; rare2 === ''; i++) {
    const v = `z${i}`;
    if (sketchBucket(SESSION, 'ward', v) === sketchBucket(SESSION, 'ward', common) && ![common, rare].map(slotOf).includes(slotOf(v))) rare2 = v;
  }
  const heavy = { ward: [sketchBucket(SESSION, 'ward', common)] };
  const r = nameRounds(schema, SESSION, [wardSite({ [common]: 9, [rare]: 1 }), wardSite({ [rare2]: 1 }), wardSite({ [common]: 3 })], heavy, 5);
  assert.deepEqual(r.names.ward, [common]);
  assert.deepEqual(r.slots.ward!.length, 1, 'only the common value\'s slot is heavy');
});


test('names: a site\'s own values sharing a heavy bucket are each named; two in one slot, its most counted, so a rare value does not fold a common one', () => {
  const one = compileSchema({ label: { column: 'y', threshold: 0 }, modalities: { m: ['c'] }, categorical: ['c'] }, 'inline');
  const session = 'collide';
  const site = (c: Record<string, number>): FeatureStats => ({ n: 41, numeric: {}, categories: { c } });
  const [a, b] = meeting(session, 'c', false, 'ward-');
  assert.deepEqual(nameRounds(one, session, [site({ [a]: 30, [b]: 20 })], { c: [sketchBucket(session, 'c', a)] }, 5).names, { c: [a, b].sort() });
  const [common, rare] = meeting(session, 'c', true, 'x');
  const r = nameRounds(one, session, [site({ [rare]: 1, [common]: 40 }), site({ [common]: 30 })], { c: [sketchBucket(session, 'c', common)] }, 5);
  assert.deepEqual([r.names, r.unresolved], [{ c: [common] }, {}]);
});

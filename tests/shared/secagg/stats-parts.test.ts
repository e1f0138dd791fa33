import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compileSchema, type Schema } from '../../../shared/data/schema.ts';
import { computeFeatureStats, mergeFeatureStats, type FeatureStats } from '../../../shared/data/stats.ts';
import { countPatternLabels, sumLabelCounts } from '../../../shared/data/patterns.ts';
import { parseSiteTable } from '../../../shared/data/table.ts';
import { agreeVocabularies } from '../../../shared/data/vocabulary.ts';
import { centreWithinSite, mergeClassMoments, siteMoments, type ClassMoments } from '../../../shared/data/class-moments.ts';
import type { EncodedData } from '../../../shared/data/encode.ts';
import { Rng } from '../../../shared/rng.ts';
import { compileSecAggConfig } from '../../../shared/secagg/config.ts';
import {
  cellList,
  MAX_SECURE_CELL_WORDS,
  momentsFromSum,
  momentsLayout,
  momentsValues,
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
import { decodedSum } from './helpers.ts';

const schema = compileSchema({ label: { column: 'y', threshold: 0 }, modalities: { a: ['x'], b: ['ward'] }, categorical: ['ward'] }, 'inline');
const config = compileSecAggConfig({});
const SESSION = 'f/0/stats-1/abc';

function table(k: number, rare?: string) {
  const lines = ['x,ward,y'];
  for (let i = 0; i < 40; i++) lines.push(`${i % 4 === 0 ? '' : ((i * 7 + k) % 9) * 31.5},${rare && i === 5 ? rare : 'ABC'[(i + k) % 3]},${(i + k) % 2}`);
  return parseSiteTable(schema, lines.join('\n') + '\n', `s${k}.csv`);
}

const sumOf = decodedSum;

test('the stage-1 sum gives the plain merge: rows, numeric sums, (pattern, label) counts; the vocabulary by a thresholded count', () => {
  const tables = [table(0, 'RARE'), table(1), table(2)];
  const stats = tables.map((t) => computeFeatureStats(schema, t));
  const counts = tables.map((t) => countPatternLabels(t.patterns, t.labels));
  const plain = mergeFeatureStats(stats);
  const layout = summaryLayout(schema, config, 3);
  const s = summaryFromSum(schema, sumOf(layout, stats.map((x, i) => summaryValues(schema, SESSION, x, counts[i]!))));
  assert.equal(s.featureStats.n, plain.n);
  assert.equal(s.featureStats.numeric.x!.count, plain.numeric.x!.count);
  assert.ok(Math.abs(s.featureStats.numeric.x!.sum - plain.numeric.x!.sum) <= layout.errorBound('numSum', 3));
  assert.ok(Math.abs(s.featureStats.numeric.x!.sumSq - plain.numeric.x!.sumSq) <= layout.errorBound('numSumSq', 3));
  assert.deepEqual(s.patternCounts, sumLabelCounts(counts));

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

test('cells span every pattern while that fits, else the published ones, and refuse a vector past the limit', () => {
  const numeric = { feature: 'x', kind: 'numeric' as const, columns: [0] };
  const all = cellList(2, ['11'], [numeric]);
  assert.equal(all.length, 4 * 23, 'every pattern x (absent + 22 bins)');
  assert.ok(all.includes('00|a') && all.includes('11|21'));
  const many = Array.from({ length: 5 }, (_, i) => ({ ...numeric, feature: `f${i}`, columns: [i] }));
  assert.throws(() => cellList(14, ['1'.repeat(14)], many), new RegExp(`at most ${MAX_SECURE_CELL_WORDS / 2}`));
  assert.equal(cellList(14, ['1'.repeat(14)], many.slice(0, 2)).length, 23 * 23, 'published patterns only, where all would not fit');
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

test('stage 2 sums both views: the raw class moments and the site-centred ones, as the plain merge gives them', () => {
  const dim = 3;
  // Each site's readings shifted by its own offset: the two views differ.
  const site = (n: number, seed: number, offset: number): EncodedData => {
    const rng = new Rng(seed);
    const y = Float32Array.from({ length: n }, () => (rng.next() < 0.4 ? 1 : 0));
    const x = Float32Array.from({ length: n * dim }, (_, k) => rng.normal() + offset + y[Math.floor(k / dim)]!);
    const observed = Float32Array.from({ length: n * dim }, () => (rng.next() < 0.8 ? 1 : 0));
    return { n, dim, x, observed, present: new Float32Array(n).fill(1), y, patterns: new Array<string>(n).fill('1') };
  };
  const data = [site(70, 1, -2), site(50, 2, 0), site(90, 3, 3)];
  const layout = momentsLayout(dim, config, 3);
  const got = momentsFromSum(dim, sumOf(layout, data.map((d) => momentsValues(siteMoments(d)))));
  const want = { pooled: mergeClassMoments(data.map((d) => siteMoments(d).pooled)), withinSite: mergeClassMoments(data.map((d) => centreWithinSite(siteMoments(d).pooled))) };
  const close = (a: ClassMoments, b: ClassMoments, what: string) =>
    a.classes.forEach((c, k) => {
      assert.equal(c.rows, b.classes[k]!.rows);
      for (const f of ['colCount', 'colSum', 'colSumSq', 'pairCount', 'pairSumI', 'pairSumJ', 'pairSumII', 'pairSumJJ', 'pairSumIJ'] as const)
        c[f].forEach((v, i) => assert.ok(Math.abs(v - b.classes[k]![f][i]!) <= 1e-3, `${what} class ${k} ${f}[${i}]: ${v} vs ${b.classes[k]![f][i]}`));
    });
  close(got.pooled, want.pooled, 'pooled');
  close(got.withinSite, want.withinSite, 'within site');
  const c = got.pooled.classes[0];
  const pooledScatter = c.pairSumII[0]! - c.pairSumI[0]! ** 2 / c.pairCount[0]!;
  assert.ok(pooledScatter > got.withinSite.classes[0].pairSumII[0]! + 100, `the offsets separate the two views: ${pooledScatter} vs ${got.withinSite.classes[0].pairSumII[0]}`);
});

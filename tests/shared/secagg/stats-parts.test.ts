import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compileSchema } from '../../../shared/data/schema.ts';
import { computeFeatureStats, mergeFeatureStats } from '../../../shared/data/stats.ts';
import { countPatternLabels, sumLabelCounts } from '../../../shared/data/patterns.ts';
import { parseSiteTable } from '../../../shared/data/table.ts';
import { agreeVocabularies } from '../../../shared/data/vocabulary.ts';
import { compileSecAggConfig } from '../../../shared/secagg/config.ts';
import {
  cellList,
  heavyBuckets,
  MAX_SECURE_CELL_WORDS,
  namesFromSum,
  namesLayout,
  namesValues,
  sketchBucket,
  summaryFromSum,
  summaryLayout,
  summaryValues,
  vocabularyFromSum,
  vocabularyLayout,
  vocabularyValues,
} from '../../../shared/secagg/stats-parts.ts';
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
  const heavy = heavyBuckets(s.sketch, 5);
  const nLayout = namesLayout(schema, heavy, 3);
  const candidates = namesFromSum(schema, SESSION, heavy, sumOf(nLayout, stats.map((x) => namesValues(schema, SESSION, x, heavy))));
  assert.deepEqual(candidates.ward, ['A', 'B', 'C'], 'the rare value is never named');
  const vLayout = vocabularyLayout(schema, candidates, config, 3);
  const v = vocabularyFromSum(schema, candidates, sumOf(vLayout, stats.map((x) => vocabularyValues(schema, candidates, x))));
  assert.deepEqual(v.categories.ward, Object.fromEntries(Object.entries(plain.categories.ward!).filter(([k]) => k !== 'RARE')));
  assert.equal(v.uncounted!.ward, 1, 'the rare row is counted, unnamed');
  assert.deepEqual(agreeVocabularies(schema, { ...s.featureStats, ...v }, 5), agreeVocabularies(schema, plain, 5));
});

test('the names sum spells a value its holders agree on, and names nothing where two sites\' values share a bucket', () => {
  const one = (ward: string) => computeFeatureStats(schema, parseSiteTable(schema, `x,ward,y\n1,${ward},0\n2,${ward},1\n`, 's.csv'));
  // Two values in one bucket: find a pair under this session.
  const bucketOf = (v: string) => sketchBucket(SESSION, 'ward', v);
  const seen = new Map<number, string>();
  let pair: [string, string] | undefined;
  for (let i = 0; !pair; i++) {
    const v = `v${i}`;
    const other = seen.get(bucketOf(v));
    if (other) pair = [other, v];
    else seen.set(bucketOf(v), v);
  }
  const heavy = { ward: [bucketOf('Ünïcödé ✓'), bucketOf(pair[0])] };
  const layout = namesLayout(schema, heavy, 4);
  const names = (sites: string[]) => namesFromSum(schema, SESSION, heavy, sumOf(layout, sites.map((w) => namesValues(schema, SESSION, one(w), heavy)))).ward;
  assert.deepEqual(names(['Ünïcödé ✓', 'Ünïcödé ✓', 'Ünïcödé ✓']), ['Ünïcödé ✓'], 'three holders of one value');
  assert.deepEqual(names([pair[0], pair[0]]), [pair[0]]);
  assert.deepEqual(names([pair[0], pair[1]]), [], 'a collision between sites decodes to nothing');
  assert.deepEqual(names(['A']), [], 'a value in no listed bucket is not named');
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

test('names: a site whose own values collide in a heavy bucket names its most counted one, so a rare value does not fold a common one', () => {
  const one = compileSchema({ label: { column: 'y', threshold: 0 }, modalities: { m: ['c'] }, categorical: ['c'] }, 'inline');
  const session = 'collide';
  const bucket = sketchBucket(session, 'c', 'ward-Z');
  // A value sorting before 'ward-Z' in the same bucket, held once.
  let rare = '';
  for (let i = 0; rare === ''; i++) if (sketchBucket(session, 'c', `a${i}`) === bucket) rare = `a${i}`;
  const heavy = { c: [bucket] };
  const mine = namesValues(one, session, { n: 41, numeric: {}, categories: { c: { [rare]: 1, 'ward-Z': 40 } } }, heavy);
  const other = namesValues(one, session, { n: 30, numeric: {}, categories: { c: { 'ward-Z': 30 } } }, heavy);
  const sums = Object.fromEntries(['holders', 'chars', 'check'].map((p) => [p, Float64Array.from(mine[p]!, (x, i) => x + other[p]![i]!)]));
  assert.deepEqual(namesFromSum(one, session, heavy, sums), { c: ['ward-Z'] });
});

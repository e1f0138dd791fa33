import assert from 'node:assert/strict';
import { test } from 'node:test';
import { computeFeatureStats, mergeFeatureStats } from '../../../shared/data/stats.ts';
import { countPatternLabels, sumLabelCounts } from '../../../shared/data/patterns.ts';
import { centreWithinSite, checkCentred, mergeClassMoments, siteMoments, type ClassMoments } from '../../../shared/data/class-moments.ts';
import type { EncodedData } from '../../../shared/data/encode.ts';
import { Rng } from '../../../shared/rng.ts';
import { compileSecAggConfig } from '../../../shared/secagg/config.ts';
import {
  cellList,
  MAX_SECURE_CELL_WORDS,
  momentsFromSum,
  momentsLayout,
  momentsValues,
  summaryFromSum,
  summaryLayout,
  summaryValues,
} from '../../../shared/secagg/stats-parts.ts';
import { decodedSum, STATS_SESSION, statsSchema, statsTable } from './helpers.ts';

const schema = statsSchema;
const config = compileSecAggConfig({});
const SESSION = STATS_SESSION;
const table = statsTable;

const sumOf = decodedSum;

test('the stage-1 sum gives the plain merge: rows, numeric sums, (pattern, label) counts', () => {
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

test('stage 2 sums both views: the raw class moments and the site-centred ones with their label scatter, as the plain merge gives them, and the sum passes the centred checks', () => {
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
  got.withinSite.labelScatter!.forEach((v, j) => assert.ok(Math.abs(v - want.withinSite.labelScatter![j]!) <= 1e-3, `label scatter [${j}]: ${v} vs ${want.withinSite.labelScatter![j]}`));
  checkCentred(got.withinSite, undefined, 'the secure sum');
  const c = got.pooled.classes[0];
  const pooledScatter = c.pairSumII[0]! - c.pairSumI[0]! ** 2 / c.pairCount[0]!;
  assert.ok(pooledScatter > got.withinSite.classes[0].pairSumII[0]! + 100, `the offsets separate the two views: ${pooledScatter} vs ${got.withinSite.classes[0].pairSumII[0]}`);
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { RoundCollector } from '../../coordinator/collector.ts';
import { checkScaling, plainStatistics } from '../../coordinator/statistics-rounds.ts';
import type { FeatureSpace } from '../../shared/data/feature-space.ts';

const space = (mean: number, std: number): FeatureSpace => ({
  modalities: [{ name: 'm', start: 0, end: 2 }],
  columns: [
    { feature: 'sex', featureIndex: 0, kind: 'category', category: 'm', mean: 0, std: 1 },
    { feature: 'age', featureIndex: 1, kind: 'numeric', mean, std },
  ],
});

test('a feature space is published only with every mean and SD finite in float32, in which the sites train', () => {
  const ok = space(54.4, 9.1);
  assert.equal(checkScaling(ok), ok);
  checkScaling(space(-1e15, 1e15));
  // A sum of "abc" gave a NaN mean; sums of 1e300 an SD finite in float64 but not in float32.
  assert.throws(() => checkScaling(space(NaN, 1)), /^Error: statistics round: feature "age" would be scaled with mean NaN and SD 1, not finite in float32: the feature space is not published/);
  assert.throws(() => checkScaling(space(1, 1e150)), /feature "age" would be scaled with mean 1 and SD 1e\+150/);
  assert.throws(() => checkScaling(space(1, 0)), /SD 0/);
});

test("every statistics stage needs the quorum's answers: the decision's moments and the balancing's counts are never taken from fewer sites", async () => {
  // An audit's mutants dropped the quorum of stages 2 and 3 and every test passed: the decision would rest on one hospital's rows.
  const quorum = { minSitesToStart: 3, minSitesToAccept: 3, rejoinGraceMs: 0, roundDeadlineMs: 1000, startTimeoutMs: 1000, waitForAllMs: 0 };
  const collector = (answered: string[], failed: string[]) =>
    ({
      results: new Map(answered.map((s) => [s, { classMoments: {}, cellCounts: {}, featureStats: {}, patternCounts: {} }])),
      failures: new Map(failed.map((s) => [s, { site: s, reason: 'offline when the round started' }])),
    }) as unknown as RoundCollector;
  const one = plainStatistics({ quorum }, async () => collector(['a'], ['b', 'c']));
  const space = { modalities: [], columns: [] } as FeatureSpace;
  await assert.rejects(one.moments(space), /^Error: class-moment round: .*1 .*3/);
  await assert.rejects(one.cells(space, ['r'], { version: 1, patterns: [] } as never), /^Error: outcome-balancing round: .*1 .*3/);
  await assert.rejects(one.summary(), /^Error: statistics round: .*1 .*3/);
  const all = plainStatistics({ quorum }, async () => collector(['a', 'b', 'c'], []));
  assert.equal((await all.moments(space)).length, 3);
  assert.equal((await all.cells(space, ['r'], { version: 1, patterns: [] } as never)).length, 3);
});

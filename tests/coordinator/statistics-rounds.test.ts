import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkScaling } from '../../coordinator/statistics-rounds.ts';
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

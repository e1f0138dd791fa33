// The coordinator's readiness after the statistics round: the summary it publishes is
// the one built from the summed statistics, and each site's verdict is the check on
// the sums that site sent (the four heart-disease hospitals).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { derivePrior, DEFAULT_MIN_CELL_COUNT, sumPatternCounts } from '../../coordinator/priors.ts';
import { federationReadiness } from '../../coordinator/readiness.ts';
import { buildFeatureSpace } from '../../shared/data/feature-space.ts';
import { mergeFeatureStats } from '../../shared/data/stats.ts';
import { checkReadiness } from '../../shared/readiness/check.ts';
import { heartSums, schema, summaryOf } from '../shared/readiness/heart.ts';

test('the published summary and one verdict per site, from the sites\' sums', () => {
  const sums = heartSums();
  const all = Object.values(sums);
  const featureStats = mergeFeatureStats(all.map((s) => s.featureStats));
  const patternCounts = sumPatternCounts(all.map((s) => s.patternCounts));
  const r = federationReadiness(
    { federation: 'heart', schema, space: buildFeatureSpace(schema, featureStats), prior: derivePrior(patternCounts, DEFAULT_MIN_CELL_COUNT, 1), featureStats, patternCounts },
    new Map(Object.entries(sums)),
  );
  assert.deepEqual(r.summary, summaryOf(all));
  assert.deepEqual(Object.keys(r.sites), Object.keys(sums));
  for (const [name, s] of Object.entries(sums)) assert.deepEqual(r.sites[name], checkReadiness(s, r.summary), name);
  assert.equal(r.sites.cleveland!.verdict, 'ready');
  assert.equal(r.sites.switzerland!.verdict, 'ready-with-warnings');
});

// The coordinator's readiness after the statistics round: the summary it publishes is
// the one built from the summed statistics, and each site's verdict is the check on
// the sums that site sent (the four heart-disease hospitals).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { derivePrior, DEFAULT_MIN_CELL_COUNT, sumPatternCounts } from '../../coordinator/priors.ts';
import { federationReadiness, readinessWarnings } from '../../coordinator/readiness.ts';
import { buildFeatureSpace } from '../../shared/data/feature-space.ts';
import { mergeFeatureStats } from '../../shared/data/stats.ts';
import { checkReadiness } from '../../shared/readiness/check.ts';
import { heartSums, schema, summaryOf } from '../shared/readiness/heart.ts';

/** The coordinator's readiness from these sites' sums, as agreeStatistics computes it. */
function readinessOf(sums: ReturnType<typeof heartSums>) {
  const all = Object.values(sums);
  const featureStats = mergeFeatureStats(all.map((s) => s.featureStats));
  const patternCounts = sumPatternCounts(all.map((s) => s.patternCounts));
  return federationReadiness(
    { federation: 'heart', schema, space: buildFeatureSpace(schema, featureStats), prior: derivePrior(patternCounts, DEFAULT_MIN_CELL_COUNT, 1), featureStats, patternCounts },
    new Map(Object.entries(sums)),
  );
}

test('the published summary and one verdict per site, from the sites\' sums', () => {
  const sums = heartSums();
  const r = readinessOf(sums);
  assert.deepEqual(r.summary, summaryOf(Object.values(sums)));
  assert.deepEqual(Object.keys(r.sites), Object.keys(sums));
  // Counts under the prior's minimum cell count are not said exactly for a named site (Switzerland's 1-row pattern).
  for (const [name, s] of Object.entries(sums)) assert.deepEqual(r.sites[name], checkReadiness(s, r.summary, undefined, { smallCell: r.summary.prior.minCount }), name);
  assert.match(JSON.stringify(r.sites.switzerland), /pattern 1111001 \(missing: exercise \+ fluoroscopy\): fewer than 5 rows;/);
  assert.doesNotMatch(JSON.stringify(r.sites.switzerland), /1 row/);
  assert.equal(r.sites.cleveland!.verdict, 'ready');
  assert.equal(r.sites.switzerland!.verdict, 'ready-with-warnings');
});

test('a site not ready (cholesterol in mmol/L) is a results warning naming it and what to check; a ready one, or one with warnings, is not', () => {
  const sums = heartSums();
  // Hungary's cholesterol as if recorded in mmol/L (mg/dL / 38.67): its mean and SD fall far from the federation's.
  const chol = sums.hungary!.featureStats.numeric.chol!;
  sums.hungary!.featureStats.numeric.chol = { ...chol, sum: chol.sum / 38.67, sumSq: chol.sumSq / 38.67 ** 2 };
  const r = readinessOf(sums);
  const warnings = readinessWarnings(r.sites);
  assert.equal(warnings.length, 1, warnings.join('\n'));
  assert.match(warnings[0]!, /^site "hungary" is unlike the federation in the statistics it sent \(chol: site mean [\d.]+ vs federation [\d.]+ .*severe: check its unit and coding.*\); it trained as it is: check its units and coding$/);
  assert.deepEqual(readinessWarnings(undefined), [], 'secure runs and older state carry no verdicts');
});

test('a training site coding a category another way than the other training sites (Hungary\'s sex as M/F beside 0/1) is not ready, naming the values; the federation\'s vocabulary alone held its coding', () => {
  const sums = heartSums();
  // No heart-disease site codes a column unlike the others.
  for (const r of Object.values(readinessOf(sums).sites)) assert.ok(!r.reasons.some((x) => x.kind === 'foreign-coding'), JSON.stringify(r.reasons));
  const sex = sums.hungary!.featureStats.categories.sex!;
  sums.hungary!.featureStats.categories.sex = { M: sex['1'] ?? 0, F: sex['0'] ?? 0 };
  const r = readinessOf(sums);
  const reason = r.sites.hungary!.reasons.find((x) => x.kind === 'foreign-coding');
  assert.ok(reason, JSON.stringify(r.sites.hungary));
  assert.match(reason.message, /^sex: \d+ of the site's \d+ values are ones no other training site holds \("M" \(\d+\)(, "F" \(\d+\))?; theirs: "0", "1"\): the same categories coded another way, most likely/);
  assert.equal(r.sites.hungary!.verdict, 'not-ready');
  // Before: M and F were common enough to be in the vocabulary, so nothing was said.
  assert.ok(r.summary.categorical.sex!.includes('M'));
  assert.match(readinessWarnings(r.sites).join('\n'), /site "hungary" is unlike the federation in the statistics it sent \(sex: /);
});

test('a site whose statistics alone widen a column\'s scale (sums within the bounds, values near 1e14) is named; the honest sites are no longer blamed', () => {
  const sums = heartSums();
  const chol = sums['va-long_beach']!.featureStats.numeric.chol!;
  sums['va-long_beach']!.featureStats.numeric.chol = { count: chol.count, sum: 0, sumSq: chol.count * 1e28 };
  const r = readinessOf(sums);
  const setter = r.sites['va-long_beach']!.reasons.find((x) => x.kind === 'sets-scale');
  assert.ok(setter, JSON.stringify(r.sites.va));
  assert.equal(setter.severity, 'blocking');
  assert.match(setter.message, /^chol: the federation's SD [\d.e+]+ is [\d.e+]+x what the other sites' values give \([\d.]+\): this site's statistics alone set the column's scale/);
  assert.equal(r.sites['va-long_beach']!.verdict, 'not-ready');
  for (const site of ['cleveland', 'hungary', 'switzerland']) {
    const report = r.sites[site]!;
    assert.notEqual(report.verdict, 'not-ready', `${site}: ${JSON.stringify(report.reasons)}`);
    const chol = report.reasons.filter((x) => x.subject === 'chol' && (x.kind === 'sd-ratio' || x.kind === 'shifted-mean'));
    for (const x of chol) assert.match(x.message, /set by site "va-long_beach" \(see its readiness\), not by this site$/);
  }
  assert.deepEqual(readinessWarnings(r.sites).map((w) => w.slice(0, 21)), ['site "va-long_beach" ']);
  // Honest data: no site sets a scale, the mmol/L site included (its SD widens the federation's far less).
  for (const honest of [heartSums(), (() => {
    const s = heartSums();
    const c = s.hungary!.featureStats.numeric.chol!;
    s.hungary!.featureStats.numeric.chol = { ...c, sum: c.sum / 38.67, sumSq: c.sumSq / 38.67 ** 2 };
    return s;
  })()])
    for (const report of Object.values(readinessOf(honest).sites)) assert.ok(!report.reasons.some((x) => x.kind === 'sets-scale'), JSON.stringify(report.reasons));
});

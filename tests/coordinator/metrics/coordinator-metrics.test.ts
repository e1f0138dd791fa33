// The coordinator's metrics that the alert rules (deploy/prometheus/alerts.yml) read: a site
// left out of training, whether a finished run was complete, the rounds counter from 0, and
// failure reasons as labels that read without their numbers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { CoordinatorMetrics, reasonLabel, type MetricsSource } from '../../../coordinator/metrics/coordinator-metrics.ts';
import { FEDERATION_STATES } from '../../../shared/federation/state.ts';
import { PROTOCOL_VERSION } from '../../../shared/protocol/messages.ts';
import { FEDCAUSAL_BUILD, FEDCAUSAL_VERSION } from '../../../shared/version.ts';

function source(sites: ReturnType<MetricsSource['sites']>, state = 'training', outcome: () => string | undefined = () => undefined): MetricsSource {
  return { round: () => 2, roundsPlanned: () => 5, state: () => state, sites: () => sites, outcome };
}

async function lines(m: CoordinatorMetrics): Promise<string[]> {
  return (await m.render()).body.split('\n');
}

test('fedcausal_site_left_out: 1 for a site left out of training, 0 for the others, read live', async () => {
  const sites: ReturnType<MetricsSource['sites']> = [{ name: 'cleveland', online: true }, { name: 'va', online: true }];
  const m = new CoordinatorMetrics(source(sites), FEDERATION_STATES);
  let l = await lines(m);
  assert.ok(l.includes('# TYPE fedcausal_site_left_out gauge'));
  assert.ok(l.includes('fedcausal_site_left_out{site="cleveland"} 0'));
  assert.ok(l.includes('fedcausal_site_left_out{site="va"} 0'));
  sites[1]!.leftOut = 'its statistics were not counted (it joined after the statistics rounds)';
  l = await lines(m);
  assert.ok(l.includes('fedcausal_site_left_out{site="va"} 1'), l.join('\n'));
  assert.ok(l.includes('fedcausal_site_left_out{site="cleveland"} 0'));
});

test('fedcausal_run_complete: declared from the start, a sample only once the run has finished', async () => {
  let outcome: string | undefined;
  const m = new CoordinatorMetrics(source([], 'training', () => outcome), FEDERATION_STATES);
  const sample = async () => (await lines(m)).filter((x) => x.startsWith('fedcausal_run_complete'));
  // Declared (the e2e scrape check wants every metric the rules read), but no value yet: not "incomplete".
  assert.ok((await lines(m)).includes('# TYPE fedcausal_run_complete gauge'));
  assert.deepEqual(await sample(), []);
  outcome = 'incomplete';
  assert.deepEqual(await sample(), ['fedcausal_run_complete 0']);
  outcome = 'complete';
  assert.deepEqual(await sample(), ['fedcausal_run_complete 1']);
  // A failed run is no finished one (FedcausalCoordinatorDown covers it): no sample.
  outcome = 'failed';
  assert.deepEqual(await sample(), []);
  // A source without the accessor (an older caller): never a sample.
  const older = new CoordinatorMetrics({ round: () => 1, roundsPlanned: () => 2, state: () => 'finished', sites: () => [] }, FEDERATION_STATES);
  assert.deepEqual((await older.render()).body.split('\n').filter((x) => x.startsWith('fedcausal_run_complete')), []);
});

test('fedcausal_final_auroc and fedcausal_final_site_auroc: no sample before the final evaluation, the final model\'s figures after', async () => {
  let final: ReturnType<NonNullable<MetricsSource['finalEvaluation']>>;
  const m = new CoordinatorMetrics({ ...source([]), finalEvaluation: () => final }, FEDERATION_STATES);
  const sample = async () => (await lines(m)).filter((x) => x.startsWith('fedcausal_final_'));
  assert.ok((await lines(m)).includes('# TYPE fedcausal_final_auroc gauge'));
  assert.deepEqual(await sample(), []);
  final = {
    trainingRounds: 5,
    auroc: 0.85,
    sites: { a: { n: 90, auroc: 0.9, accuracy: 0.8, balancedAccuracy: 0.8, ece: 0.1 }, b: { n: 10, auroc: NaN, accuracy: 1, balancedAccuracy: NaN, ece: 0 } },
    testSites: { t: { n: 40, auroc: 0.7, accuracy: 0.6, balancedAccuracy: 0.6, ece: 0.2 } },
  };
  // A site whose held-out rows hold one class has no AUROC: no sample for it rather than NaN.
  assert.deepEqual(await sample(), ['fedcausal_final_auroc 0.85', 'fedcausal_final_site_auroc{site="a"} 0.9', 'fedcausal_final_site_auroc{site="t"} 0.7']);
});

test('fedcausal_rounds_total has both outcomes from 0, so increase() sees the first accepted round', async () => {
  const m = new CoordinatorMetrics(source([]), FEDERATION_STATES);
  let l = await lines(m);
  assert.ok(l.includes('fedcausal_rounds_total{outcome="accepted"} 0'));
  assert.ok(l.includes('fedcausal_rounds_total{outcome="rejected"} 0'));
  m.roundCommitted({ accepted: false, durationSeconds: 1, participants: 1, metrics: {}, failed: [] });
  l = await lines(m);
  assert.ok(l.includes('fedcausal_rounds_total{outcome="accepted"} 0'));
  assert.ok(l.includes('fedcausal_rounds_total{outcome="rejected"} 1'));
});

test('failure reasons as labels read without their numbers', async () => {
  assert.equal(reasonLabel('no answer within the 60s round deadline'), 'no answer within the round deadline');
  assert.equal(reasonLabel('no answer within the 0.15s round deadline'), 'no answer within the round deadline');
  assert.equal(reasonLabel('site went offline during the round, and was not back within 30s'), 'site went offline during the round, and was not back within the time allowed');
  // A site's own words are its to vary: one series however it words them (a hostile site added one a round).
  assert.equal(reasonLabel('site reported a failure: 12 rows, 3 columns'), 'site reported a failure');
  assert.equal(reasonLabel('site reported a failure: round 7 nonce abc123'), 'site reported a failure');
  assert.equal(reasonLabel('x'.repeat(200)).length, 80);
  const m = new CoordinatorMetrics(source([]), FEDERATION_STATES);
  m.roundCommitted({ accepted: true, durationSeconds: 1, participants: 1, metrics: {}, failed: [{ site: 'va', reason: 'no answer within the 120s round deadline' }] });
  assert.ok((await lines(m)).includes('fedcausal_site_failures_total{site="va",reason="no answer within the round deadline"} 1'));
});

test('the exposition with the new metrics passes promtool check metrics', { skip: spawnSync('promtool', ['--version']).status === 0 ? false : 'promtool is not installed here' }, async () => {
  const m = new CoordinatorMetrics(source([{ name: 'va', online: false, leftOut: 'late' }], 'finished', () => 'complete'), FEDERATION_STATES);
  const r = spawnSync('promtool', ['check', 'metrics'], { input: (await m.render()).body, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stdout + r.stderr);
});

test('fedcausal_build_info names the version, build and protocol this coordinator runs', async () => {
  const l = await lines(new CoordinatorMetrics(source([]), FEDERATION_STATES));
  assert.ok(l.includes(`fedcausal_build_info{version="${FEDCAUSAL_VERSION}",build="${FEDCAUSAL_BUILD ?? 'unknown'}",protocol="${PROTOCOL_VERSION}"} 1`), l.filter((x) => x.includes('build_info')).join('\n'));
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildResults, incompleteRunError } from '../../cli/results.ts';
import type { FederationOutcome } from '../../coordinator/round-loop.ts';
import { defaultMinSitesToAccept } from '../../coordinator/config.ts';
import { FEDCAUSAL_BUILD, FEDCAUSAL_VERSION } from '../../shared/version.ts';

const outcome = (problems: string[]): FederationOutcome => ({
  model: 'baseline',
  rounds: 1,
  seed: 1,
  strategy: 'fedavg',
  sites: {},
  testSites: {},
  localSites: {},
  globalModel: new Float32Array(0),
  modelSha256: '',
  scoring: { spec: { kind: 'baseline', raw: {}, seed: 1 }, prior: { version: 1, patterns: [], balancing: {}, minCount: 1, totalRows: 0 }, round: 2 },
  final: { trainingRounds: 1, sites: {}, testSites: {} },
  warnings: [],
  prior: [],
  priorVersion: 1,
  featureSpace: { modalities: [], columns: [] },
  history: [],
  problems,
});

test('a complete run says so; an incomplete one names its problems and is an error', () => {
  const ok = buildResults(outcome([]));
  assert.equal(ok.complete, true);
  assert.equal(ok.problems, undefined);
  assert.equal(ok.version, FEDCAUSAL_VERSION);
  assert.match(ok.version, /^\d+\.\d+\.\d+/);
  // The build it came from, as --version says it (a checkout: its commit).
  assert.equal(ok.build, FEDCAUSAL_BUILD);
  assert.match(ok.build ?? '', /^[0-9a-f]{7,}$/);
  assert.equal(incompleteRunError(ok), undefined);
  const bad = buildResults(outcome(['round 2 not accepted: 1 sites answered, 2 needed (va: site went offline during the round)']));
  assert.equal(bad.complete, false);
  assert.deepEqual(bad.problems, ['round 2 not accepted: 1 sites answered, 2 needed (va: site went offline during the round)']);
  assert.match(incompleteRunError(bad)!.message, /^the run is incomplete: round 2 not accepted/);
});

test('the default quorum to accept a round tolerates a lost site: max(2, half the sites), never more than there are', () => {
  assert.deepEqual([1, 2, 3, 4, 5, 16].map(defaultMinSitesToAccept), [1, 2, 2, 2, 3, 8]);
});

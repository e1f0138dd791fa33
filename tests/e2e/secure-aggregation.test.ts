// Secure aggregation over the real thing: provisioned kits, a coordinator and three site
// processes on loopback gRPC, mTLS and sealed envelopes; masked vectors (any bit pattern
// as float32) cross the wire and the run completes with secureAggregation in its results
// and in /api/status.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ResultsFile } from '../../cli/results.ts';
import { withFederation } from './helpers/federation.ts';

const SITES = ['cleveland', 'hungary', 'va'];

test('three site processes complete secure rounds over gRPC', { timeout: 120_000 }, async () => {
  await withFederation({ sites: SITES, rounds: 2, hardTimeoutMs: 110_000, coordinatorExtra: { secureAggregation: { enabled: true } } }, async (fed) => {
    const coordinator = await fed.startCoordinator();
    const sites = SITES.map((s) => fed.startSite(s));
    const status = await fed.status();
    assert.equal(status.secureAggregation?.enabled, true);
    assert.equal(status.secureAggregation?.clipBound, 10);

    assert.equal(await coordinator.exitCode(90_000), 0, 'coordinator exit code');
    for (const s of sites) assert.equal(await s.exitCode(10_000), 0, `${s.name} exit code`);
    const r = fed.results<ResultsFile>(coordinator);
    assert.equal(r.complete, true, String(r.problems));
    assert.equal(r.secureAggregation?.enabled, true);
    assert.equal(r.secureAggregation?.threshold, 3);
    assert.deepEqual(r.history.map((h) => [h.round, h.participants, h.accepted]), [[1, 3, true], [2, 3, true]]);
    assert.ok(r.history.every((h) => typeof h.metrics.train_loss === 'number' && typeof h.metrics.eval_auroc === 'number'), 'federation means from the secure sums');
    assert.equal(coordinator.logs.filter((l) => l.message === 'secure round aggregated').length, 2);
    // The statistics too: the summary, the vocabulary's slot counts, names and counts (heart-disease categories are undeclared), the two fit rounds, the final evaluation.
    const sums = coordinator.logs.filter((l) => l.message === 'secure sum decoded').map((l) => String(l.session).split('/')[2]);
    assert.deepEqual(sums, ['stats-1', 'stats-6', 'stats-4', 'stats-5', 'fit', 'fit', 'evaluate']);
    assert.ok(Object.values(r.sites).every((m) => m.n === undefined && typeof m.auroc === 'number'), 'per-site reports without row counts');
    assert.ok(r.pooledEvaluation?.training?.n, 'the held-out rows, from the sum');
    assert.equal(coordinator.logs.filter((l) => l.message === 'message refused').length, 0, 'no message was refused');
    assert.ok(!coordinator.logs.some((l) => l.message.startsWith('secure aggregation is off')), 'no warning that it is off');
  });
});

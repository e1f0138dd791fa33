// GET /api/summary: 503 with a reason until the statistics rounds publish a summary, then the summary as JSON.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startHttpServer } from '../../../coordinator/http/server.ts';
import { CoordinatorMetrics, metricsSourceFromStatus } from '../../../coordinator/metrics/coordinator-metrics.ts';
import type { FederationStatus } from '../../../shared/federation/status.ts';
import type { FederationSummary } from '../../../shared/readiness/summary.ts';

const status = (): FederationStatus => ({ federation: 'heart', round: 0, rounds: 2, state: 'stats', strategy: 'fedavg', model: 'debiased', sites: [], history: [] });

test('/api/summary answers 503 before the summary exists and the summary after', async (t) => {
  let summary: FederationSummary | undefined;
  const server = await startHttpServer({ host: '127.0.0.1', port: 0, status, summary: () => summary, metrics: new CoordinatorMetrics(metricsSourceFromStatus(status), []) });
  t.after(() => server.close());
  const url = `http://127.0.0.1:${server.port}/api/summary`;
  const early = await fetch(url);
  assert.equal(early.status, 503);
  assert.match(((await early.json()) as { error: string }).error, /after the statistics rounds/);
  summary = { format: 'fedcausal-federation-summary', federation: 'heart', rows: 3, prior: { version: 1, minCount: 5, patterns: [{ pattern: '11', p: 1 }], suppressed: ['10'] } } as unknown as FederationSummary;
  const res = await fetch(url);
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type')!, /^application\/json/);
  // The suppressed patterns unnamed: the rows they hold in all can be worked out from the rest.
  assert.deepEqual(await res.json(), { ...summary, prior: { ...summary.prior, suppressed: [] } });
  assert.equal((await fetch(url, { method: 'POST' })).status, 405);
});

test('a server started without a summary source answers 503', async (t) => {
  const server = await startHttpServer({ host: '127.0.0.1', port: 0, status, metrics: new CoordinatorMetrics(metricsSourceFromStatus(status), []) });
  t.after(() => server.close());
  assert.equal((await fetch(`http://127.0.0.1:${server.port}/api/summary`)).status, 503);
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startHttpServer } from '../../coordinator/http/server.ts';
import { CoordinatorMetrics, metricsSourceFromStatus } from '../../coordinator/metrics/coordinator-metrics.ts';
import type { FederationStatus } from '../../shared/federation/status.ts';
import { describeRun, runCli } from '../e2e/helpers/cli.ts';

const status = (): FederationStatus => ({
  federation: 'heart', round: 3, rounds: 5, state: 'training', strategy: 'fedavg', model: 'debiased',
  sites: [{ name: 'cleveland', online: true, lastSeen: '2026-01-01T00:00:00.000Z', roundsCompleted: 2 }],
  history: [{ round: 2, participants: 1, failures: 0, metrics: { eval_auroc: 0.8 }, durationMs: 10 }],
});

test('status sends the kit token: without it a clear error (exit 2), with it the table (exit 0)', async (t) => {
  const token = 'status-test-token-0123456789abcdef';
  const server = await startHttpServer({ host: '127.0.0.1', port: 0, status, metrics: new CoordinatorMetrics(metricsSourceFromStatus(status), []), token });
  const dir = mkdtempSync(join(tmpdir(), 'fedcausal-status-'));
  t.after(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const url = `http://127.0.0.1:${server.port}`;
  const none = await runCli(['status', '--coordinator', url]);
  assert.equal(none.code, 2, describeRun(none));
  assert.match(none.messages.join('\n'), /the coordinator wants its token \(--token-file/);
  const file = join(dir, 'http-token');
  writeFileSync(file, `${token}\n`, { mode: 0o600 });
  const ok = await runCli(['status', '--coordinator', url, '--token-file', file]);
  assert.equal(ok.code, 0, describeRun(ok));
  assert.match(ok.stdout, /^federation heart: training, round 3\/5 \| last round 2: 1 sites, eval AUROC 0\.800/);
  assert.match(ok.stdout, /cleveland/);
});

// A coordinator whose HTTP port is taken fails at start-up (exit 1, the port named) and
// leaves nothing half-started: before, it logged EADDRINUSE and went on serving gRPC.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { describeRun, runCli } from './helpers/cli.ts';
import { withFederation } from './helpers/federation.ts';

test('HTTP port in use: the coordinator exits 1 at start-up and names the port and its coordinator.yaml fields', { timeout: 60_000 }, async () => {
  const blocker = createServer();
  await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
  const port = (blocker.address() as { port: number }).port;
  try {
    await withFederation({ sites: ['cleveland', 'hungary'], rounds: 1, hardTimeoutMs: 50_000 }, async (fed) => {
      fed.editYaml(fed.coordinatorYaml, (c) => ({ ...c, listen: { host: '127.0.0.1', grpcPort: 0, httpPort: port } }));
      const r = await runCli(['coordinator', 'start', '--config', fed.coordinatorYaml], 40_000);
      assert.equal(r.code, 1, describeRun(r));
      assert.ok(r.stderr.includes(`cannot serve HTTP on 127.0.0.1:${port} (coordinator.yaml listen.httpHost/listen.httpPort)`) && r.stderr.includes('EADDRINUSE'), describeRun(r));
    });
  } finally {
    blocker.close();
  }
});

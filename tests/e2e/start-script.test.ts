// A kit's start.sh hands the process over to fedcausal (exec node, not npx): a supervisor's
// SIGTERM reaches the agent itself, which stops at once with exit 0 and leaves nothing behind.
// (Through npx the node process trained on after start.sh was killed.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { RoleProcess, withFederation } from './helpers/federation.ts';
import { freePort } from '../../shared/net/free-port.ts';

test('SIGTERM to a site kit\'s start.sh stops the agent within seconds, exit 0', { timeout: 60_000 }, async (t) => {
  await withFederation({ sites: ['cleveland', 'hungary'], rounds: 1, hardTimeoutMs: 50_000 }, async (fed) => {
    // Nobody listens there: the agent keeps retrying, as it would while the coordinator is down.
    const port = await freePort();
    fed.editYaml(fed.siteYaml('cleveland'), (c) => ({ ...c, coordinator: { address: `127.0.0.1:${port}` } }));
    const child = spawn('bash', [join(fed.siteKit('cleveland'), 'start.sh')], {
      env: { ...process.env, FEDCAUSAL_LOG: 'json', FEDCAUSAL_BIN: join(process.cwd(), 'bin', 'fedcausal.js') },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const p = new RoleProcess('start.sh cleveland', child);
    // Not one of the helper's children: never let it outlive the test.
    t.after(() => p.kill('SIGKILL'));
    await p.waitForLog((l) => l.message === 'coordinator not reachable yet, retrying', 30_000, 'a connection attempt');
    const pid = child.pid!;
    const t0 = Date.now();
    child.kill('SIGTERM');
    assert.equal(await p.exitCode(10_000), 0, p.tail());
    assert.ok(Date.now() - t0 < 10_000);
    assert.equal(existsSync(`/proc/${pid}`), false, 'the process that got the signal is the agent, and it is gone');
  });
});

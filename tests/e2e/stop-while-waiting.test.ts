// SIGTERM while the coordinator waits for its sites: it stops at once and exits 0 (a
// requested stop), instead of ignoring the signal until the start timeout.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { withFederation } from './helpers/federation.ts';

test('SIGTERM while waiting for sites: the coordinator exits 0 within seconds', { timeout: 60_000 }, async () => {
  await withFederation({ sites: ['cleveland', 'hungary'], rounds: 1, hardTimeoutMs: 50_000 }, async (fed) => {
    const coordinator = await fed.startCoordinator();
    const t0 = Date.now();
    coordinator.kill('SIGTERM');
    assert.equal(await coordinator.exitCode(10_000), 0, 'a requested stop is a clean exit');
    assert.ok(Date.now() - t0 < 10_000);
  });
});

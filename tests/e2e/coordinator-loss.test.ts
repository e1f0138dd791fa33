// The coordinator dies (kill -9) in the middle of a federation: each site notices, tries
// to reconnect for its window (15 s in these kits), and then exits non-zero, so a
// supervisor with Restart=on-failure restarts it; before, a site waiting for its next
// task exited 0 with "connection closed".
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { withFederation } from './helpers/federation.ts';

const SITES = ['cleveland', 'hungary', 'va'];

test('coordinator killed mid-run: sites try to reconnect, then exit 1', { timeout: 120_000 }, async () => {
  await withFederation({ sites: SITES, rounds: 200, hardTimeoutMs: 110_000 }, async (fed) => {
    const coordinator = await fed.startCoordinator();
    const sites = SITES.map((s) => fed.startSite(s));
    for (const s of sites) await s.waitForLog((l) => l.message === 'round trained', 60_000, 'a trained round');
    coordinator.kill('SIGKILL');
    for (const s of sites) {
      await s.waitForLog((l) => l.message === 'connection to the coordinator lost, reconnecting', 20_000, 'the reconnect attempt');
      assert.equal(await s.exitCode(60_000), 1, `${s.name} exits non-zero once its reconnect window is over`);
    }
  });
});

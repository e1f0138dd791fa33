// kill -9 of a site in each phase (statistics, on a training task, after its answer, the
// final evaluation), restarted as its supervisor would: with the default quorum the run
// completes with every round accepted and every site's final evaluation. SIGTERM in each
// phase stops a site within 10 s with exit 0. With a quorum that cannot be met the run
// fails with exit 1 and says why, and so do the sites.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { withFederation, type RoleProcess, type TestFederation } from './helpers/federation.ts';

const FOUR = ['cleveland', 'hungary', 'switzerland', 'va'];

interface Results {
  complete: boolean;
  problems?: string[];
  sites: Record<string, unknown>;
  history: { round: number; accepted: boolean; participants: number }[];
}

/** Starts a site that kills itself at `point`, then restarts it once without, as systemd's Restart=on-failure would. */
function supervised(fed: TestFederation, site: string, point: string): Promise<RoleProcess> {
  const first = fed.startSite(site, { env: { FEDCAUSAL_CRASH_AT: point } });
  return first.exited.then(({ signal }) => {
    assert.equal(signal, 'SIGKILL', `${site} crashed at ${point}\n${first.tail()}`);
    return fed.startSite(site);
  });
}

/**
 * Rounds here take about a second and a restart several: two sites down at once is what
 * the default quorum (2 of 4) carries, so each run loses two sites, in two phases.
 */
for (const pair of [
  { cleveland: 'task-stats-1:0', va: 'task-evaluate:4' },
  { hungary: 'task-fit:1', switzerland: 'answered-fit:2' },
])
  test(`sites killed and restarted (${Object.entries(pair).map(([s, p]) => `${s} at ${p}`).join(', ')}): the run completes with every site`, { timeout: 180_000 }, async () => {
    await withFederation({ sites: FOUR, rounds: 3, hardTimeoutMs: 170_000 }, async (fed) => {
      const coordinator = await fed.startCoordinator();
      const restarted = Object.entries(pair).map(([site, point]) => supervised(fed, site, point));
      for (const site of FOUR.filter((s) => !(s in pair))) fed.startSite(site);
      assert.equal(await coordinator.exitCode(150_000), 0, fed.describe());
      for (const p of await Promise.all(restarted)) assert.equal(await p.exitCode(20_000), 0, p.tail());
      const r = fed.results<Results>(coordinator);
      assert.equal(r.complete, true, JSON.stringify(r.problems));
      assert.deepEqual(Object.keys(r.sites).sort(), FOUR);
      assert.ok(r.history.every((h) => h.accepted && h.participants >= 2), JSON.stringify(r.history));
    });
  });

test('a site stopped (SIGTERM) in each phase exits 0 within 10 s', { timeout: 180_000 }, async () => {
  await withFederation({ sites: FOUR, rounds: 3, quorum: { minSitesToAccept: 1 }, hardTimeoutMs: 170_000 }, async (fed) => {
    await fed.startCoordinator();
    const points = { cleveland: 'task-stats-1:0', hungary: 'task-fit:1', switzerland: 'answered-fit:2', va: 'task-evaluate:4' };
    await Promise.all(
      Object.entries(points).map(async ([site, point]) => {
        const p = fed.startSite(site, { env: { FEDCAUSAL_CRASH_AT: `${point}:SIGTERM` } });
        const signalled = await p.waitForLog((l) => l.message === 'fault point: SIGTERM', 120_000, `the SIGTERM at ${point}`);
        assert.equal(await p.exitCode(10_000), 0, p.tail());
        assert.ok(Date.now() - Date.parse(String(signalled.timestamp)) < 10_000, `${site} stopped within 10 s at ${point}`);
        assert.match(p.stdout, /site finished: stopped on request/);
      }),
    );
  });
});

test('a quorum that cannot be met: the round with the site gone is refused, the next waits for it, then exit 1 naming it, at the coordinator and the sites', { timeout: 120_000 }, async () => {
  const sites = ['cleveland', 'hungary', 'va'];
  await withFederation({ sites, rounds: 2, quorum: { minSitesToAccept: 3, rejoinGraceSeconds: 2, startTimeoutSeconds: 3 }, hardTimeoutMs: 110_000 }, async (fed) => {
    const coordinator = await fed.startCoordinator();
    const lost = fed.startSite('hungary', { env: { FEDCAUSAL_CRASH_AT: 'task-fit:1' } });
    const others = ['cleveland', 'va'].map((s) => fed.startSite(s));
    assert.equal((await lost.exited).signal, 'SIGKILL');
    await coordinator.waitForLog((l) => l.message === 'waiting for sites before a training round' && l.round === 2, 60_000, 'round 2 waiting for hungary');
    assert.equal(await coordinator.exitCode(60_000), 1, coordinator.tail());
    const said = coordinator.otherStderr.join('\n');
    assert.match(said, /round 2 cannot be accepted: 2 of the 3 training sites it needs \(quorum\.minSitesToAccept\) are online, and hungary did not come back within 3s \(quorum\.startTimeoutSeconds\); a restart resumes at round 2/);
    for (const s of others) {
      assert.equal(await s.exitCode(20_000), 1, s.tail());
      assert.match(s.otherStderr.join('\n'), /federation failed: the reason concerns other sites and is in the coordinator's log/);
      assert.doesNotMatch(s.otherStderr.join('\n'), /hungary/, "another hospital's failures stay with the coordinator's operator");
    }
  });
});

// kill -9 of a site in each phase (statistics, on a training task, after its answer, the
// final evaluation), restarted as its supervisor would: with the default quorum the run
// completes with every round accepted and every site's final evaluation. With a quorum
// that cannot be met the run fails with exit 1 and says why, and so do the sites.
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
  const first = fed.startSite(site, { FEDCAUSAL_CRASH_AT: point });
  return first.exited.then(({ signal }) => {
    assert.equal(signal, 'SIGKILL', `${site} crashed at ${point}\n${first.tail()}`);
    return fed.startSite(site);
  });
}

test('a site killed in each phase and restarted: the run completes with every site', { timeout: 180_000 }, async () => {
  await withFederation({ sites: FOUR, rounds: 3, hardTimeoutMs: 170_000 }, async (fed) => {
    const coordinator = await fed.startCoordinator();
    const restarted = [
      supervised(fed, 'cleveland', 'task-stats-1:0'),
      supervised(fed, 'hungary', 'task-fit:1'),
      supervised(fed, 'switzerland', 'answered-fit:2'),
      supervised(fed, 'va', 'task-evaluate:4'),
    ];
    assert.equal(await coordinator.exitCode(150_000), 0, fed.describe());
    for (const p of await Promise.all(restarted)) assert.equal(await p.exitCode(20_000), 0, p.tail());
    const r = fed.results<Results>(coordinator);
    assert.equal(r.complete, true, JSON.stringify(r.problems));
    assert.deepEqual(Object.keys(r.sites).sort(), FOUR);
    assert.ok(r.history.every((h) => h.accepted && h.participants >= 2), JSON.stringify(r.history));
    // The lost training rounds show: hungary missed round 1.
    assert.ok(r.history[0]!.participants < FOUR.length);
  });
});

test('a quorum that cannot be met: exit 1 naming the rounds and the missing site, at the coordinator and the sites', { timeout: 120_000 }, async () => {
  const sites = ['cleveland', 'hungary', 'va'];
  await withFederation({ sites, rounds: 2, quorum: { minSitesToAccept: 3, rejoinGraceSeconds: 2 }, hardTimeoutMs: 110_000 }, async (fed) => {
    const coordinator = await fed.startCoordinator();
    const lost = fed.startSite('hungary', { FEDCAUSAL_CRASH_AT: 'task-fit:1' });
    const others = ['cleveland', 'va'].map((s) => fed.startSite(s));
    assert.equal((await lost.exited).signal, 'SIGKILL');
    assert.equal(await coordinator.exitCode(90_000), 1, coordinator.tail());
    const said = coordinator.otherStderr.join('\n');
    assert.match(said, /incomplete/);
    assert.match(said, /round 1 not accepted: 2 sites answered, 3 needed \(hungary: site went offline during the round\)/);
    assert.match(said, /final evaluation missing from hungary: offline when the round started, and was not back within 2s/);
    for (const s of others) {
      assert.equal(await s.exitCode(20_000), 1, s.tail());
      assert.match(s.otherStderr.join('\n'), /federation ended incomplete/);
    }
  });
});

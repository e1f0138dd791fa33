// A hospital's agent dies (SIGKILL: no goodbye). The coordinator must notice, close
// the round with the sites it has (the quorum allows it), show the site offline, and
// take the site back when its process restarts from the same kit.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ResultsFile } from '../../cli/results.ts';
import { withFederation, type RoleProcess } from './helpers/federation.ts';

const SITES = ['cleveland', 'hungary', 'va'];
// The largest site trains longest, so the kill lands while its round-2 update is still being computed.
const VICTIM = 'cleveland';

test('a site killed mid-round: the round completes without it, and it rejoins after a restart', { timeout: 120_000 }, async () => {
  const ROUNDS = 4;
  await withFederation(
    {
      sites: SITES,
      rounds: ROUNDS,
      // Enough local epochs that the kill lands while the victim is still training round 2.
      model: { kind: 'baseline', localEpochs: 20 },
      quorum: { minSitesToStart: 3, minSitesToAccept: 2, roundDeadlineSeconds: 60 },
      hardTimeoutMs: 110_000,
    },
    async (fed) => {
      const coordinator = await fed.startCoordinator();
      const sites = Object.fromEntries(SITES.map((s) => [s, fed.startSite(s)]));
      const others = SITES.filter((s) => s !== VICTIM).map((s) => sites[s]!);
      let restarted: RoleProcess | undefined;
      let rejoinedDuring = 0;

      await coordinator.waitForLog((l) => l.message === 'federation state' && l.state === 'training' && l.round === 2, 60_000, 'round 2 training');
      // Freeze the other sites while the victim is away: training cannot outrun the restart, so
      // the round it rejoins in does not depend on how fast this machine is.
      for (const p of others) p.kill('SIGSTOP');
      try {
        sites[VICTIM]!.kill('SIGKILL');
        assert.equal((await sites[VICTIM]!.exited).signal, 'SIGKILL');
        assert.ok(!sites[VICTIM]!.logs.some((l) => l.message === 'round trained' && l.round === 2), 'the victim had not finished round 2');

        // The coordinator sees it go (its stream closes) without waiting for the round deadline.
        await fed.waitSiteOnline(VICTIM, false, 15_000);
        assert.match(await fed.getText('/metrics'), new RegExp(`^fedcausal_site_online\\{site="${VICTIM}"\\} 0$`, 'm'));

        // Same kit, new process: it joins again.
        restarted = fed.startSite(VICTIM);
        rejoinedDuring = (await fed.waitSiteOnline(VICTIM, true, 30_000, restarted)).round;
        // Round 2 if the others were frozen mid-training; 3 if they had already answered round 2.
        assert.ok(rejoinedDuring === 2 || rejoinedDuring === 3, `rejoined during round ${rejoinedDuring}`);
      } finally {
        for (const p of others) p.kill('SIGCONT');
      }

      const r2 = await coordinator.waitForLog((l) => l.message === 'round committed' && l.round === 2, 30_000, 'round 2 committed');
      assert.equal(r2.participants, 2, 'round 2 participants');
      assert.equal(r2.failures, 1, 'round 2 failures');
      const metrics = await fed.getText('/metrics');
      assert.match(metrics, new RegExp(`^fedcausal_site_failures_total\\{site="${VICTIM}",reason="[^"]+"\\} 1$`, 'm'));
      for (const s of SITES.filter((s) => s !== VICTIM))
        assert.doesNotMatch(metrics, new RegExp(`fedcausal_site_failures_total\\{site="${s}",`), `${s} never failed`);

      assert.equal(await coordinator.exitCode(90_000), 0, 'coordinator exit code');
      assert.equal(await restarted.exitCode(10_000), 0, 'restarted site exit code');
      for (const p of others) assert.equal(await p.exitCode(10_000), 0, `${p.name} exit code`);

      const r = fed.results<ResultsFile>(coordinator);
      assert.equal(r.history.length, ROUNDS);
      assert.deepEqual(
        r.history.map((h) => h.participants),
        r.history.map((h) => (h.round === 2 ? 2 : h.round === 1 || h.round > rejoinedDuring ? 3 : h.participants)),
        `participants per round (rejoined during round ${rejoinedDuring})`,
      );
      assert.equal(r.history[ROUNDS - 1]!.participants, 3, 'back to three sites by the last round');
      assert.ok(r.history.every((h) => h.accepted), 'every round met the quorum of 2');
      const later = restarted.logs.filter((l) => l.message === 'round trained').map((l) => Number(l.round));
      assert.ok(later.length > 0 && later.every((x) => x > 2), `the restarted site trained in later rounds (${later.join(', ')})`);
      // The final evaluation includes it again.
      assert.deepEqual(Object.keys(r.sites).sort(), [...SITES].sort());
    },
  );
});

test('a site restarted before the first round joins again', { timeout: 90_000 }, async () => {
  await withFederation({ sites: SITES, rounds: 2, hardTimeoutMs: 80_000 }, async (fed) => {
    const coordinator = await fed.startCoordinator();
    const first = fed.startSite(VICTIM);
    await fed.waitSiteOnline(VICTIM, true, 30_000, first);
    first.kill('SIGKILL');
    await fed.waitSiteOnline(VICTIM, false, 15_000);

    // Its second join (a new message, same round 0) must not be taken for a replay of the first.
    const again = fed.startSite(VICTIM);
    await fed.waitSiteOnline(VICTIM, true, 30_000, again);
    const others = SITES.filter((s) => s !== VICTIM).map((s) => fed.startSite(s));

    assert.equal(await coordinator.exitCode(60_000), 0, 'coordinator exit code');
    for (const p of [again, ...others]) assert.equal(await p.exitCode(10_000), 0, `${p.name} exit code`);
    const r = fed.results<ResultsFile>(coordinator);
    assert.deepEqual(
      r.history.map((h) => h.participants),
      [3, 3],
    );
    assert.equal(coordinator.logs.filter((l) => l.message === 'message refused').length, 0, 'no join was refused');
  });
});

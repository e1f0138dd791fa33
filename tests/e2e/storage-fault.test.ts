// The coordinator's own disk failing mid-run (its spool folder gone, as when the disk under
// stateDir fails): it stops at its last committed round with exit 1, blaming no hospital and
// telling no site the run failed; restarted once the disk is back, it resumes and completes
// with every round accepted. (An outside try: a full disk had every site's update refused as
// "malformed", 92 rounds not accepted in 4 s, and the run incomplete for good.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { withFederation } from './helpers/federation.ts';

const SITES = ['cleveland', 'hungary', 'va'];

test("the coordinator's storage failing mid-run: it stops blaming no site, and a restart resumes and completes", { timeout: 180_000 }, async () => {
  await withFederation({ sites: SITES, rounds: 8, quorum: { roundDeadlineSeconds: 60, startTimeoutSeconds: 60 }, siteConnectTimeoutSeconds: 60, hardTimeoutMs: 170_000 }, async (fed) => {
    const first = await fed.startCoordinator();
    const sites = SITES.map((s) => fed.startSite(s));
    await first.waitForLog((l) => l.message === 'round committed' && l.round === 2, 90_000, 'round 2 committed');
    rmSync(join(fed.kits.coordinatorKit, 'state', 'spool'), { recursive: true, force: true });
    assert.equal(await first.exitCode(60_000), 1, first.tail());
    const stopped = first.logs.find((l) => l.message.startsWith('coordinator stopped: its own storage failed'));
    assert.ok(stopped, first.tail());
    assert.match(String(stopped.error), /spool.*ENOENT.*free space on \(or repair\) the disk that holds stateDir/);
    assert.match(first.otherStderr.join('\n'), /ENOENT/, 'the exit names the cause');
    assert.equal(first.logs.filter((l) => l.message === 'message refused').length, 0, 'no site was refused for the coordinator\'s disk');
    assert.equal(first.logs.filter((l) => l.message === 'round failure').length, 0, 'no site failed a round for it');
    assert.ok(!first.logs.some((l) => typeof l.reason === 'string' && l.reason.startsWith('federation failed')), 'the sites were not told the run failed');
    for (const s of sites) assert.ok(s.alive, `${s.name} keeps reconnecting\n${s.tail()}`);

    const second = await fed.startCoordinator();
    assert.equal(await second.exitCode(120_000), 0, second.tail());
    for (const s of sites) assert.equal(await s.exitCode(30_000), 0, s.tail());
    const resumed = second.logs.find((l) => l.message === 'resuming the federation from its last committed round');
    assert.ok(resumed && Number(resumed.round) >= 2, second.tail());
    const results = fed.results<{ complete: boolean; history: { round: number; accepted: boolean }[] }>(second);
    assert.equal(results.complete, true);
    assert.deepEqual(results.history.map((h) => [h.round, h.accepted]), Array.from({ length: 8 }, (_, i) => [i + 1, true]));
  });
});

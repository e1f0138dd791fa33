// The durable coordinator: kill -9 in every phase (waiting for sites, statistics, collecting
// updates, aggregating, just after a commit, final evaluation), each time restarted with
// the same config. The sites reconnect by themselves, the run resumes from its last
// committed round, and it ends with the same model as an uninterrupted run with the seed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { withFederation, type RoleProcess } from './helpers/federation.ts';

const SITES = ['cleveland', 'hungary', 'va'];
const ROUNDS = 5;
const OPTIONS = {
  sites: SITES,
  rounds: ROUNDS,
  model: { kind: 'debiased', localEpochs: 1 },
  quorum: { roundDeadlineSeconds: 60, startTimeoutSeconds: 60 },
};

interface Results {
  complete: boolean;
  modelSha256: string;
  history: { round: number; accepted: boolean; participants: number }[];
}

async function finish(coordinator: RoleProcess, sites: RoleProcess[]): Promise<void> {
  assert.equal(await coordinator.exitCode(90_000), 0, coordinator.tail());
  for (const s of sites) assert.equal(await s.exitCode(30_000), 0, s.tail());
}

/** The uninterrupted run's final model, computed once for the tests below. */
let reference: Promise<string> | undefined;
function uninterrupted(): Promise<string> {
  reference ??= (async () => {
    let sha = '';
    await withFederation({ ...OPTIONS, hardTimeoutMs: 120_000 }, async (fed) => {
      const coordinator = await fed.startCoordinator();
      await finish(coordinator, SITES.map((s) => fed.startSite(s)));
      sha = fed.results<Results>(coordinator).modelSha256;
    });
    assert.match(sha, /^[0-9a-f]{64}$/);
    return sha;
  })();
  return reference;
}

function resumedRound(c: RoleProcess): number {
  const l = c.logs.find((x) => x.message === 'resuming the federation from its last committed round');
  return l ? Number(l.round) : -1;
}

test('kill -9 of the coordinator in each phase: it resumes and ends with the uninterrupted model', { timeout: 300_000 }, async () => {
  const reference = await uninterrupted();

  await withFederation({ ...OPTIONS, hardTimeoutMs: 280_000 }, async (fed) => {
    // Waiting for sites: nothing is agreed yet.
    const first = await fed.startCoordinator();
    first.kill('SIGKILL');
    await first.exitCode(10_000);
    const sites = SITES.map((s) => fed.startSite(s));
    const resumedAt: number[] = [];
    const crash = async (point: string) => {
      const c = await fed.startCoordinator(30_000, { env: { FEDCAUSAL_CRASH_AT: point } });
      const { signal } = await c.exited;
      assert.equal(signal, 'SIGKILL', `the coordinator crashed at ${point}\n${c.tail()}`);
      resumedAt.push(resumedRound(c));
    };
    await crash('stats:0');
    // A requested stop mid-round: exit 0 within 10 s, the round not committed.
    const paused = await fed.startCoordinator();
    await paused.waitForLog((l) => l.message === 'federation state' && l.state === 'training' && l.round === 1, 60_000, 'round 1 training');
    paused.kill('SIGTERM');
    assert.equal(await paused.exitCode(10_000), 0, paused.tail());
    resumedAt.push(resumedRound(paused));
    for (const point of ['result-fit:2', 'aggregating:3', 'committed:4', `evaluating:${ROUNDS + 1}`]) await crash(point);
    const last = await fed.startCoordinator();
    await finish(last, sites);
    resumedAt.push(resumedRound(last));
    // The statistics and the stopped round 1 leave nothing committed; result-fit:2 and
    // aggregating:3 lose only their own round; committed:4 loses nothing.
    assert.deepEqual(resumedAt, [-1, -1, 0, 1, 2, 4, ROUNDS]);

    const r = fed.results<Results>(last);
    assert.equal(r.complete, true);
    assert.deepEqual(r.history.map((h) => [h.round, h.accepted, h.participants]), [1, 2, 3, 4, 5].map((n) => [n, true, SITES.length]));
    assert.equal(r.modelSha256, reference, 'the resumed run ends with the uninterrupted run\'s model');
    // A site that had trained round 2 before the crash trained it again from the same state.
    assert.ok(sites.some((s) => s.logs.some((l) => l.message === 'round trained again from its starting state' && l.round === 2)));
  });
});

test('SIGTERM to the coordinator in each phase: exit 0 within 10 s, state intact, the run resumes to the same model', { timeout: 300_000 }, async () => {
  const reference = await uninterrupted();
  await withFederation({ ...OPTIONS, hardTimeoutMs: 280_000 }, async (fed) => {
    const sites: RoleProcess[] = [];
    const resumedAt: number[] = [];
    for (const point of ['waiting-for-sites:0', 'stats:0', 'result-fit:1', 'aggregating:2', 'committed:3', `evaluating:${ROUNDS + 1}`]) {
      const c = await fed.startCoordinator(30_000, { env: { FEDCAUSAL_CRASH_AT: `${point}:SIGTERM` } });
      if (sites.length === 0) sites.push(...SITES.map((s) => fed.startSite(s)));
      const stop = await c.waitForLog((l) => l.message === 'coordinator stopped on request; a restart resumes from the last committed round', 60_000, `the stop at ${point}`);
      // The signal comes at the phase's first step: the stop follows it at once, the exit within 10 s.
      // (Timed from the fault point itself: the 'stopped' state line now comes just before the stop line.)
      const signalled = c.logs.find((l) => l.message === 'fault point: SIGTERM');
      assert.ok(signalled, `the fault point fired at ${point}`);
      assert.ok(c.logs.some((l) => l.message === 'federation state' && l.state === 'stopped'), `the state ended 'stopped' at ${point}`);
      assert.ok(Date.parse(String(stop.timestamp)) - Date.parse(String(signalled.timestamp)) < 10_000, `stopped at once at ${point}`);
      assert.equal(await c.exitCode(10_000), 0, c.tail());
      resumedAt.push(resumedRound(c));
    }
    const last = await fed.startCoordinator();
    await finish(last, sites);
    resumedAt.push(resumedRound(last));
    // A stop during aggregating lands after that round's commit (the commit is one synchronous step).
    assert.deepEqual(resumedAt, [-1, -1, -1, 0, 2, 3, ROUNDS]);
    assert.equal(fed.results<Results>(last).modelSha256, reference);
  });
});

test('a finished federation is not run again on restart', { timeout: 120_000 }, async () => {
  await withFederation({ ...OPTIONS, rounds: 1, hardTimeoutMs: 110_000 }, async (fed) => {
    const coordinator = await fed.startCoordinator();
    await finish(coordinator, SITES.map((s) => fed.startSite(s)));
    // Refused before anything listens.
    // Exit 2: a restart cannot help, so systemd (RestartPreventExitStatus=2) does not loop on it.
    await assert.rejects(fed.startCoordinator(), /exited \(code 2/);
    const again = fed.processes.at(-1)!;
    assert.match(again.otherStderr.join('\n'), /federation "e2e" already finished at .* move .*coordinator\.sqlite away to run it again/);
    assert.ok(!again.logs.some((l) => l.message === 'gRPC listening'));
  });
});

/**
 * The round loop against a fake transport (round-loop-harness.ts): rounds, quorum,
 * deadlines, clipping, stops and the durable state. Which sites train: participation.test.ts.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_RESULT_BOUNDS } from '../../coordinator/result-bounds.ts';
import { FedAvg } from '../../coordinator/strategy/fedavg.ts';
import type { Acceptance, SiteFailure, SiteResult } from '../../coordinator/strategy/strategy.ts';
import type { CoordinatorStore } from '../../coordinator/state/store.ts';
import { ProtocolError } from '../../shared/errors.ts';
import type { TaskMeta } from '../../shared/protocol/messages.ts';
import { alive, fitFailures, harness, stateFile, type Harness } from './round-loop-harness.ts';
import { silentLogger } from '../../shared/logger.ts';

test('quorum met: every round accepted, the model is the example-weighted mean, states in order', async () => {
  const h = harness({ sites: ['a', 'b', 'c'], rounds: 2 });
  const outcome = await alive(h.loop.run());
  await h.loop.end('done', 'complete');
  assert.deepEqual(outcome.history.map((r) => [r.round, r.accepted, r.participants, r.failures]), [[1, true, 3, 0], [2, true, 3, 0]]);
  // Sites send 1, 2 and 3 everywhere with as many examples each: the mean is 2.
  assert.deepEqual([...outcome.globalModel], [2, 2, 2, 2]);
  assert.deepEqual(h.sentGlobals.get(2), [2, 2, 2, 2], 'round 2 starts from round 1\'s model');
  assert.deepEqual(outcome.problems, []);
  assert.deepEqual(h.states.map((s) => `${s.state}:${s.round}`), [
    'stats:0', 'training:1', 'aggregating:1', 'committed:1', 'training:2', 'aggregating:2', 'committed:2', 'evaluating:3', 'finished:3',
  ]);
  assert.equal(h.loop.state, 'finished');
  assert.equal(h.loop.stateChange?.reason, 'done');
});

test('quorum missed: the round is not accepted, the model is kept, the reason names the failure', async () => {
  const h = harness({ sites: ['a', 'b', 'c'], rounds: 2, behave: (site, t) => (site === 'c' && t.kind === 'fit' && t.round === 1 ? 'error' : 'answer') });
  const outcome = await alive(h.loop.run());
  const [r1, r2] = outcome.history;
  assert.equal(r1!.accepted, false);
  assert.equal(r1!.reason, '2 sites answered, 3 needed (c: site reported a failure: non-finite loss)');
  assert.deepEqual(h.sentGlobals.get(2), [0, 0, 0, 0], 'round 2 starts from the initial model');
  assert.equal(r2!.accepted, true);
  assert.deepEqual(outcome.problems, ['round 1 not accepted: 2 sites answered, 3 needed (c: site reported a failure: non-finite loss)']);
  assert.ok(h.states.some((s) => s.state === 'committed' && s.round === 1), 'a round not accepted is still committed (as not accepted)');
});

test('deadline passing: a silent site fails the round at the deadline; the rest carry it', async () => {
  const h = harness({
    sites: ['a', 'b', 'c'],
    rounds: 1,
    quorum: { minSitesToAccept: 2, roundDeadlineMs: 150 },
    behave: (site, t) => (site === 'b' && t.kind === 'fit' ? 'silent' : 'answer'),
    // Unclipped, so the mean is of what was sent (clipping has its own test below).
    bounds: { ...DEFAULT_RESULT_BOUNDS, updateNormMultiple: 1e6 },
  });
  const outcome = await alive(h.loop.run());
  assert.deepEqual(fitFailures(h, 1), [{ site: 'b', reason: 'no answer within the 0.15s round deadline' }]);
  assert.equal(outcome.history[0]!.accepted, true);
  // a sends 1s, c sends 3s: b's update is not in the mean.
  assert.deepEqual([...outcome.globalModel], [2, 2, 2, 2]);
});

test('a huge update is clipped to the bound before it is averaged, and still counts', async () => {
  const h = harness({
    sites: ['a', 'b', 'c'],
    rounds: 1,
    quorum: { minSitesToAccept: 2 },
    behave: (site, t) => (t.kind !== 'fit' ? 'answer' : site === 'c' ? { weights: [1e9, 0, 0, 0] } : { weights: [1, 1, 1, 1] }),
    bounds: { ...DEFAULT_RESULT_BOUNDS, updateNormMultiple: 2 },
  });
  const outcome = await alive(h.loop.run());
  // a and b step by norm 2 (the lower median); c's step is cut to 2 x 2 = 4, in its own direction.
  const mean = (1 + 1 + 4) / 3;
  assert.deepEqual([...outcome.globalModel].map((v) => Math.round(v * 1e4) / 1e4), [mean, 2 / 3, 2 / 3, 2 / 3].map((v) => Math.round(v * 1e4) / 1e4));
  assert.equal(outcome.history[0]!.participants, 3);
});

test('a site failing mid-round: gone offline, or its update refused, fails it for that round only', async () => {
  const h = harness({
    sites: ['a', 'b', 'c', 'd'],
    rounds: 2,
    quorum: { minSitesToAccept: 2, minSitesToStart: 2 },
    behave: (site, t) => (t.kind === 'fit' && t.round === 1 ? (site === 'b' ? 'disconnect' : site === 'd' ? 'reject' : 'answer') : 'answer'),
  });
  const outcome = await alive(h.loop.run());
  assert.deepEqual(fitFailures(h, 1), [
    { site: 'b', reason: 'site went offline during the round' },
    { site: 'd', reason: 'update refused: bad signature' },
  ]);
  assert.equal(outcome.history[0]!.participants, 2);
  // b is offline from then on: round 2 fails it at the start; d is back.
  assert.deepEqual(fitFailures(h, 2), [{ site: 'b', reason: 'offline when the round started' }]);
  assert.equal(outcome.history[1]!.participants, 3);
});

test('a training round whose quorum is offline waits for it instead of being refused', async () => {
  const h: Harness = harness({
    sites: ['a', 'b', 'c'],
    rounds: 3,
    quorum: { minSitesToAccept: 2, minSitesToStart: 2 },
    behave: (site, t) => (t.kind === 'fit' && t.round === 1 && site !== 'a' ? 'disconnect' : 'answer'),
  });
  const run = alive(h.loop.run());
  // b comes back once round 2 waits; c stays away.
  while (!h.states.some((s) => s.state === 'waiting-for-sites' && s.round === 2)) await new Promise((r) => setTimeout(r, 10));
  assert.equal(h.loop.history.length, 1, 'round 2 was not run without its quorum');
  h.reconnect('b');
  const outcome = await run;
  assert.deepEqual(outcome.history.map((r) => [r.round, r.accepted, r.participants]), [[1, false, 1], [2, true, 2], [3, true, 2]]);
  assert.match(h.loop.history[1]!.failed.map((f) => f.reason).join(), /offline when the round started/, 'c fails it');
  const waited = h.states.filter((s) => s.state === 'waiting-for-sites' && s.round > 0).map((s) => s.round);
  assert.deepEqual(waited, [2], 'round 2 waited; round 3 had its quorum');
});

test('a training round whose quorum does not come back within startTimeout fails the run, naming the sites', async () => {
  const h = harness({
    sites: ['a', 'b', 'c'],
    rounds: 3,
    quorum: { minSitesToAccept: 2, minSitesToStart: 2, startTimeoutMs: 100 },
    behave: (site, t) => (t.kind === 'fit' && t.round === 1 && site !== 'a' ? 'disconnect' : 'answer'),
  });
  await assert.rejects(
    alive(h.loop.run()),
    /^Error: round 2 cannot be accepted: 1 of the 2 training sites it needs \(quorum\.minSitesToAccept\) are online, and b, c did not come back within 0\.1s \(quorum\.startTimeoutSeconds\); a restart resumes at round 2$/,
  );
  assert.deepEqual(h.loop.history.map((r) => r.round), [1], 'nothing spent on round 2');
});

test('stop requested mid-round: the round is not committed and the state is stopped', async () => {
  const h: Harness = harness({
    sites: ['a', 'b'],
    rounds: 3,
    behave: (site, t) => {
      if (t.kind === 'fit' && t.round === 2 && site === 'a') {
        h.loop.stop('coordinator shutting down');
        return 'silent';
      }
      return 'answer';
    },
  });
  await assert.rejects(alive(h.loop.run()), /^Error: federation stopped after round 1 of 3 \(coordinator shutting down\)$/);
  assert.deepEqual(h.loop.history.map((r) => r.round), [1]);
  assert.equal(h.loop.state, 'stopped');
  assert.equal(h.loop.stateChange?.reason, 'coordinator shutting down');
  assert.deepEqual(h.states.slice(-2).map((s) => s.state), ['training', 'stopped'], 'no aggregating or committed for the stopped round');
});

test('stop while waiting for sites ends the wait at once', async () => {
  const h = harness({ sites: ['a', 'b'], rounds: 1, online: ['a'] });
  const run = alive(h.loop.run());
  setTimeout(() => h.loop.stop('SIGTERM'), 20);
  const t0 = Date.now();
  await assert.rejects(run, /^Error: stopped while waiting for sites \(SIGTERM\)$/);
  assert.ok(Date.now() - t0 < 5000, 'well before the start timeout');
  assert.equal(h.loop.state, 'stopped');
});

test('no start quorum, or a statistics round below it: the run fails, with the reason in its state', async () => {
  const lonely = harness({ sites: ['a', 'b'], rounds: 1, online: ['a'], quorum: { startTimeoutMs: 100 } });
  await assert.rejects(alive(lonely.loop.run()), /only 1 of 2 required training sites joined within 0.1s/);
  assert.equal(lonely.loop.state, 'failed');

  const h = harness({ sites: ['a', 'b'], rounds: 1, behave: (site, t) => (t.kind === 'stats' && site === 'b' ? 'error' : 'answer') });
  await assert.rejects(alive(h.loop.run()), /^Error: statistics round: 1 sites answered, 2 needed \(b: site reported a failure: non-finite loss\)$/);
  assert.equal(h.loop.state, 'failed');
  assert.match(h.loop.stateChange!.reason, /^statistics round: 1 sites answered/);
  // The coordinator still tells the sites; the state stays failed.
  await h.loop.end('federation failed', 'failed');
  assert.equal(h.loop.state, 'failed');
});

test('the strategy, not the quorum alone, decides whether a round counts', async () => {
  /** Refuses any round with a failure, although the quorum would accept it. */
  class Strict extends FedAvg {
    readonly seen: [number, number][] = [];
    override acceptFit(round: number, results: SiteResult[], failures: SiteFailure[]): Acceptance {
      this.seen.push([results.length, failures.length]);
      return failures.length ? { accepted: false, reason: `${failures.length} site(s) failed` } : { accepted: true };
    }
  }
  const strategy = new Strict();
  const h = harness({
    sites: ['a', 'b', 'c'],
    rounds: 2,
    strategy,
    quorum: { minSitesToAccept: 1 },
    behave: (site, t) => (site === 'c' && t.kind === 'fit' && t.round === 2 ? 'error' : 'answer'),
  });
  const outcome = await alive(h.loop.run());
  assert.deepEqual(strategy.seen, [[3, 0], [2, 1]], 'the strategy saw results and failures');
  assert.deepEqual(outcome.history.map((r) => r.accepted), [true, false]);
  assert.deepEqual(outcome.problems, ['round 2 not accepted: 1 site(s) failed']);
  assert.deepEqual([...outcome.globalModel], [2, 2, 2, 2], 'the refused round left the model as it was');
});

/**
 * A two-round run of sites a and b stopped (SIGTERM) when site a gets a task `at` says, then
 * restarted from its state file with only a online: the restarted loop, waiting for b.
 */
async function stopAndRestart(open: () => CoordinatorStore, at: (task: TaskMeta) => boolean, stopped: RegExp) {
  let store = open();
  const first: Harness = harness({
    sites: ['a', 'b'],
    rounds: 2,
    store,
    behave: (site, task) => {
      if (at(task) && site === 'a') first.loop.stop('SIGTERM');
      return 'answer';
    },
  });
  await assert.rejects(alive(first.loop.run()), stopped);
  const saved = store.load()!.round;
  assert.equal(store.finished(), undefined);
  store.close();
  store = open();
  const h = harness({ sites: ['a', 'b'], rounds: 2, store, online: ['a'] });
  const run = alive(h.loop.run());
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(h.loop.state, 'waiting-for-sites');
  return { saved, store, h, run };
}

test('the durable state follows the lifecycle: rounds committed, finished marked only with the finished state', async (t) => {
  // A run that stops mid-round 2 leaves round 1 committed and the file not finished.
  const { saved, store, h, run } = await stopAndRestart(stateFile(t).open, (task) => task.kind === 'fit' && task.round === 2, /federation stopped after round 1 of 2/);
  assert.equal(saved, 1);
  // The restart resumes at round 2 (no statistics round), finishes, and marks the file.
  // While it waits for b, it shows what the run has done, not a run at round 0: the round it
  // resumes at, as a running loop shows the round it waits before, and what it waits for.
  assert.equal(h.loop.round, 2);
  assert.match(h.loop.stateChange?.reason ?? '', /starting needs 2 training sites online \(quorum.minSitesToStart.*1 are: waiting for b$/);
  assert.deepEqual(h.loop.history.map((r) => r.round), [1]);
  assert.deepEqual(h.directory.states().map((s) => s.roundsCompleted), [1, 1]);
  h.reconnect('b');
  const outcome = await run;
  assert.deepEqual(outcome.history.map((r) => r.round), [1, 2]);
  assert.equal(h.states[0]!.state, 'training', 'resumed straight into training');
  assert.equal(store.finished(), undefined, 'not finished before end()');
  await h.loop.end('federation complete', 'complete', 'runs/x/results.json');
  assert.equal(store.finished()?.results, 'runs/x/results.json');
  assert.equal(h.loop.state, 'finished');
  store.close();
});

test('after the end: only an acknowledgement is taken, once per telling; a site that rejoins is told again', async () => {
  const h = harness({ sites: ['a', 'b'], rounds: 1 });
  await alive(h.loop.run());
  await h.loop.end('federation complete', 'complete', 'runs/x/results.json');
  assert.deepEqual(h.loop.expectation('a'), { round: 2, kind: 'end-ack', maxPayloadBytes: 4096 });
  // A round's result whose upload began before the end is no acknowledgement.
  const late = { round: 2, kind: 'evaluate', numExamples: 1, metrics: {}, weights: 0 } as const;
  assert.throws(() => h.loop.deliver('a', late, () => {}), (e: unknown) => e instanceof ProtocolError && e.reason === 'not-expected');
  assert.equal(h.loop.ended?.wasHeard('a'), false);
  h.loop.deliver('a', { round: 2, kind: 'end', numExamples: 0, metrics: {}, weights: 0 }, () => {});
  assert.equal(h.loop.ended?.wasHeard('a'), true);
  assert.equal(h.loop.expectation('a'), undefined, 'nothing more from a');
  // a exits, is restarted within the coordinator's linger and joins again.
  h.directory.disconnect('a', h.directory.sink('a')!);
  h.reconnect('a');
  assert.deepEqual(h.loop.expectation('a'), { round: 2, kind: 'end-ack', maxPayloadBytes: 4096 }, 'told again, it acknowledges again');
});

test('a training round does not wait for revoked sites it needs: the run fails at once, naming them', async () => {
  const h: Harness = harness({
    sites: ['a', 'b', 'c'],
    rounds: 2,
    quorum: { minSitesToAccept: 3, minSitesToStart: 3, startTimeoutMs: 60_000 },
    behave: (site, t) => {
      if (t.kind !== 'fit' || t.round !== 1 || site !== 'c') return 'answer';
      // The operator revokes c (provision revoke-site) as it drops.
      h.directory.markRevoked('c');
      return 'disconnect';
    },
  });
  const started = Date.now();
  await assert.rejects(alive(h.loop.run()), /^Error: round 2 cannot be accepted: it needs 3 training sites \(quorum\.minSitesToAccept\) and c of its 3 are revoked \(provision revoke-site\)$/);
  assert.ok(Date.now() - started < 5000, 'not the 60 s start timeout');
});

test('stop while a training round waits for its quorum: the wait ends at once, nothing more is run, the state is stopped', async () => {
  const h: Harness = harness({
    sites: ['a', 'b'],
    rounds: 3,
    quorum: { minSitesToAccept: 2, startTimeoutMs: 60_000 },
    behave: (site, t) => (t.kind === 'fit' && t.round === 1 && site === 'b' ? 'disconnect' : 'answer'),
  });
  const run = alive(h.loop.run());
  while (!h.states.some((s) => s.state === 'waiting-for-sites' && s.round === 2)) await new Promise((r) => setTimeout(r, 10));
  const t0 = Date.now();
  h.loop.stop('SIGTERM');
  await assert.rejects(run, /^Error: federation stopped after round 1 of 3 \(SIGTERM\)$/);
  assert.ok(Date.now() - t0 < 5000, 'not the 60 s wait');
  assert.equal(h.loop.state, 'stopped');
  assert.deepEqual(h.loop.history.map((r) => r.round), [1]);
});

test('a restart after every round was committed shows the final evaluation it resumes at, never a round past it', async (t) => {
  const { saved, store, h, run } = await stopAndRestart(stateFile(t).open, (task) => task.kind === 'evaluate', /stopped during the final evaluation/);
  assert.equal(saved, 2);
  assert.equal(h.loop.round, 3, 'the final evaluation runs as round rounds + 1');
  h.reconnect('b');
  await run;
  assert.equal(h.loop.round, 3);
  store.close();
});

test('a restart with rounds lowered under the committed ones says so and goes to the final evaluation', async (t) => {
  const { open } = stateFile(t);
  const { store, h, run } = await stopAndRestart(open, (task) => task.kind === 'evaluate', /stopped during the final evaluation/);
  h.reconnect('b');
  await run;
  store.close();
  // Committed 2; restarted with rounds: 1.
  const lowered = open();
  const warned: string[] = [];
  const log = { ...silentLogger, warn: (m: string) => void warned.push(m), child: () => log };
  const again = harness({ sites: ['a', 'b'], rounds: 1, store: lowered, log });
  // A finished state is the coordinator's to refuse (main.ts); the loop itself resumes it.
  await alive(again.loop.run());
  assert.ok(warned.includes('rounds is 1 in coordinator.yaml, but 2 rounds were committed: the run goes to its final evaluation with the model of round 2'), warned.join('\n'));
  lowered.close();
});

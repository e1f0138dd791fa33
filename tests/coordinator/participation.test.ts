/**
 * Which sites a run trains with (coordinator/participation.ts), through the round loop on a
 * fake transport (round-loop-harness.ts): a site that missed the first statistics round is
 * left out and named, missed rounds are named, and a restarted coordinator keeps the same
 * sites out, also from state an earlier release wrote.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { CoordinatorStore } from '../../coordinator/state/store.ts';
import { alive, harness, stateFile, type Harness } from './round-loop-harness.ts';
import { OTHER_RELEASE, OTHER_SCHEMA, SiteDirectory } from '../../coordinator/directory.ts';
import { Participation, participationWarnings } from '../../coordinator/participation.ts';
import { captureWarnings } from '../shared/capture-logger.ts';

/** A run of a, b and c on `store` where c is silent at the statistics round (left out), stopped in round 2. */
async function leaveOutCThenStop(store: CoordinatorStore): Promise<void> {
  const h: Harness = harness({
    sites: ['a', 'b', 'c'],
    rounds: 2,
    store,
    quorum: { minSitesToAccept: 2, roundDeadlineMs: 150 },
    behave: (site, task) => {
      if (task.kind === 'stats' && site === 'c') return 'silent';
      if (task.kind === 'fit' && task.round === 2 && site === 'a') h.loop.stop('SIGTERM');
      return 'answer';
    },
  });
  await assert.rejects(alive(h.loop.run()), /federation stopped after round 1 of 2/);
}

test('a site whose statistics were not counted trains in no round, and the results say so', async () => {
  // c is silent at the statistics round (offline, late): the run goes on with a and b.
  const h = harness({
    sites: ['a', 'b', 'c'],
    rounds: 2,
    quorum: { minSitesToAccept: 2, roundDeadlineMs: 150 },
    behave: (site, t) => (site === 'c' && t.kind === 'stats' ? 'silent' : 'answer'),
  });
  const outcome = await alive(h.loop.run());
  // Asked for the statistics and scored at the final evaluation; never sent a training task.
  assert.deepEqual(h.sent.get('c'), ['stats-1:0', 'evaluate:3']);
  assert.deepEqual(h.sent.get('a'), ['stats-1:0', 'fit:1', 'fit:2', 'evaluate:3']);
  // Its rounds are not failures of c: it was not asked.
  assert.deepEqual(outcome.history.map((r) => [r.participants, r.failed]), [[2, []], [2, []]]);
  assert.deepEqual(outcome.problems, []);
  assert.deepEqual(outcome.warnings, [
    'site "c" trained in no round: its statistics were not counted (no answer within the 0.15s round deadline), so it does not train in this run: ' +
      'restart the run with every site online to include it; its final metrics score a model trained without it',
  ]);
  assert.ok(outcome.sites.c, 'c is scored at the final evaluation');
  assert.match(h.directory.states().find((x) => x.name === 'c')!.lastFailure!.reason, /^left out of training: its statistics were not counted/);
});

test('a site missing from some accepted rounds is named with the rounds and why', async () => {
  const h = harness({
    sites: ['a', 'b', 'c'],
    rounds: 4,
    quorum: { minSitesToAccept: 2 },
    behave: (site, t) => (site === 'c' && t.kind === 'fit' && (t.round === 2 || t.round === 3) ? 'error' : site === 'b' && t.kind === 'fit' && t.round === 4 ? 'reject' : 'answer'),
  });
  const outcome = await alive(h.loop.run());
  assert.deepEqual(outcome.warnings, [
    'site "b" trained in 3 of 4 accepted rounds (missing from round 4: update refused: bad signature)',
    'site "c" trained in 2 of 4 accepted rounds (missing from rounds 2-3: site reported a failure: non-finite loss)',
  ]);
});

test('a restarted coordinator keeps the sites its statistics were agreed without out of training', async (t) => {
  const { open } = stateFile(t);
  let store = open();
  await leaveOutCThenStop(store);
  store.close();
  store = open();
  const h = harness({ sites: ['a', 'b', 'c'], rounds: 2, store, quorum: { minSitesToAccept: 2 } });
  const outcome = await alive(h.loop.run());
  assert.deepEqual(h.sent.get('c'), ['evaluate:3'], 'c, online now, is still not sent a training task');
  assert.match(outcome.warnings.join('\n'), /^site "c" trained in no round: its statistics were not counted/);
  store.close();
});

test('a stop during the statistics round leaves nobody out: the restart asks every site again', async (t) => {
  const { open } = stateFile(t);
  let store = open();
  let h: Harness;
  // c is still computing its statistics when the coordinator is asked to stop.
  h = harness({
    sites: ['a', 'b', 'c'],
    rounds: 1,
    store,
    quorum: { minSitesToAccept: 2 },
    behave: (site, task) => {
      if (task.kind === 'stats' && site === 'c') {
        h.loop.stop('SIGTERM');
        return 'silent';
      }
      return 'answer';
    },
  });
  await assert.rejects(alive(h.loop.run()), /federation stopped during the statistics rounds \(SIGTERM\)/);
  assert.equal(store.load(), undefined, 'nothing committed');
  store.close();
  store = open();
  h = harness({ sites: ['a', 'b', 'c'], rounds: 1, store, quorum: { minSitesToAccept: 2 } });
  const outcome = await alive(h.loop.run());
  assert.deepEqual(h.sent.get('c'), ['stats-1:0', 'fit:1', 'evaluate:2']);
  assert.deepEqual(outcome.warnings, []);
  store.close();
});

test('state from a release before leftOut was kept: the plain run\'s sites without statistics rows stay out', async (t) => {
  const { open } = stateFile(t);
  let store = open();
  await leaveOutCThenStop(store);
  // As the earlier release wrote it: siteRows, no leftOut.
  const saved = store.load()!;
  const { leftOut, ...older } = saved.setup as Record<string, unknown>;
  assert.ok(leftOut, 'this release saves leftOut');
  store.commitSetup(older, saved.global);
  store.close();
  store = open();
  const h = harness({ sites: ['a', 'b', 'c'], rounds: 2, store, quorum: { minSitesToAccept: 2 } });
  const outcome = await alive(h.loop.run());
  assert.deepEqual(h.sent.get('c'), ['evaluate:3'], 'c, with no statistics rows, is not sent a training task');
  assert.match(outcome.warnings.join('\n'), /^site "c" trained in no round: its statistics were not counted \(before the coordinator restarted\)/);
  store.close();
});

test('a site refused as revoked is left out with why and how to bring it back, without waiting for it', async () => {
  const h = harness({ sites: ['a', 'b', 'c'], rounds: 1, online: ['a', 'b'], quorum: { minSitesToStart: 2, minSitesToAccept: 2, rejoinGraceMs: 60_000, waitForAllMs: 60_000 } });
  h.directory.markRevoked('c');
  const outcome = await alive(h.loop.run());
  assert.deepEqual(outcome.problems, []);
  assert.ok(
    outcome.warnings.some(
      (w) =>
        w.startsWith('site "c" trained in no round: its statistics were not counted (its certificate is revoked (provision revoke-site)') &&
        w.includes('issue it new keys (provision add-site --replace)') &&
        // It has no final metrics to speak of (an outside try read "its final metrics" of a revoked site).
        !w.includes('its final metrics'),
    ),
    outcome.warnings.join('\n'),
  );
});

test('a site refused at its join as another fedcausal release is left out saying so, with the remedy for it', async () => {
  const h = harness({ sites: ['a', 'b', 'c'], rounds: 1, online: ['a', 'b'], quorum: { minSitesToStart: 2, minSitesToAccept: 2 } });
  h.directory.recordRefusedJoin('c', OTHER_RELEASE, 'site speaks protocol version 2 (fedcausal 0.1.0), this coordinator speaks 3 (fedcausal 0.1.0)');
  const outcome = await alive(h.loop.run());
  const why = h.directory.states().find((s) => s.name === 'c')!.leftOut ?? '';
  assert.match(why, /^its statistics were not counted \(its join was refused as another fedcausal release: site speaks protocol version 2 .*\), so it does not train in this run: install the coordinator's fedcausal release at the site/);
  assert.ok(outcome.warnings.some((w) => w.includes('another fedcausal release')), outcome.warnings.join('\n'));
});

test('a site refused at its join for another schema is left out saying so, with the remedy for it', async () => {
  const h = harness({ sites: ['a', 'b', 'c'], rounds: 1, online: ['a', 'b'], quorum: { minSitesToStart: 2, minSitesToAccept: 2 } });
  h.directory.recordRefusedJoin('c', OTHER_SCHEMA, 'site "c" uses another schema than the federation\'s (label: ...)');
  const outcome = await alive(h.loop.run());
  const why = h.directory.states().find((s) => s.name === 'c')!.leftOut ?? '';
  assert.match(why, /^its statistics were not counted \(its join was refused for another schema than the federation's: site "c" uses another schema .*\), so it does not train in this run: give the site the schema\.json of the coordinator's kit/);
  assert.ok(outcome.warnings.some((w) => w.includes('another schema')), outcome.warnings.join('\n'));
});

test('a site refused as another release while the statistics round waits for it is said so when the wait runs out, not offline', async () => {
  const h = harness({ sites: ['a', 'b', 'c'], rounds: 1, online: ['a', 'b'], quorum: { minSitesToStart: 2, minSitesToAccept: 2, rejoinGraceMs: 200 } });
  // Its join is refused during the grace (the harness's directory stands in for the endpoint).
  setTimeout(() => h.directory.recordRefusedJoin('c', OTHER_RELEASE, 'site speaks protocol version 2 (fedcausal 0.1.0), this coordinator speaks 3 (fedcausal 0.1.0)'), 50);
  await alive(h.loop.run());
  assert.match(h.directory.states().find((s) => s.name === 'c')!.leftOut ?? '', /its join was refused as another fedcausal release: site speaks protocol version 2 .*, and was not back within 0\.2s\), so it does not train in this run: install the coordinator's fedcausal release/);
});

test('a site that joined without its schema (an earlier build) is named in the run\'s warnings, with what to check', async () => {
  const h = harness({ sites: ['a', 'b'], rounds: 1 });
  h.directory.recordSchemaUnchecked('b', '0.1.0+old');
  const outcome = await alive(h.loop.run());
  assert.ok(
    outcome.warnings.some((w) => w.startsWith('site "b" sent no schema when it joined (fedcausal 0.1.0+old, an earlier build): its schema.json was never compared') && w.includes("the coordinator's schema.json")),
    outcome.warnings.join('\n'),
  );
  // A later join with its schema clears it.
  h.directory.recordSchemaChecked('b');
  assert.deepEqual(h.directory.uncheckedSchemas(), {});
});

// A round the coordinator did not accept trained nobody: a site's failure there is no round it missed.
test('a site\'s failure in a round that was not accepted gives no warning, and is not counted among its missed rounds', () => {
  const failed = (site: string, reason: string) => [{ site, reason }];
  assert.deepEqual(participationWarnings(['a', 'b'], {}, [
    { round: 1, accepted: false, failed: failed('a', 'site reported a failure: non-finite loss') },
    { round: 2, accepted: true, failed: [] },
  ]), [], 'a failed only in round 1, which was not accepted');
  assert.deepEqual(participationWarnings(['a', 'b'], {}, [
    { round: 1, accepted: false, failed: failed('a', 'no answer') },
    { round: 2, accepted: true, failed: failed('a', 'update refused: bad signature') },
    { round: 3, accepted: true, failed: [] },
  ]), ['site "a" trained in 1 of 2 accepted rounds (missing from round 2: update refused: bad signature)'], 'the rejected round 1 is neither counted nor named');
});

/** A Participation of a, b and c restored from `saved`: the sites it keeps out. */
function restoredLeftOut(saved: Parameters<Participation['restore']>[0], secure: boolean): Record<string, string> {
  const p = new Participation(['a', 'b', 'c'], new SiteDirectory(['a', 'b', 'c'].map((name) => ({ name, signingPublicKey: new Uint8Array(32) }))), captureWarnings().log);
  p.restore(saved, secure);
  return p.saved();
}

// Only a plain run's earlier state says, by its missing stage-1 rows, who was left out: a secure
// run has no per-site rows, and state that saved leftOut is read as saved.
test('restoring: only a plain run\'s state without leftOut keeps the sites without statistics rows out', () => {
  const rows = { a: 10, b: 12 };
  assert.deepEqual(Object.keys(restoredLeftOut({ siteRows: rows }, false)), ['c'], 'plain, an earlier release\'s state: c (no rows) stays out');
  assert.deepEqual(restoredLeftOut({ siteRows: rows }, true), {}, 'secure: nobody is kept out by the rows');
  assert.deepEqual(restoredLeftOut({ siteRows: rows, leftOut: {} }, false), {}, 'leftOut saved (empty): read as it is, not from the rows');
  assert.deepEqual(restoredLeftOut({ siteRows: rows, leftOut: { b: 'why' } }, false), { b: 'why' }, 'leftOut saved: as saved');
  assert.deepEqual(restoredLeftOut({}, false), {}, 'no rows, no leftOut: nobody');
});

import { test, mock } from 'node:test';
import assert from 'node:assert/strict';
import { SiteDirectory } from '../../coordinator/directory.ts';
import { roundNeed, waitForStartQuorum } from '../../coordinator/start-quorum.ts';
import { silentLogger } from '../../shared/logger.ts';

// Two of three sites online: the start waits waitForAllMs for the third, then goes on.
const directory = { online: () => ['a', 'b'], onChange: () => () => {}, isRevoked: () => false, withdrawal: () => undefined } as unknown as SiteDirectory;
const quorum = { minSitesToStart: 2, minSitesToAccept: 2, rejoinGraceMs: 0, roundDeadlineMs: 1000, startTimeoutMs: 5000, waitForAllMs: 50 };

test('the wait for every site ends on its own timer, even when the wall clock lags behind it', async (t) => {
  // A timer may fire a moment before Date.now() says the time is up; frozen here, the clock
  // never says so. Reading the clock, the wait would run on to the start timeout (5 s).
  const frozen = Date.now();
  mock.method(Date, 'now', () => frozen);
  t.after(() => mock.restoreAll());
  const started = performance.now();
  await waitForStartQuorum(['a', 'b', 'c'], directory, quorum, new AbortController().signal, silentLogger);
  assert.ok(performance.now() - started < 2000, `started after ${Math.round(performance.now() - started)} ms, not at the 50 ms wait`);
});

test('a site refused as revoked is not waited for: the start goes on once every other site is online', async () => {
  const real = new SiteDirectory(['a', 'b', 'c'].map((name) => ({ name, signingPublicKey: new Uint8Array(32) })));
  const sink = { send: async () => {}, end: () => {} };
  real.connect('a', sink);
  real.connect('b', sink);
  const started = performance.now();
  const waiting = waitForStartQuorum(['a', 'b', 'c'], real, { ...quorum, waitForAllMs: 60_000 }, new AbortController().signal, silentLogger);
  setTimeout(() => real.markRevoked('c'), 20);
  await waiting;
  assert.ok(performance.now() - started < 5000, 'not the 60 s wait for every site');
});

test('a round needs the quorum, or what a secure sum needs to be decoded, never more than its sites', () => {
  assert.deepEqual(roundNeed(2, undefined, 3), { sites: 2, setting: 'quorum.minSitesToAccept' });
  // 3 sites, secure: minSites 3 and the default threshold floor(2 x 3 / 3) + 1 = 3 (a sum of 2 would abort).
  assert.deepEqual(roundNeed(2, { minSites: 3 }, 3), { sites: 3, setting: "secureAggregation's minSites and threshold" });
  // 6 sites: threshold 5 over the quorum's 3.
  assert.deepEqual(roundNeed(3, { minSites: 3 }, 6), { sites: 5, setting: "secureAggregation's minSites and threshold" });
  assert.deepEqual(roundNeed(3, { minSites: 3, threshold: 4 }, 6).sites, 4);
  // SecAgg+: the threshold is per neighbourhood; the minimum is the round's.
  assert.deepEqual(roundNeed(2, { minSites: 3, neighbours: 2 }, 6).sites, 3);
  // Fewer participants than any of them (sites left out): all of them.
  assert.deepEqual(roundNeed(4, undefined, 3).sites, 3);
});

test('a start that has to wait says what for, and one that times out names the sites that never joined', async () => {
  const real = new SiteDirectory(['a', 'b', 'c'].map((name) => ({ name, signingPublicKey: new Uint8Array(32) })));
  real.connect('a', { send: async () => {}, end: () => {} });
  const reasons: string[] = [];
  await assert.rejects(
    waitForStartQuorum(['a', 'b', 'c'], real, { ...quorum, startTimeoutMs: 50, waitForAllMs: 10 }, new AbortController().signal, silentLogger, (r) => reasons.push(r)),
    /only 1 of 2 required training sites joined within 0.05s \(quorum.startTimeoutSeconds\); not joined: b, c$/,
  );
  assert.deepEqual(reasons, ['starting needs 2 training sites online (quorum.minSitesToStart; once they are, every site is awaited for up to 0.01s more, quorum.waitForAllSeconds), 1 are: waiting for b, c']);
  // A site that joins during the wait is said at once (the reason read "0 are" for a whole wait with two online).
  const later: string[] = [];
  const waitingForAll = waitForStartQuorum(['a', 'b', 'c'], real, { ...quorum, minSitesToStart: 3, startTimeoutMs: 5000, waitForAllMs: 5000 }, new AbortController().signal, silentLogger, (r) => later.push(r));
  real.connect('b', { send: async () => {}, end: () => {} });
  real.connect('c', { send: async () => {}, end: () => {} });
  await waitingForAll;
  assert.deepEqual(later.map((r) => r.replace(/^.*\), /, '')), ['1 are: waiting for b, c', '2 are: waiting for c']);
  // Nothing to wait for: no reason is given.
  await waitForStartQuorum(['a'], real, { ...quorum, minSitesToStart: 1 }, new AbortController().signal, silentLogger, (r) => reasons.push(r));
  assert.equal(reasons.length, 1);
});

test('a start that revoked sites put out of reach fails at once, naming them', async () => {
  const real = new SiteDirectory(['a', 'b', 'c'].map((name) => ({ name, signingPublicKey: new Uint8Array(32) })));
  real.connect('a', { send: async () => {}, end: () => {} });
  const started = performance.now();
  const waiting = waitForStartQuorum(['a', 'b', 'c'], real, { ...quorum, minSitesToStart: 3, waitForAllMs: 60_000, startTimeoutMs: 60_000 }, new AbortController().signal, silentLogger);
  setTimeout(() => real.markRevoked('c'), 20);
  await assert.rejects(waiting, /^Error: starting: it needs 3 training sites \(quorum.minSitesToStart\) and c of its 3 are revoked \(provision revoke-site\)$/);
  assert.ok(performance.now() - started < 5000, 'not the 60 s start timeout');
});

test('with the quorum online the start still waits for every site (quorum.waitForAllSeconds), and goes on the moment the last one joins', async () => {
  // A mutant that started as soon as the quorum was online left a slow hospital out of the whole run (an audit of what the tests catch).
  const real = new SiteDirectory(['a', 'b', 'c'].map((name) => ({ name, signingPublicKey: new Uint8Array(32) })));
  const sink = { send: async () => {}, end: () => {} };
  real.connect('a', sink);
  real.connect('b', sink);
  let started = false;
  const waiting = waitForStartQuorum(['a', 'b', 'c'], real, { ...quorum, waitForAllMs: 60_000, startTimeoutMs: 120_000 }, new AbortController().signal, silentLogger).then(() => {
    started = true;
  });
  await new Promise((r) => setTimeout(r, 200));
  assert.equal(started, false, 'two of three online: still waiting for c');
  const joined = performance.now();
  real.connect('c', sink);
  await waiting;
  assert.ok(performance.now() - joined < 2000, 'started once c joined, not at the 60 s wait');
});

test('the wait for every site counts from the quorum, not from the start: a site a little after the first two still takes part', async () => {
  const real = new SiteDirectory(['a', 'b', 'c'].map((name) => ({ name, signingPublicKey: new Uint8Array(32) })));
  const sink = { send: async () => {}, end: () => {} };
  const reasons: string[] = [];
  const waiting = waitForStartQuorum(['a', 'b', 'c'], real, { ...quorum, waitForAllMs: 300 }, new AbortController().signal, silentLogger, (r) => reasons.push(r)).then(() => real.online().sort());
  // Nobody for longer than waitForAll; then two; then the third within waitForAll of the two.
  await new Promise((r) => setTimeout(r, 400));
  real.connect('a', sink);
  real.connect('b', sink);
  await new Promise((r) => setTimeout(r, 150));
  real.connect('c', sink);
  assert.deepEqual(await waiting, ['a', 'b', 'c'], 'started with all three');
  assert.match(reasons.at(-1)!, /^2 of the 3 training sites are online, enough to start \(quorum\.minSitesToStart 2\): waiting up to 0\.3s from then for c \(quorum\.waitForAllSeconds\)$/);
});

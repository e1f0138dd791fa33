import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ProtocolError } from '../../../shared/errors.ts';
import { ReplayGuard } from '../../../shared/crypto/replay-guard.ts';
import type { SealedHeader } from '../../../shared/crypto/envelope.ts';

const WINDOW = 60_000;
const T0 = 1_700_000_000_000;
let counter = 0;

/** A header as verifyHeader would return it; only the fields the guard reads matter. */
function header(over: Partial<SealedHeader> = {}): SealedHeader {
  counter++;
  return {
    version: 1,
    federation: 'fed-1',
    round: 3,
    site: 'site-a',
    kind: 'fit-result',
    messageId: counter.toString(16).padStart(32, '0'),
    createdAt: T0,
    payloadLength: 0,
    chunkSize: 1024,
    chunkCount: 1,
    payloadSha256: '0'.repeat(64),
    encrypted: false,
    ...over,
  };
}

function clock(start = T0) {
  const c = { t: start, now: () => c.t };
  return c;
}

const expect3 = { federation: 'fed-1', round: 3, kinds: ['fit-result', 'eval-result'] };

function rejects(fn: () => unknown, reason: ProtocolError['reason'], mention?: string): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof ProtocolError, `expected ProtocolError, got ${String(err)}`);
    assert.equal(err.reason, reason, `wrong reason; message: ${err.message}`);
    if (mention) assert.ok(err.message.includes(mention), `${JSON.stringify(err.message)} should mention ${mention}`);
    return true;
  });
}

test('accepts a fresh, expected message and remembers it', () => {
  const guard = new ReplayGuard({ maxAgeMs: WINDOW, now: clock().now });
  guard.check(header(), expect3);
  assert.deepEqual(guard.size, { messageIds: 1, claims: 1 });
});

test('a reused messageId is a replay, even for another slot', () => {
  const guard = new ReplayGuard({ maxAgeMs: WINDOW, now: clock().now });
  const h = header();
  guard.check(h, expect3);
  rejects(() => guard.check(h, expect3), 'replay');
  rejects(() => guard.check({ ...h, kind: 'eval-result' }, expect3), 'replay', h.messageId);
});

test('wrong federation is malformed and names both', () => {
  const guard = new ReplayGuard({ maxAgeMs: WINDOW, now: clock().now });
  rejects(() => guard.check(header({ federation: 'fed-2' }), expect3), 'malformed', '"fed-2", expected "fed-1"');
});

test('another round is stale-round with got/expected', () => {
  const guard = new ReplayGuard({ maxAgeMs: WINDOW, now: clock().now });
  rejects(() => guard.check(header({ round: 2 }), expect3), 'stale-round', 'round 2, expected round 3');
  rejects(() => guard.check(header({ round: 4 }), expect3), 'stale-round', 'round 4, expected round 3');
  guard.check(header({ round: 9 }), { federation: 'fed-1' }); // no round expectation: any round
});

test('an unexpected kind is not-expected', () => {
  const guard = new ReplayGuard({ maxAgeMs: WINDOW, now: clock().now });
  rejects(() => guard.check(header({ kind: 'join' }), expect3), 'not-expected', '"fit-result", "eval-result"');
  rejects(() => guard.check(header(), { federation: 'fed-1', kinds: [] }), 'not-expected', 'expecting nothing');
});

test('createdAt must lie within the window either side of now', () => {
  const c = clock();
  const guard = new ReplayGuard({ maxAgeMs: WINDOW, now: c.now });
  guard.check(header({ createdAt: T0 - WINDOW, kind: 'fit-result' }), expect3); // boundary accepted
  guard.check(header({ createdAt: T0 + WINDOW, kind: 'eval-result' }), expect3);
  const old = { federation: 'fed-1' };
  rejects(() => guard.check(header({ createdAt: T0 - WINDOW - 1 }), old), 'replay', 'older than');
  rejects(() => guard.check(header({ createdAt: T0 + WINDOW + 1 }), old), 'replay', 'in the future');
});

test("out of the window, the host clocks are named: the reader's and the sender's (a task is the coordinator's: it names the site it is for)", () => {
  // A site whose clock ran 10 min ahead refused the coordinator's first task "from site \"cleveland\"" and named no clock (an outside try);
  // "this host" in a refusal sent to the other side named the wrong one.
  const any = { federation: 'fed-1' };
  const atSite = new ReplayGuard({ maxAgeMs: 600_000, now: clock().now, reader: 'site "cleveland"' });
  assert.throws(() => atSite.check(header({ kind: 'task-stats-1', site: 'cleveland', createdAt: T0 - 600_015 }), any), {
    message:
      "task-stats-1 from the coordinator was created 600015 ms ago (10 min), older than the 600000 ms (10 min) replay window: a message sent again, or site \"cleveland\"'s clock ahead of the coordinator's by about that much: set both hosts' clocks by NTP (timedatectl status says whether a host is synchronised)",
  });
  const atCoordinator = new ReplayGuard({ maxAgeMs: 600_000, now: clock().now, reader: 'the coordinator' });
  assert.throws(() => atCoordinator.check(header({ kind: 'join', site: 'cleveland', createdAt: T0 + 86_400_000 }), any), {
    message:
      'join from site "cleveland" was created 86400000 ms in the future (24 h), beyond the 600000 ms (10 min) clock-skew window: site "cleveland"\'s clock is ahead of the coordinator\'s by about that much: set both hosts\' clocks by NTP (timedatectl status says whether a host is synchronised)',
  });
});

test('a second message for the same (site, round, kind) is refused; other slots are independent', () => {
  const guard = new ReplayGuard({ maxAgeMs: WINDOW, now: clock().now });
  guard.check(header(), expect3);
  rejects(() => guard.check(header(), expect3), 'replay', 'second fit-result for round 3');
  guard.check(header({ kind: 'eval-result' }), expect3);
  guard.check(header({ site: 'site-b' }), expect3);
  guard.check(header({ round: 4 }), { ...expect3, round: 4 });
});

test('release() frees the slot for a resend but the old messageId stays refused', () => {
  const guard = new ReplayGuard({ maxAgeMs: WINDOW, now: clock().now });
  const first = header();
  guard.check(first, expect3);
  guard.release(first);
  rejects(() => guard.check(first, expect3), 'replay', 'reuses message id');
  guard.check(header(), expect3);
  rejects(() => guard.check(header(), expect3), 'replay', 'second');
});

test('a rejected message is not recorded', () => {
  const guard = new ReplayGuard({ maxAgeMs: WINDOW, now: clock().now });
  const h = header();
  rejects(() => guard.check(h, { ...expect3, round: 2 }), 'stale-round');
  guard.check(h, expect3);
});

test('memory is bounded: old message ids and past rounds are forgotten, and stay refused', () => {
  const c = clock();
  const guard = new ReplayGuard({ maxAgeMs: WINDOW, now: c.now });
  const early = header({ createdAt: c.t, site: 'site-0' });
  guard.check(early, expect3);
  let peak = 0;
  for (let i = 1; i <= 2000; i++) {
    c.t += 1000; // one message a second for over half an hour
    guard.check(header({ createdAt: c.t, site: `site-${i}` }), expect3);
    peak = Math.max(peak, guard.size.messageIds);
  }
  // At most the window plus one sweep interval of ids: 60 s + 15 s at 1/s.
  assert.ok(peak <= 76, `remembered up to ${peak} message ids`);
  assert.ok(guard.size.messageIds >= 60, 'ids inside the window must still be remembered');
  rejects(() => guard.check(early, { federation: 'fed-1' }), 'replay');

  assert.equal(guard.size.claims, 2001);
  guard.check(header({ createdAt: c.t, round: 4 }), { ...expect3, round: 4 });
  assert.equal(guard.size.claims, 1, 'claims of round 3 dropped once round 4 is expected');
});

test('a forgotten id stays refused if the clock steps back', () => {
  const c = clock();
  const guard = new ReplayGuard({ maxAgeMs: WINDOW, now: c.now });
  const h = header({ createdAt: c.t });
  guard.check(h, { federation: 'fed-1' });
  c.t += WINDOW + 20_000;
  guard.check(header({ createdAt: c.t, site: 'site-b' }), { federation: 'fed-1' }); // sweeps, forgetting h
  assert.equal(guard.size.messageIds, 1);
  guard.release(h); // so only the forgotten-id rule can refuse it
  c.t = h.createdAt + 1000; // clock stepped back: h would be in the window again
  rejects(() => guard.check(h, { federation: 'fed-1' }), 'replay', 'older than');
});

test('maxAgeMs must be positive', () => {
  assert.throws(() => new ReplayGuard({ maxAgeMs: 0 }), RangeError);
  assert.throws(() => new ReplayGuard({ maxAgeMs: Number.NaN }), RangeError);
});

test('a restarted guard keeps refusing the ids its predecessor accepted; released claims let a round be answered anew', () => {
  const kept: [string, number][] = [];
  const before = new ReplayGuard({ maxAgeMs: WINDOW, now: () => T0, onAccept: (id, at) => kept.push([id, at]) });
  const h = header({ round: 7 });
  before.check(h, { federation: 'fed-1' });
  assert.deepEqual(kept, [[h.messageId, T0]]);

  const after = new ReplayGuard({ maxAgeMs: WINDOW, now: () => T0 + 1000 });
  after.restore(kept);
  assert.throws(() => after.check(h, { federation: 'fed-1' }), (e: unknown) => e instanceof ProtocolError && e.reason === 'replay');
  // The same round asked again gets a new answer (new id) through.
  after.check(header({ round: 7 }), { federation: 'fed-1' });
  assert.throws(() => after.check(header({ round: 7 }), { federation: 'fed-1' }), /second fit-result for round 7/);
  after.releaseClaims();
  after.check(header({ round: 7 }), { federation: 'fed-1' });
  assert.throws(() => after.check(h, { federation: 'fed-1' }), /reuses message id/);
});

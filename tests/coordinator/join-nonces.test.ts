import { test } from 'node:test';
import assert from 'node:assert/strict';
import { JoinNonces, MAX_OUTSTANDING_PER_SITE, NONCE_TTL_MS } from '../../coordinator/join-nonces.ts';
import { ProtocolError } from '../../shared/errors.ts';

const b64 = (n: Uint8Array) => Buffer.from(n).toString('base64');
const replay = (message: RegExp) => (e: unknown) => e instanceof ProtocolError && e.reason === 'replay' && message.test(e.message);

test('a nonce is accepted once, for the site it was issued to, within its time', () => {
  let now = 1_000_000;
  const nonces = new JoinNonces(() => now);
  const n = b64(nonces.issue('a'));
  now += NONCE_TTL_MS;
  nonces.consume(n, 'a');
  assert.throws(() => nonces.consume(n, 'a'), replay(/did not issue \(or already used\)/), 'used once');
});

test('an expired nonce is refused as a replay', () => {
  let now = 1_000_000;
  const nonces = new JoinNonces(() => now);
  const n = b64(nonces.issue('a'));
  now += NONCE_TTL_MS + 1;
  assert.throws(() => nonces.consume(n, 'a'), replay(/expired challenge nonce/));
});

test("a nonce issued to one site's connection is refused from another site", () => {
  const nonces = new JoinNonces();
  const n = b64(nonces.issue('a'));
  assert.throws(() => nonces.consume(n, 'b'), replay(/issued to site "a", not "b"/));
  assert.throws(() => nonces.consume(n, 'a'), replay(/did not issue/), 'the refused try used it up');
  // In process there is no certificate: a nonce issued to no site is any site's.
  nonces.consume(b64(nonces.issue(undefined)), 'b');
});

test('a join without a nonce, or with one never issued, is refused', () => {
  const nonces = new JoinNonces();
  assert.throws(() => nonces.consume(undefined, 'a'), replay(/carries no challenge nonce/));
  assert.throws(() => nonces.consume(b64(new Uint8Array(32)), 'a'), replay(/did not issue/));
});

test("one site asking for nonces by the thousand keeps its newest few and never pushes out another site's", () => {
  const nonces = new JoinNonces();
  const theirs = b64(nonces.issue('b'));
  const mine = Array.from({ length: 5000 }, () => b64(nonces.issue('a')));
  nonces.consume(theirs, 'b');
  for (const n of mine.slice(-MAX_OUTSTANDING_PER_SITE)) nonces.consume(n, 'a');
  assert.throws(() => nonces.consume(mine.at(-MAX_OUTSTANDING_PER_SITE - 1), 'a'), replay(/did not issue/), 'its older ones went first');
});

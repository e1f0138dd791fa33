import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SiteDirectory } from '../../coordinator/directory.ts';
import { ProtocolError } from '../../shared/errors.ts';
import type { TaskSink } from '../../shared/transport/types.ts';

function sink(): TaskSink & { ended?: string } {
  const s: TaskSink & { ended?: string } = { send: async () => {}, end: (reason) => void (s.ended = reason) };
  return s;
}

const directory = () => new SiteDirectory([{ name: 'a', signingPublicKey: new Uint8Array(32) }]);
const alreadyConnected = (e: unknown) => e instanceof ProtocolError && e.reason === 'already-connected' && /site "a" is already connected/.test(e.message);

test('a second connection for a connected site is refused; the first keeps the site', () => {
  const d = directory();
  const first = sink();
  d.connect('a', first, 'process-1');
  for (const session of ['process-2', undefined]) assert.throws(() => d.connect('a', sink(), session), alreadyConnected, `session ${session}`);
  assert.equal(d.sink('a'), first);
  assert.equal(first.ended, undefined, 'the first connection is left alone');
  assert.deepEqual(d.online(), ['a']);
});

test('a connection without a session refuses every later one', () => {
  const d = directory();
  d.connect('a', sink());
  assert.throws(() => d.connect('a', sink()), alreadyConnected);
});

test('the same process reconnecting replaces its own stream at once', () => {
  const d = directory();
  const dead = sink();
  d.connect('a', dead, 'process-1');
  const fresh = sink();
  d.connect('a', fresh, 'process-1');
  assert.equal(d.sink('a'), fresh);
  assert.match(dead.ended ?? '', /replaced by the same site process/);
  // The dead stream's late close does not take the site offline.
  d.disconnect('a', dead);
  assert.deepEqual(d.online(), ['a']);
});

test('once the old stream is closed (as keepalive closes a dead one), a new process joins', () => {
  const d = directory();
  const old = sink();
  d.connect('a', old, 'process-1');
  d.disconnect('a', old);
  assert.deepEqual(d.online(), []);
  const next = sink();
  d.connect('a', next, 'process-2');
  assert.equal(d.sink('a'), next);
});

test('a refusal shows with its time until the site next completes a round', () => {
  const d = directory();
  d.recordError('a', 'site "a" is already connected to this coordinator from another process');
  const refused = d.states()[0]!;
  assert.match(refused.lastError ?? '', /already connected/);
  assert.ok(refused.lastErrorAt! > 0, 'the operator can tell an old refusal from a new one');
  d.recordCompleted('a', 1, 100);
  const after = d.states()[0]!;
  assert.equal(after.lastError, undefined, 'a refusal the site has since got past is not its state');
  assert.equal(after.lastErrorAt, undefined);
  assert.equal(after.roundsCompleted, 1);
  assert.equal(after.rows, 100);
});

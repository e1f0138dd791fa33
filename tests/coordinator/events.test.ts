import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventLog, eventOf, tapEvents } from '../../coordinator/events.ts';
import type { Logger } from '../../shared/logger.ts';

test('joins, drops, refusals and failures become events with their reasons; routine lines do not', () => {
  assert.deepEqual(eventOf('info', 'site joined', { site: 'va' }), { kind: 'join', site: 'va', message: 'va joined' });
  assert.deepEqual(eventOf('warn', 'site disconnected', { site: 'va' }), { kind: 'drop', site: 'va', message: 'va disconnected' });
  assert.deepEqual(eventOf('warn', 'message refused', { site: 'va', reason: 'bad-signature', error: 'signature does not verify' }), {
    kind: 'refusal', site: 'va', message: 'message from va refused: signature does not verify', reason: 'bad-signature',
  });
  assert.deepEqual(eventOf('warn', 'round failure', { site: 'va', round: 3, reason: 'site went offline during the round' }), {
    kind: 'failure', site: 'va', round: 3, message: 'va failed round 3', reason: 'site went offline during the round',
  });
  assert.equal(eventOf('warn', 'round failure', { site: 'va', round: 7, kind: 'evaluate', reason: 'x' })?.message, 'va failed the final evaluation');
  assert.equal(eventOf('info', 'federation state', { state: 'training', round: 2 }), undefined);
  assert.equal(eventOf('info', 'federation state', { state: 'finished', round: 6 })?.message, 'state finished');
  assert.equal(eventOf('info', 'http listening', {}), undefined);
  assert.equal(eventOf('warn', 'could not send task', { site: 'va' })?.message, 'could not send task (va)');
});

test('the log is bounded, oldest dropped first', () => {
  const log = new EventLog(3);
  for (let i = 1; i <= 5; i++) log.add({ kind: 'join', message: `m${i}` }, new Date(i * 1000));
  assert.deepEqual(log.list().map((e) => e.message), ['m3', 'm4', 'm5']);
  assert.equal(log.list()[0]!.at, new Date(3000).toISOString());
});

test('routine round commits keep only the newest few: a restart long ago is still in the log', () => {
  const log = new EventLog(10, 3);
  log.add({ kind: 'drop', site: 'va', message: 'va disconnected' });
  log.add({ kind: 'join', site: 'va', message: 'va joined' });
  for (let r = 1; r <= 1000; r++) log.add({ kind: 'round', round: r, message: `round ${r} committed` });
  log.add({ kind: 'warning', message: 'update clipped' });
  assert.deepEqual(log.list().map((e) => e.message), ['va disconnected', 'va joined', 'round 998 committed', 'round 999 committed', 'round 1000 committed', 'update clipped']);
});

test('tapEvents passes every line on and records from child loggers too', () => {
  const seen: string[] = [];
  const base: Logger = {
    debug: (m) => seen.push(`debug ${m}`), info: (m) => seen.push(`info ${m}`), warn: (m) => seen.push(`warn ${m}`), error: (m) => seen.push(`error ${m}`),
    child: () => base,
  };
  const events = new EventLog();
  const log = tapEvents(base, events).child({ component: 'endpoint' });
  log.info('site joined', { site: 'a' });
  log.debug('noise');
  log.error('boom');
  assert.deepEqual(seen, ['info site joined', 'debug noise', 'error boom']);
  assert.deepEqual(events.list().map((e) => [e.kind, e.message]), [['join', 'a joined'], ['error', 'boom']]);
});

test('round commits dropped by the size bound no longer count against the rounds kept', () => {
  const log = new EventLog(4, 3);
  for (let r = 1; r <= 3; r++) log.add({ kind: 'round', round: r, message: `r${r}` });
  for (let j = 1; j <= 3; j++) log.add({ kind: 'join', message: `j${j}` });
  for (let r = 4; r <= 5; r++) log.add({ kind: 'round', round: r, message: `r${r}` });
  assert.deepEqual(log.list().map((e) => e.message), ['j2', 'j3', 'r4', 'r5']);
});

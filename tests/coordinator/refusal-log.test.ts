import assert from 'node:assert/strict';
import { test } from 'node:test';
import { excerpt, RefusalLog } from '../../coordinator/refusal-log.ts';
import type { LogFields, Logger } from '../../shared/logger.ts';

function recorder() {
  const lines: { message: string; fields?: LogFields }[] = [];
  const log: Logger = {
    debug() {},
    info() {},
    warn: (message, fields) => void lines.push({ message, fields }),
    error() {},
    child: () => log,
  };
  return { log, lines };
}

test('an excerpt is one line and bounded, saying how much was cut', () => {
  assert.equal(excerpt('short'), 'short');
  assert.equal(excerpt('a\nb\r\u0000c'), 'a b c');
  const long = excerpt('x'.repeat(20_000));
  assert.equal(long, `${'x'.repeat(300)}... (19700 more characters)`);
});

test('each reason logs at most perMinute lines a minute, then one summary with the count', () => {
  const { log, lines } = recorder();
  let now = 1_000_000;
  const refusals = new RefusalLog(log, 3, () => now);
  for (let i = 0; i < 10; i++) refusals.refused('malformed', { i });
  refusals.refused('replay', { i: 'r' });
  assert.deepEqual(lines.map((l) => l.fields?.i), [0, 1, 2, 'r'], 'three malformed, then the other reason still logs');
  now += 60_000;
  refusals.refused('malformed', { i: 'next minute' });
  assert.equal(lines[4]!.message, 'more refusals not logged');
  assert.deepEqual({ reason: lines[4]!.fields?.reason, count: lines[4]!.fields?.count }, { reason: 'malformed', count: 7 });
  assert.equal(lines[5]!.fields?.i, 'next minute');
  // At shutdown the pending counts are summed up too.
  for (let i = 0; i < 5; i++) refusals.refused('malformed', {});
  refusals.flush();
  assert.deepEqual(lines.at(-1)!.fields?.count, 3);
  assert.equal(lines.length, 9);
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { z } from 'zod';
import { ProtocolError } from '../../../shared/errors.ts';
import { checkShape, MAX_EXCERPT_CHARS } from '../../../shared/protocol/check.ts';

const Schema = z.strictObject({ round: z.number().int(), config: z.record(z.string(), z.number()) });

test('a message that fits passes through as parsed', () => {
  assert.deepEqual(checkShape(Schema, { round: 2, config: { mu: 0.1 } }, 'the task'), { round: 2, config: { mu: 0.1 } });
});

test('a refusal is a malformed ProtocolError naming the field', () => {
  assert.throws(
    () => checkShape(Schema, { round: 'two', config: {} }, 'the task'),
    (e: unknown) => e instanceof ProtocolError && e.reason === 'malformed' && e.message === 'the task is malformed: round: Invalid input: expected number, received string',
  );
});

test('the excerpt is bounded, one line, and never echoes the sender whole', () => {
  const attack = `evil\n${'x'.repeat(100_000)}`;
  const msg = { round: 1, config: { [attack]: 'not a number' }, [attack + 'y']: 1 };
  for (let extra = 0; extra < 10; extra++) (msg.config as Record<string, unknown>)[`k${extra}`] = 'bad';
  let err: Error | undefined;
  try {
    checkShape(Schema, msg, 'the task');
  } catch (e) {
    err = e as Error;
  }
  assert.ok(err instanceof ProtocolError);
  const detail = err.message.slice('the task is malformed: '.length);
  assert.ok(detail.length <= MAX_EXCERPT_CHARS, `excerpt of ${detail.length} characters`);
  assert.ok(!err.message.includes('\n'), 'control characters are replaced');
  assert.match(detail, /^config\.evil x+…: Invalid input: expected number, received string; /);
  assert.match(detail, /and \d+ more/);
});

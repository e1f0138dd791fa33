import { test } from 'node:test';
import assert from 'node:assert/strict';
import { z } from 'zod';
import { InputError } from '../../../shared/errors.ts';
import { numberFlag } from '../../../shared/config/fields.ts';
import { parseFlags } from '../../../shared/config/flags.ts';

const SHAPE = { rows: numberFlag({ min: 20, max: 1000, int: true }).default(500), shift: numberFlag({ min: -5, max: 5 }).optional(), quiet: z.boolean().default(false) };

function rejects(argv: string[], message: string): void {
  assert.throws(() => parseFlags(argv, SHAPE), (e: unknown) => e instanceof InputError && e.message === message, `for ${argv.join(' ')}`);
}

test('a negative number after a flag is its value, so the message names the flag and its range (not an "ambiguous" option)', () => {
  rejects(['--rows', '-5'], '--rows: must be an integer in [20, 1000] (got "-5")');
  rejects(['--rows', '-0.5'], '--rows: must be an integer in [20, 1000] (got "-0.5")');
  rejects(['--rows=-5'], '--rows: must be an integer in [20, 1000] (got "-5")');
  assert.deepEqual(parseFlags(['--shift', '-1.5', '--rows', '40'], SHAPE), { rows: 40, shift: -1.5, quiet: false });
  assert.deepEqual(parseFlags(['--shift', '-.5'], SHAPE), { rows: 500, shift: -0.5, quiet: false });
});

test('absurd counts name the flag, the value as typed and the accepted range', () => {
  for (const v of ['1e99', '0', '2.5', 'abc', '']) rejects(['--rows', v], `--rows: must be an integer in [20, 1000] (got ${JSON.stringify(v)})`);
});

test('a switch never swallows a following negative number, and a dash that is not a number is still an option', () => {
  assert.throws(() => parseFlags(['--quiet', '-5'], SHAPE), (e: unknown) => e instanceof InputError && /Unknown option '-5'/.test(e.message));
  assert.throws(() => parseFlags(['--rows', '-x'], SHAPE), (e: unknown) => e instanceof InputError && /argument is ambiguous/.test(e.message));
});

test('a single-valued flag given twice is refused (parseArgs would keep the last quietly); a repeatable one is not', () => {
  rejects(['--rows', '40', '--rows', '60'], '--rows given twice; give it once (see --help)');
  rejects(['--rows=40', '--shift', '1', '--rows=60'], '--rows given twice; give it once (see --help)');
  const many = { site: z.array(z.string()).default([]) };
  assert.deepEqual(parseFlags(['--site', 'a', '--site', 'b'], many), { site: ['a', 'b'] });
});

test('an unknown flag close to a known one gets a guess', () => {
  rejects(['--rowz', '40'], "Unknown option '--rowz' (did you mean --rows?) (see --help)");
  assert.throws(() => parseFlags(['--colour'], SHAPE), (e: unknown) => e instanceof InputError && !/did you mean/.test(e.message));
});

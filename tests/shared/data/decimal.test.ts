import assert from 'node:assert/strict';
import { test } from 'node:test';
import { canonicalToken, parseDecimal } from '../../../shared/data/csv.ts';

// Strict decimals: optional sign, digits with optional fraction (or a bare fraction,
// as the UCI files write `.7`), optional exponent. Everything else JavaScript's
// Number() would take is refused.
const accepted: [string, number][] = [
  ['1.5', 1.5],
  ['-2', -2],
  ['+2', 2],
  ['3e2', 300],
  ['3E-2', 0.03],
  ['1.5e+3', 1500],
  ['.7', 0.7],
  ['-.5', -0.5],
  ['5.', 5],
  ['0', 0],
  ['007', 7],
  ['63.0', 63],
  ['1e308', 1e308], // a number; the table's |value| limit refuses it
];
for (const [tok, value] of accepted)
  test(`parseDecimal accepts ${JSON.stringify(tok)}`, () => {
    assert.deepEqual(parseDecimal(tok), { ok: true, value });
  });

const refused: [string, string][] = [
  ['0x1F', 'not a plain decimal number'],
  ['0b11', 'not a plain decimal number'],
  ['0o17', 'not a plain decimal number'],
  ['1_000', 'not a plain decimal number'],
  ['Infinity', 'not a plain decimal number'],
  ['-Infinity', 'not a plain decimal number'],
  ['NaN', 'not a plain decimal number'],
  ['nan', 'not a plain decimal number'],
  ['1,5', 'not a plain decimal number'],
  ['1.2.3', 'not a plain decimal number'],
  ['1e', 'not a plain decimal number'],
  ['e5', 'not a plain decimal number'],
  ['.', 'not a plain decimal number'],
  ['-', 'not a plain decimal number'],
  ['  ', 'not a plain decimal number'],
  [' 1', 'not a plain decimal number'],
  ['1 000', 'not a plain decimal number'],
  ['12abc', 'not a plain decimal number'],
  ['banana', 'not a plain decimal number'],
  ['١٢', 'not a plain decimal number'], // Arabic-Indic digits
  ['', 'an empty cell'],
  ['1e400', 'too large for a number'],
  ['-1e400', 'too large for a number'],
];
for (const [tok, reason] of refused)
  test(`parseDecimal refuses ${JSON.stringify(tok)}`, () => {
    assert.deepEqual(parseDecimal(tok), { ok: false, reason });
  });

test('canonicalToken: numeric codes agree across formats, anything else is kept as written', () => {
  assert.equal(canonicalToken('1.0'), '1');
  assert.equal(canonicalToken('1'), '1');
  assert.equal(canonicalToken('4.00'), '4');
  assert.equal(canonicalToken('0x1F'), '0x1F', 'hex is not read as 31');
  assert.equal(canonicalToken('NaN'), 'NaN');
  assert.equal(canonicalToken('male'), 'male');
});

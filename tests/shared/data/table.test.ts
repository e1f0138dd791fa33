import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compileSchema, loadSchema } from '../../../shared/data/schema.ts';
import { loadSiteTable, parseSiteTable } from '../../../shared/data/table.ts';
import { countPatternLabels } from '../../../shared/data/patterns.ts';

const DIR = new URL('../../../../shared/data/heart-disease/', import.meta.url).pathname;

test('pattern counts per site match the data README', () => {
  const s = loadSchema(DIR + 'schema.json');
  const expected: Record<string, Record<string, number>> = {
    cleveland: { '1111111': 297, '1111101': 4, '1111110': 2 },
    hungarian: { '1111100': 264, '1111101': 27, '1111110': 2, '1111111': 1 },
    switzerland: { '1110100': 44, '1111101': 44, '1110101': 26, '1110110': 5, '1111100': 3, '1111001': 1 },
    va: { '1111100': 108, '1111000': 52, '1111101': 32, '1110100': 5, '1111111': 1, '1111110': 1, '1111001': 1 },
  };
  for (const [site, want] of Object.entries(expected)) {
    const t = loadSiteTable(s, `${DIR}processed.${site}.data`);
    const got = Object.fromEntries(Object.entries(countPatternLabels(t.patterns, t.labels)).map(([p, [a, b]]) => [p, a + b]));
    assert.deepEqual(got, want, site);
  }
});

const schema = compileSchema(
  { label: { column: 'y', threshold: 0 }, modalities: { a: ['x1'], b: ['c'] }, categorical: ['c'], missingValues: ['', 'NA'], missingCodes: { x1: ['0'] } },
  'inline',
);

test('header CSV: labels thresholded, categories canonical, missing codes honoured', () => {
  const t = parseSiteTable(schema, 'x1,c,y\n1.5,1.0,2\n0,1,0\nNA,NA,1\n', 'f.csv');
  assert.deepEqual(Array.from(t.labels), [1, 0, 1]);
  assert.deepEqual(t.values, [[1.5, '1'], [null, '1'], [null, null]]);
  assert.deepEqual(t.patterns, ['11', '01', '00']);
  assert.deepEqual(t.lines, [2, 3, 4]);
});

const errors: [string, string, string][] = [
  ['wrong field count', 'x1,c,y\n1,2\n', 'f.csv:2: expected 3 fields, found 2'],
  ['non-numeric value', 'x1,c,y\n1,a,0\nabc,a,1\n', 'f.csv:3: column "x1" must be a number (a plain decimal such as 1.5, -2 or 3e2), found "abc"'],
  ['missing label', 'x1,c,y\n1,a,NA\n', 'f.csv:2: column "y" (label) is missing ("NA"); every row needs a label'],
  ['header lacks column', 'x1,y\n1,0\n', 'f.csv:1: header lacks column "c" required by the schema; header found: "x1", "y"'],
  ['no rows', '', 'f.csv: no rows'],
  ['unterminated quote', 'x1,c,y\n"1,2,3\n', 'f.csv:2: unterminated quoted field'],
  // A label written as words, under a numeric schema: the error says how to declare words.
  ['a word label', 'x1,c,y\n1,a,yes\n', 'f.csv:2: column "y" (label; written as words? declare label.positive and label.negative in the schema) must be a number (a plain decimal such as 1.5, -2 or 3e2), found "yes"'],
];
test('a label written as words reads through label.positive and label.negative; any other word is an error naming both lists', () => {
  const words = compileSchema({ label: { column: 'y', positive: ['yes', 'Y'], negative: ['no', 'N'] }, modalities: { a: ['x1'] } }, 'inline');
  const t = parseSiteTable(words, 'x1,y\n1,yes\n2,no\n3,Y\n4,N\n', 'f.csv');
  assert.deepEqual(Array.from(t.labels), [1, 0, 1, 0]);
  assert.throws(() => parseSiteTable(words, 'x1,y\n1,yes\n2,maybe\n', 'f.csv'), {
    message: 'f.csv:3: column "y" (label) value "maybe" is in neither label.positive (yes, Y) nor label.negative (no, N)',
  });
});

for (const [name, text, msg] of errors)
  test(`table error: ${name}`, () => {
    assert.throws(() => parseSiteTable(schema, text, 'f.csv'), { message: msg });
  });

// A category written as a number is still read as one downstream (its canonical token), so one
// past 1e15 is a data error as it would be in a numeric column; 1e15 itself is within.
test('a categorical value that reads as a number beyond 1e15 in absolute value is refused as out of range', () => {
  for (const tok of ['1e308', '-1e16', '1000000000000001'])
    assert.throws(() => parseSiteTable(schema, `x1,c,y\n1,${tok},0\n`, 'f.csv'), { message: `f.csv:2: column "c" value "${tok}" is out of range: |value| > 1e15` }, tok);
  const t = parseSiteTable(schema, 'x1,c,y\n1,1e15,0\n1,-1e15,1\n', 'f.csv');
  assert.equal(t.values.length, 2, 'exactly 1e15 is within the bound');
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compileSchema, featureList, loadSchema } from '../../../shared/data/schema.ts';
import { InputError } from '../../../shared/errors.ts';

const HEART = new URL('../../../../shared/data/heart-disease/schema.json', import.meta.url).pathname;

test('the heart-disease schema loads with 7 modalities in order', () => {
  const s = loadSchema(HEART);
  assert.deepEqual(
    s.modalities.map((m) => m.name),
    ['demographics', 'symptoms', 'resting', 'labs', 'exercise', 'fluoroscopy', 'thallium'],
  );
  assert.equal(featureList(s).length, 13);
  assert.ok(s.missingCodes.get('chol')?.has('0'));
});

const base = {
  label: { column: 'y', threshold: 0 },
  modalities: { a: ['x1', 'x2'], b: ['x3'] },
  categorical: ['x3'],
};

const bad: [string, unknown, string][] = [
  ['not an object', [], 's.json: must be a JSON object (got [])'],
  ['unknown field', { ...base, extra: 1 }, 's.json: extra: is not a known field; expected one of: columns, label, modalities, categorical, missingValues, missingCodes, categories, ranges'],
  ['no label', { ...base, label: undefined }, 's.json: label: is required'],
  ['threshold not a number', { ...base, label: { column: 'y', threshold: '0' } }, 's.json: label.threshold: must be a number (got "0")'],
  ['feature in two modalities', { ...base, modalities: { a: ['x1'], b: ['x1'] } }, 's.json: modalities.b: feature "x1" is in both modalities "a" and "b"'],
  ['empty modality', { ...base, modalities: { a: [] } }, 's.json: modalities.a: must list at least one feature (got [])'],
  ['label as feature', { ...base, modalities: { a: ['y'] } }, 's.json: modalities.a: must not list the label column "y"'],
  ['categorical not a feature', { ...base, categorical: ['zz'] }, 's.json: categorical: "zz" is in no modality'],
  ['columns missing a feature', { ...base, columns: ['x1', 'y'] }, 's.json: columns: must include feature "x2"'],
  ['missingCodes unknown column', { ...base, missingCodes: { q: ['0'] } }, 's.json: missingCodes.q: is in no modality'],
  // The extensions: label.values, categories, ranges.
  ['label unknown field', { ...base, label: { column: 'y', threshold: 0, value: [0, 1] } }, 's.json: label.value: is not a known field (did you mean "values"?); expected one of: column, threshold, positive, negative, values'],
  ['label.values not numbers', { ...base, label: { column: 'y', threshold: 0, values: ['0', '1'] } }, 's.json: label.values[0]: must be a number (got "0")\ns.json: label.values[1]: must be a number (got "1")'],
  ['label.values empty', { ...base, label: { column: 'y', threshold: 0, values: [] } }, 's.json: label.values: must be a non-empty list of numbers (the allowed raw label values) (got [])'],
  ['label.values one class', { ...base, label: { column: 'y', threshold: 0, values: [1, 2] } }, 's.json: label.values: must include values on both sides of label.threshold (0), or one class can never occur'],
  ['categories not an object', { ...base, categories: ['x3'] }, 's.json: categories: must be a mapping of categorical feature -> [values] (got ["x3"])'],
  ['categories unknown column', { ...base, categories: { q: ['a'] } }, 's.json: categories.q: is in no modality'],
  ['categories of a numeric feature', { ...base, categories: { x1: ['a'] } }, 's.json: categories.x1: is not in "categorical"'],
  ['categories empty', { ...base, categories: { x3: [] } }, 's.json: categories.x3: must be a non-empty list of strings or numbers (got [])'],
  ['ranges not an object', { ...base, ranges: [0, 1] }, 's.json: ranges: must be a mapping of numeric feature -> [min, max] (got [0,1])'],
  ['ranges unknown column', { ...base, ranges: { q: [0, 1] } }, 's.json: ranges.q: is in no modality'],
  ['ranges of a categorical feature', { ...base, ranges: { x3: [0, 1] } }, 's.json: ranges.x3: is categorical (declare its "categories" instead)'],
  ['ranges min above max', { ...base, ranges: { x1: [5, 1] } }, 's.json: ranges.x1: must be [min, max] with min <= max (got [5,1])'],
  // A label written as words: positive and negative instead of threshold.
  ['no threshold and no words', { ...base, label: { column: 'y' } }, 's.json: label.threshold: is required (or, for a label written as words, label.positive and label.negative)'],
  ['words with a threshold', { ...base, label: { column: 'y', threshold: 0, positive: ['yes'], negative: ['no'] } }, 's.json: label: gives positive/negative with threshold or values: give either threshold (numeric labels, values optional) or positive and negative (labels written as words)'],
  ['positive alone', { ...base, label: { column: 'y', positive: ['yes'] } }, 's.json: label.negative: is required with the other (the tokens of each class, e.g. positive: ["yes"], negative: ["no"])'],
  ['a word in both', { ...base, label: { column: 'y', positive: ['yes', 'Y'], negative: ['Y'] } }, 's.json: label: "Y" is in both label.positive and label.negative'],
  ['ranges one number', { ...base, ranges: { x1: [5] } }, 's.json: ranges.x1: must be [min, max], two numbers (got [5])'],
];
for (const [name, raw, msg] of bad)
  test(`schema error: ${name}`, () => {
    assert.throws(() => compileSchema(raw, 's.json'), (e: unknown) => e instanceof InputError && e.message === msg);
  });

test('schema extensions compile: label.values, categories (canonical tokens), ranges', () => {
  const s = compileSchema(
    { ...base, label: { column: 'y', threshold: 0, values: [0, 1, 2, 3, 4] }, categories: { x3: [1, '2.0', 'other'] }, ranges: { x1: [0, 300] } },
    's.json',
  );
  assert.deepEqual(s.label, { column: 'y', threshold: 0, values: [0, 1, 2, 3, 4] });
  assert.deepEqual(s.categories.get('x3'), ['1', '2', 'other']);
  assert.deepEqual(s.ranges.get('x1'), [0, 300]);
});

test('a label written as words: its tokens, read as the raw values 1 and 0 with threshold 0', () => {
  const s = compileSchema({ ...base, label: { column: 'y', positive: ['yes', 'Y '], negative: ['no', 'N'] } }, 's.json');
  assert.deepEqual(s.label, { column: 'y', threshold: 0, tokens: { positive: ['yes', 'Y'], negative: ['no', 'N'] } });
});

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
  ['not an object', [], 's.json: schema must be a JSON object'],
  ['unknown field', { ...base, extra: 1 }, 's.json: unknown field "extra"'],
  ['no label', { ...base, label: undefined }, 's.json: field "label" must be an object { column, threshold }'],
  ['threshold not a number', { ...base, label: { column: 'y', threshold: '0' } }, 's.json: field "label.threshold" must be a number'],
  ['feature in two modalities', { ...base, modalities: { a: ['x1'], b: ['x1'] } }, 's.json: feature "x1" is in both modalities "a" and "b"'],
  ['empty modality', { ...base, modalities: { a: [] } }, 's.json: modality "a" has no features'],
  ['label as feature', { ...base, modalities: { a: ['y'] } }, 's.json: label column "y" must not be a feature (modality "a")'],
  ['categorical not a feature', { ...base, categorical: ['zz'] }, 's.json: categorical feature "zz" is in no modality'],
  ['columns missing a feature', { ...base, columns: ['x1', 'y'] }, 's.json: feature "x2" is not in "columns"'],
  ['missingCodes unknown column', { ...base, missingCodes: { q: ['0'] } }, 's.json: missingCodes names "q", which is in no modality'],
  // The extensions: label.values, categories, ranges.
  ['label unknown field', { ...base, label: { column: 'y', threshold: 0, value: [0, 1] } }, 's.json: unknown field "label.value"'],
  ['label.values not numbers', { ...base, label: { column: 'y', threshold: 0, values: ['0', '1'] } }, 's.json: field "label.values" must be a non-empty array of numbers (the allowed raw label values)'],
  ['label.values empty', { ...base, label: { column: 'y', threshold: 0, values: [] } }, 's.json: field "label.values" must be a non-empty array of numbers (the allowed raw label values)'],
  ['label.values one class', { ...base, label: { column: 'y', threshold: 0, values: [1, 2] } }, 's.json: field "label.values" must include values on both sides of "label.threshold" (0), or one class can never occur'],
  ['categories not an object', { ...base, categories: ['x3'] }, 's.json: field "categories" must be an object of categorical feature -> [values]'],
  ['categories unknown column', { ...base, categories: { q: ['a'] } }, 's.json: categories names "q", which is in no modality'],
  ['categories of a numeric feature', { ...base, categories: { x1: ['a'] } }, 's.json: categories names "x1", which is not in "categorical"'],
  ['categories empty', { ...base, categories: { x3: [] } }, 's.json: field "categories.x3" must be a non-empty array of strings or numbers'],
  ['ranges not an object', { ...base, ranges: [0, 1] }, 's.json: field "ranges" must be an object of numeric feature -> [min, max]'],
  ['ranges unknown column', { ...base, ranges: { q: [0, 1] } }, 's.json: ranges names "q", which is in no modality'],
  ['ranges of a categorical feature', { ...base, ranges: { x3: [0, 1] } }, 's.json: ranges names "x3", which is categorical (declare its "categories" instead)'],
  ['ranges min above max', { ...base, ranges: { x1: [5, 1] } }, 's.json: field "ranges.x1" must be [min, max], two numbers with min <= max'],
  ['ranges one number', { ...base, ranges: { x1: [5] } }, 's.json: field "ranges.x1" must be [min, max], two numbers with min <= max'],
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

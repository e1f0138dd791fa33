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
];
for (const [name, raw, msg] of bad)
  test(`schema error: ${name}`, () => {
    assert.throws(() => compileSchema(raw, 's.json'), (e: unknown) => e instanceof InputError && e.message === msg);
  });

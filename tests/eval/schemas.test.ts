import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { dropFeatures, keepFeatures, type RawSchema } from '../../eval/schemas.ts';
import { compileSchema } from '../../shared/data/schema.ts';

const heart: RawSchema = {
  columns: ['age', 'sex', 'chol', 'thalach', 'slope', 'ca', 'thal', 'num'],
  label: { column: 'num', threshold: 0 },
  modalities: { demographics: ['age', 'sex'], labs: ['chol'], exercise: ['thalach', 'slope'], fluoroscopy: ['ca'], thallium: ['thal'] },
  categorical: ['sex', 'slope', 'thal'],
  missingValues: ['?'],
  missingCodes: { chol: ['0'], thal: ['-1'] },
};

describe('dropFeatures (FLamby feature set)', () => {
  it('removes the features, empties modalities and their categorical and missing-code entries', () => {
    const s = dropFeatures(heart, ['slope', 'ca', 'thal']);
    assert.deepEqual(s.modalities, { demographics: ['age', 'sex'], labs: ['chol'], exercise: ['thalach'] });
    assert.deepEqual(s.categorical, ['sex']);
    assert.deepEqual(s.missingCodes, { chol: ['0'] });
    assert.deepEqual(s.columns, heart.columns, 'the files keep every column; the schema just stops reading three');
    compileSchema(s, 'derived'); // still a valid schema
  });
  it('names a feature the schema does not have', () => {
    assert.throws(() => dropFeatures(heart, ['slop']), /feature "slop" is not in the schema's modalities/);
  });
});

describe('keepFeatures (oracle)', () => {
  it('keeps only the listed features, in schema order', () => {
    const s = keepFeatures(heart, ['thalach', 'age']);
    assert.deepEqual(s.modalities, { demographics: ['age'], exercise: ['thalach'] });
    assert.deepEqual(s.categorical, []);
  });
  it('refuses to keep nothing', () => {
    assert.throws(() => keepFeatures(heart, []), /keeps no feature/);
  });
});

// Rows to be scored (fedcausal predict) are read as a training file is, except that the label
// may be absent from the header, left empty, or (in a file without a header) its column left
// off; a training file still needs every label.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compileSchema } from '../../../shared/data/schema.ts';
import { parseSiteTable } from '../../../shared/data/table.ts';
import { InputError } from '../../../shared/errors.ts';

const header = compileSchema({ label: { column: 'y', threshold: 0 }, modalities: { a: ['x'], b: ['c'] }, categorical: ['c'], missingValues: ['', 'NA'] }, 'inline');
const positional = compileSchema({ columns: ['x', 'c', 'y'], label: { column: 'y', threshold: 0 }, modalities: { a: ['x'], b: ['c'] }, categorical: ['c'], missingValues: ['?'] }, 'inline');
const optional = { labelOptional: true };

test('a header without the label column: every row unlabelled, features read as for training', () => {
  const t = parseSiteTable(header, 'c,x\n1,2.5\n2,NA\n', 'new.csv', optional);
  assert.deepEqual(t.values, [[2.5, '1'], [null, '2']]);
  assert.deepEqual([...t.labelKnown!], [0, 0]);
  assert.deepEqual(t.patterns, ['11', '01']);
  assert.throws(() => parseSiteTable(header, 'c,x\n1,2.5\n', 'new.csv'), /header lacks column "y"/);
});

test('empty labels are unlabelled rows; given labels are read and checked as ever', () => {
  const t = parseSiteTable(header, 'x,c,y\n1,1,\n2,1,3\n3,2,NA\n', 'new.csv', optional);
  assert.deepEqual([...t.labelKnown!], [0, 1, 0]);
  assert.deepEqual([...t.labels], [0, 1, 0]);
  assert.throws(() => parseSiteTable(header, 'x,c,y\n1,1,maybe\n', 'new.csv', optional), (e: Error) => e instanceof InputError && /new\.csv:2: column "y" \(label/.test(e.message));
  assert.throws(() => parseSiteTable(header, 'x,c,y\n1,1,\n', 'train.csv'), /every row needs a label/);
});

test("a file without a header may leave off the schema's label column, or mark it missing", () => {
  const t = parseSiteTable(positional, '1,2\n3,?\n', 'new.csv', optional);
  assert.deepEqual(t.values, [[1, '2'], [3, null]]);
  assert.deepEqual([...t.labelKnown!], [0, 0]);
  const u = parseSiteTable(positional, '1,2,?\n3,1,1\n', 'new.csv', optional);
  assert.deepEqual([...u.labelKnown!], [0, 1]);
  assert.throws(() => parseSiteTable(positional, '1,2\n', 'train.csv'), /expected 3 fields, found 2/);
});

test('a kept column (predict --id) is read from the columns the file was read with, the label column left off or not', () => {
  const ids = compileSchema({ columns: ['y', 'mrn', 'x', 'c'], label: { column: 'y', threshold: 0 }, modalities: { a: ['x'], b: ['c'] }, categorical: ['c'], missingValues: ['?'] }, 'inline');
  assert.deepEqual(parseSiteTable(ids, 'A-1,3,2\nA-2,4,1\n', 'new.csv', { ...optional, keepColumn: 'mrn' }).kept, ['A-1', 'A-2']);
  assert.deepEqual(parseSiteTable(ids, '1,A-1,3,2\n?,A-2,4,1\n', 'new.csv', { ...optional, keepColumn: 'mrn' }).kept, ['A-1', 'A-2']);
  assert.throws(() => parseSiteTable(ids, 'A-1,3,2\n', 'new.csv', { ...optional, keepColumn: 'id' }), /^InputError: new\.csv: has no column "id" \(its columns: "mrn", "x", "c"\)$/);
});

test("a header of its own (a record number, columns in another order) in place of a schema's columns", () => {
  const t = parseSiteTable(positional, 'mrn,c,x\n17,2,1\n18,1,3\n', 'new.csv', optional);
  assert.deepEqual(t.values, [[1, '2'], [3, '1']]);
  assert.throws(() => parseSiteTable(positional, 'mrn,c,x\n17,2,1\n', 'train.csv'), /looks like a header but does not match/);
});

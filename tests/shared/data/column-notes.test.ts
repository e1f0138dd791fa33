import { test } from 'node:test';
import assert from 'node:assert/strict';
import { duplicateColumnNotes, identifierColumnNotes } from '../../../shared/data/column-notes.ts';
import { loadSchema } from '../../../shared/data/schema.ts';
import { loadSiteTable } from '../../../shared/data/table.ts';
import type { SiteTable } from '../../../shared/data/site-table.ts';

const HEART = new URL('../../../../shared/data/heart-disease/', import.meta.url).pathname;

function table(features: string[], rows: (number | string | null)[][]): SiteTable {
  return { file: 'f.csv', features, values: rows, labels: new Uint8Array(rows.length), lines: rows.map((_, i) => i + 2), patterns: rows.map(() => '1'), clipBounds: new Map() } as unknown as SiteTable;
}

test('an identifier declared as a category, and a column written twice, are warned of; real columns are not', () => {
  const rows = Array.from({ length: 40 }, (_, i) => [`P${1000 + i}`, i % 3 === 0 ? 'a' : 'b', i * 1.5, i % 7 === 0 ? null : i * 1.5, i % 7 === 0 ? null : i * 1.5, 7, 7]);
  const t = table(['patient_id', 'ward', 'lab', 'lab_other', 'lab_copy', 'code1', 'code2'], rows);
  const ids = identifierColumnNotes('f.csv', t, new Set(['patient_id', 'ward']));
  assert.equal(ids.length, 1);
  assert.match(ids[0]!, /^f\.csv: categorical column "patient_id" holds 40 distinct values in its 40 observed rows: an identifier or free text/);
  // lab_copy repeats lab_other (missing where it is missing); lab differs where they are missing; two constant columns are the constant note's.
  assert.deepEqual(duplicateColumnNotes('f.csv', t).map((n) => n.slice(0, 50)), ['f.csv: column "lab_copy" repeats column "lab_other']);
});

test('heart disease: no identifier and no repeated column in any of the four files', () => {
  const schema = loadSchema(`${HEART}schema.json`);
  for (const f of ['processed.cleveland.data', 'processed.hungarian.data', 'processed.switzerland.data', 'processed.va.data']) {
    const t = loadSiteTable(schema, HEART + f);
    assert.deepEqual([...identifierColumnNotes(f, t, schema.categorical), ...duplicateColumnNotes(f, t)], [], f);
  }
});

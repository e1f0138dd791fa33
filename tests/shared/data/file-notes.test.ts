import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileNotes } from '../../../shared/data/file-notes.ts';
import type { SiteTable } from '../../../shared/data/site-table.ts';

function table(features: string[], rows: (number | string | null)[][]): SiteTable {
  return { file: 'f.csv', features, values: rows, labels: new Uint8Array(rows.length), lines: rows.map((_, i) => i + 2), patterns: rows.map(() => '1'), clipBounds: new Map() } as unknown as SiteTable;
}

test("one list of a file's warnings, each of its kind: the three commands that say them read it", () => {
  // 200 rows: an identifier, a constant column, a lab written twice, and a lab with -999 in 5% of rows.
  const rows = Array.from({ length: 200 }, (_, i) => [`P${i}`, 7, 100 + ((i * 37) % 61), 100 + ((i * 37) % 61), i % 20 === 0 ? -999 : 180 + ((i * 53) % 97)]);
  const notes = fileNotes('site "a" (f.csv)', table(['id', 'code', 'lab', 'lab_copy', 'chol'], rows), new Set(['id']));
  assert.deepEqual(notes.map((n) => n.kind).sort(), ['constant', 'duplicate', 'identifier', 'missing-code']);
  for (const n of notes) assert.match(n.text, /^site "a" \(f\.csv\): /);
  assert.match(notes.find((n) => n.kind === 'missing-code')!.text, /-999/);
  assert.deepEqual(fileNotes('f.csv', table(['lab'], rows.map((r) => [r[2]!])), new Set()), []);
});

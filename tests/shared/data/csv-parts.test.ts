import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseCsv } from '../../../shared/data/csv.ts';
import { readCsvParts, type CsvPart } from '../../../shared/data/csv-parts.ts';

async function partsOf(text: string, pieceLength: number, partRows: number): Promise<CsvPart[]> {
  async function* pieces() {
    for (let i = 0; i < text.length; i += pieceLength) yield text.slice(i, i + pieceLength);
  }
  const out: CsvPart[] = [];
  for await (const p of readCsvParts(pieces(), 'f.csv', partRows)) out.push(p);
  return out;
}

test("a file's records in parts of partRows, a short tail joined to the part before it, read from pieces cut anywhere", async () => {
  for (const records of [1, 9, 10, 15, 16, 25, 26, 101]) {
    const text = ['a,b', ...Array.from({ length: records - 1 }, (_, i) => (i % 7 === 3 ? `"x\n${i}",${i}` : `${i},${i}`))].join('\r\n') + '\r\n\r\n';
    for (const pieceLength of [1, 5, 64, text.length]) {
      const parts = await partsOf(text, pieceLength, 10);
      const what = `${records} records in pieces of ${pieceLength}`;
      assert.deepEqual(parts.flatMap((p) => p.records), parseCsv(text, 'f.csv'), `${what}: the whole file's records, lines and all`);
      assert.deepEqual(parts.map((p) => p.last), [...parts.slice(1).map(() => false), true], what);
      for (const p of parts.slice(0, -1)) assert.equal(p.records.length, 10, what);
      const tail = parts.at(-1)!.records.length;
      assert.ok(parts.length === 1 ? tail === records : tail > 5 && tail <= 15, `${what}: a last part of ${tail}`);
    }
  }
});

test('an empty file is one last part of no records', async () => {
  assert.deepEqual(await partsOf('\n\n', 1, 10), [{ records: [], last: true }]);
});

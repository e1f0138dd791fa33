/**
 * A CSV file's records in parts of `partRows`, read from text pieces (readInputPieces), so a
 * file of any size is handled a part at a time. The last part holds from half to one and a
 * half times `partRows` (a short tail joins the part before it, so no part's column checks
 * run over a handful of rows); a file of fewer records is one part.
 */
import { CsvReader, type CsvRecord } from './csv.ts';

export interface CsvPart {
  records: CsvRecord[];
  /** Whether no records follow; the first part with `last` holds the whole file. */
  last: boolean;
}

export async function* readCsvParts(pieces: AsyncIterable<string>, file: string, partRows: number): AsyncGenerator<CsvPart> {
  const reader = new CsvReader(file);
  let held: CsvRecord[] = [];
  for await (const piece of pieces) {
    for (const r of reader.push(piece)) held.push(r);
    while (held.length > 1.5 * partRows) {
      yield { records: held.slice(0, partRows), last: false };
      held = held.slice(partRows);
    }
  }
  for (const r of reader.end()) held.push(r);
  yield { records: held, last: true };
}

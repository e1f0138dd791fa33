import { InputError } from '../errors.ts';

/** One parsed CSV record with its 1-based line number, for error messages. */
export interface CsvRecord {
  line: number;
  fields: string[];
}

/**
 * Parses comma-separated text (RFC 4180 quotes supported, CRLF or LF, blank lines skipped).
 * Hospital exports are small (thousands of rows), so a whole-text parser is enough.
 */
export function parseCsv(text: string, file: string): CsvRecord[] {
  const out: CsvRecord[] = [];
  let line = 1;
  let i = 0;
  const n = text.length;
  while (i < n) {
    const startLine = line;
    const fields: string[] = [];
    let field = '';
    let quoted = false;
    let endOfRecord = false;
    while (i < n && !endOfRecord) {
      const c = text[i]!;
      if (quoted) {
        if (c === '"') {
          if (text[i + 1] === '"') {
            field += '"';
            i += 2;
          } else {
            quoted = false;
            i++;
          }
        } else {
          if (c === '\n') line++;
          field += c;
          i++;
        }
      } else if (c === '"' && field === '') {
        quoted = true;
        i++;
      } else if (c === ',') {
        fields.push(field.trim());
        field = '';
        i++;
      } else if (c === '\n' || c === '\r') {
        if (c === '\r' && text[i + 1] === '\n') i++;
        i++;
        line++;
        endOfRecord = true;
      } else {
        field += c;
        i++;
      }
    }
    if (quoted) throw new InputError(`${file}:${startLine}: unterminated quoted field`);
    fields.push(field.trim());
    if (!(fields.length === 1 && fields[0] === '')) out.push({ line: startLine, fields });
  }
  return out;
}

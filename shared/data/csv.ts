import { InputError } from '../errors.ts';

/** One parsed CSV record with its 1-based line number, for error messages. */
export interface CsvRecord {
  line: number;
  fields: string[];
}

/**
 * Parses comma-separated text (RFC 4180 quotes supported, CRLF or LF, blank lines skipped).
 * A training file is read whole; a file to score may be larger than memory holds: CsvReader.
 */
export function parseCsv(text: string, file: string): CsvRecord[] {
  return new CsvReader(file).end(text);
}

/**
 * parseCsv over text that comes in pieces (a file read as a stream): each piece gives the
 * records it completes, numbered by their line in the whole text; a record cut off at a
 * piece's end (inside quotes, or a CR that a LF may follow) waits for the next.
 */
export class CsvReader {
  private pending = '';
  private line = 1;
  private started = false;

  constructor(private readonly file: string) {}

  /** The records `text` completes. */
  push(text: string): CsvRecord[] {
    return this.read(text, false);
  }

  /** The records left once the text has ended with `text`: an unterminated quote is bad input. */
  end(text = ''): CsvRecord[] {
    return this.read(text, true);
  }

  private read(piece: string, atEnd: boolean): CsvRecord[] {
    let text = this.pending + piece;
    // A UTF-8 byte-order mark (Excel's "CSV UTF-8" export) is not part of the first field:
    // trimming hid it from an unquoted name, but it kept a quoted one from opening its quote.
    if (!this.started && text.length > 0) {
      this.started = true;
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    }
    const out: CsvRecord[] = [];
    const cur: Cursor = { text, i: 0, line: this.line, atEnd };
    while (cur.i < text.length) {
      const [i, line] = [cur.i, cur.line];
      const fields = readRecord(cur, this.file);
      if (fields === undefined) {
        [cur.i, cur.line] = [i, line];
        break;
      }
      if (!(fields.length === 1 && fields[0] === '')) out.push({ line, fields });
    }
    this.pending = text.slice(cur.i);
    this.line = cur.line;
    return out;
  }
}

/** Where a reader stands in its text, advanced in place by the readers below. */
interface Cursor {
  readonly text: string;
  /** Index of the next character to read. */
  i: number;
  /** 1-based line of that character. */
  line: number;
  /** Whether the text ends here; else a record it cuts off is read again with more. */
  readonly atEnd: boolean;
}

/** Reads one record's fields (trimmed), up to and past its line end; undefined where the text stops short of it and more may come. */
function readRecord(cur: Cursor, file: string): string[] | undefined {
  const { text } = cur;
  const n = text.length;
  const startLine = cur.line;
  const fields: string[] = [];
  let field = '';
  let ended = false;
  while (cur.i < n) {
    const c = text[cur.i]!;
    if (c === '"' && field === '') {
      cur.i++;
      const inner = readQuoted(cur);
      if (inner === undefined) {
        if (!cur.atEnd) return undefined;
        throw new InputError(`${file}:${startLine}: unterminated quoted field`);
      }
      // The field is empty here, so the quoted text starts it; text after the closing quote (`"a"b`) is added as usual.
      field = inner;
    } else if (c === ',') {
      fields.push(field.trim());
      field = '';
      cur.i++;
    } else if (c === '\n' || c === '\r') {
      if (!passLineEnd(cur)) return undefined;
      ended = true;
      break;
    } else {
      field += c;
      cur.i++;
    }
  }
  if (!ended && !cur.atEnd) return undefined;
  fields.push(field.trim());
  return fields;
}

/** Moves past a line end (LF, CRLF or a lone CR); false where a CR ends the piece and its LF may be first in the next. */
function passLineEnd(cur: Cursor): boolean {
  const { text } = cur;
  if (text[cur.i] === '\r') {
    if (cur.i + 1 === text.length && !cur.atEnd) return false;
    if (text[cur.i + 1] === '\n') cur.i++;
  }
  cur.i++;
  cur.line++;
  return true;
}

/**
 * Reads a quoted field's text from just after its opening quote to just past its closing
 * one (`""` is a quote); undefined when the text ends first. Line breaks inside count as lines.
 */
function readQuoted(cur: Cursor): string | undefined {
  const { text } = cur;
  const n = text.length;
  let field = '';
  while (cur.i < n) {
    const c = text[cur.i]!;
    if (c === '"') {
      if (text[cur.i + 1] !== '"') {
        cur.i++;
        return field;
      }
      field += '"';
      cur.i += 2;
    } else {
      if (c === '\n') cur.line++;
      field += c;
      cur.i++;
    }
  }
  return undefined;
}

/** Separators that exports use in place of commas (a European Excel writes `;`), as messages name them. */
const OTHER_SEPARATORS: [string, string][] = [
  [';', 'semicolon'],
  ['\t', 'tab'],
  ['|', 'pipe'],
];

/**
 * What to add to a wrong field count (or a header that lacks columns) when the file is not
 * comma-separated: its record is one field holding `;`, a tab or `|`, or, where decimal
 * commas (`2,3`) split it, splitting it on that separator instead gives the `expected` count.
 * Empty when nothing points that way.
 */
export function separatorHint(fields: string[], expected?: number): string {
  const record = fields.join(',');
  const found = OTHER_SEPARATORS.find(([sep]) => {
    const parts = record.split(sep).length;
    return parts > 1 && (fields.length === 1 || parts === expected);
  });
  if (!found) return '';
  return `; the file looks ${found[1]}-separated; fedcausal reads comma-separated CSV (export with "," as the separator and "." as the decimal mark)`;
}

/**
 * A plain decimal number as people type it: optional sign, digits with an optional
 * fraction (or a bare fraction, `.7`), optional exponent. Nothing JavaScript's
 * Number() would also take: no hex (`0x1F`), binary, `_` separators, `Infinity`,
 * `NaN`, blanks, or decimal commas (`1,5`).
 */
const DECIMAL = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;

/** The value of a strict decimal token, or why it is not one (the reason reads after "found ..."). */
export type DecimalResult = { ok: true; value: number } | { ok: false; reason: string };

export function parseDecimal(token: string): DecimalResult {
  if (token === '') return { ok: false, reason: 'an empty cell' };
  if (!DECIMAL.test(token)) return { ok: false, reason: 'not a plain decimal number' };
  const value = Number(token);
  // 1e400 matches the pattern but is not a double.
  if (!Number.isFinite(value)) return { ok: false, reason: 'too large for a number' };
  return { ok: true, value };
}

/** "1.0" and "1" are the same category at different hospitals; only strict decimals are rewritten. */
export function canonicalToken(t: string): string {
  const d = parseDecimal(t);
  return d.ok ? String(d.value) : t;
}

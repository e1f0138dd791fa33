/**
 * Result tables: aligned plain text for terminals and GitHub Markdown for docs.
 *
 * Number formatting (both forms): NaN is '-', +/-Infinity is 'inf'/'-inf'; a
 * column whose numbers are all integers (e.g. `n`) prints them as integers,
 * otherwise every number in the column gets `decimals` places so they line up.
 * Columns holding only numbers (and empty cells) are right-aligned, others left,
 * unless `align` says otherwise.
 */
import { oneLine } from '../text/one-line.ts';

export type Cell = string | number;
export type Align = 'left' | 'right';

export interface TableOptions {
  /** Decimal places for non-integer numeric columns; default 3. */
  decimals?: number;
  /** Per-column alignment, overriding the numbers-right/text-left default. */
  align?: Align[];
}

interface Prepared {
  headers: string[];
  rows: string[][];
  align: Align[];
}

function formatNumber(v: number, decimals: number, integerColumn: boolean): string {
  if (Number.isNaN(v)) return '-';
  if (v === Infinity) return 'inf';
  if (v === -Infinity) return '-inf';
  const s = integerColumn ? String(v) : v.toFixed(decimals);
  // toFixed keeps the sign of tiny negatives ("-0.000"), which reads as a real value.
  return /^-0(\.0+)?$/.test(s) ? s.slice(1) : s;
}

function prepare(headers: string[], rows: Cell[][], opts: TableOptions = {}): Prepared {
  const decimals = opts.decimals ?? 3;
  if (!Number.isInteger(decimals) || decimals < 0 || decimals > 100) {
    throw new Error(`table decimals must be an integer from 0 to 100, got ${decimals}`);
  }
  const cols = headers.length;
  rows.forEach((row, r) => {
    if (row.length !== cols) {
      throw new Error(`table row ${r} has ${row.length} cells but there are ${cols} headers`);
    }
  });
  if (opts.align && opts.align.length !== cols) {
    throw new Error(`table align has ${opts.align.length} entries but there are ${cols} headers`);
  }

  const align: Align[] = [];
  const integerColumn: boolean[] = [];
  for (let c = 0; c < cols; c++) {
    const cells = rows.map((row) => row[c]!);
    const numeric = cells.every((v) => typeof v === 'number' || v === '');
    const finiteNums = cells.filter((v): v is number => typeof v === 'number' && Number.isFinite(v));
    integerColumn.push(finiteNums.length > 0 && finiteNums.every((v) => Number.isInteger(v)));
    align.push(opts.align?.[c] ?? (numeric && cells.length > 0 ? 'right' : 'left'));
  }
  const text = rows.map((row) =>
    row.map((v, c) => (typeof v === 'number' ? formatNumber(v, decimals, integerColumn[c]!) : v)),
  );
  return { headers, rows: text, align };
}

/** Display width in code points (no East-Asian wide-character handling). */
function width(s: string): number {
  return [...s].length;
}

function pad(s: string, w: number, align: Align): string {
  const fill = ' '.repeat(Math.max(0, w - width(s)));
  return align === 'right' ? fill + s : s + fill;
}

/** An aligned plain-text table: header, a dashed rule, then rows; columns two spaces apart. */
export function formatTable(headers: string[], rows: Cell[][], opts?: TableOptions): string {
  const p = prepare(headers, rows, opts);
  // Line breaks inside a cell would wreck the alignment of every later column.
  // A cell may hold a peer's words (a site's last error, its version): one line, no terminal controls.
  const clean = oneLine;
  const hs = p.headers.map(clean);
  const body = p.rows.map((r) => r.map(clean));
  const widths = hs.map((h, c) => Math.max(width(h), ...body.map((r) => width(r[c]!))));
  const line = (cells: string[]) =>
    cells
      .map((s, c) => pad(s, widths[c]!, p.align[c]!))
      .join('  ')
      .trimEnd();
  const rule = widths.map((w) => '-'.repeat(w)).join('  ');
  return [line(hs), rule, ...body.map(line)].join('\n') + '\n';
}

function escapeMarkdownCell(s: string): string {
  return s.replace(/\|/g, '\\|').replace(/\r?\n/g, '<br>');
}

/** A GitHub-flavoured Markdown table, padded so the source is readable too. */
export function markdownTable(headers: string[], rows: Cell[][], opts?: TableOptions): string {
  const p = prepare(headers, rows, opts);
  const hs = p.headers.map(escapeMarkdownCell);
  const body = p.rows.map((r) => r.map(escapeMarkdownCell));
  // Separator cells need at least three characters ("---" / "--:").
  const widths = hs.map((h, c) => Math.max(3, width(h), ...body.map((r) => width(r[c]!))));
  const line = (cells: string[]) =>
    '| ' + cells.map((s, c) => pad(s, widths[c]!, p.align[c]!)).join(' | ') + ' |';
  const sep =
    '| ' +
    widths
      .map((w, c) => (p.align[c] === 'right' ? '-'.repeat(w - 1) + ':' : ':' + '-'.repeat(w - 1)))
      .join(' | ') +
    ' |';
  return [line(hs), sep, ...body.map(line)].join('\n') + '\n';
}

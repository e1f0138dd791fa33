/** Number formats and Markdown tables shared by the benchmark report's sections. */
import { markdownTable, type Cell } from '../shared/report/table.ts';

export const f = (v: number, d = 0) => (Number.isFinite(v) ? v.toFixed(d) : '-');
export const x = (v: number) => (Number.isFinite(v) ? `${v.toFixed(2)}x` : '-');

/** A Markdown table: columns whose cells all read as numbers (digits, '-', '<= 3x'...) right-aligned, the rest left. */
export function table(headers: string[], rows: Cell[][]): string {
  const numeric = (c: Cell) => typeof c === 'number' || c === '' || /^(<= )?[-\d]/.test(c);
  return markdownTable(headers, rows, {
    align: headers.map((_, i) => (i > 0 && rows.every((r) => numeric(r[i]!)) ? 'right' : 'left')),
  });
}

export function leftTable(headers: string[], rows: Cell[][]): string {
  return markdownTable(headers, rows, { align: headers.map(() => 'left') });
}

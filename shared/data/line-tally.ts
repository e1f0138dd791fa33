/**
 * Rows named in a message by their lines: how many, and the first few (a file of a million
 * rows is named in a line, not a million numbers). Rows are added in file order.
 */

/** Lines named in a note; the rest are counted. */
export const LINES_NAMED = 5;
export const HOLD = ['holds', 'hold'] as const;

/** How many rows, and the lines of the first LINES_NAMED (rows are added in file order). */
export class LineTally {
  count = 0;
  readonly first: number[] = [];

  add(line: number): void {
    if (this.first.length < LINES_NAMED) this.first.push(line);
    this.count++;
  }
}

/** `N rows (lines 4, 9, ...) hold`: how many, where in the file, and the verb ([one, many]) agreeing with them. */
export function rowsAt(t: LineTally, verb?: readonly [string, string]): string {
  const n = t.count;
  const agreed = verb ? ` ${verb[n === 1 ? 0 : 1]}` : '';
  return `${n} row${n === 1 ? '' : 's'} (line${n === 1 ? '' : 's'} ${t.first.join(', ')}${n > LINES_NAMED ? `, and ${n - LINES_NAMED} more` : ''})${agreed}`;
}


/** How a data file's values appear in messages (table parsing and the start warnings alike). */

/** A token as it appears in a message: quoted, control characters escaped, long ones cut. */
export function show(tok: string): string {
  return JSON.stringify(tok.length > 80 ? `${tok.slice(0, 77)}...` : tok);
}

/** A bound or statistic in a message: 6 significant digits, no float noise. */
export function num(x: number): string {
  return String(Number(x.toPrecision(6)));
}

/**
 * Text a peer sent (a site's failure, its version string, a refused message), made safe to put
 * on one line of a log, a terminal or a page: control characters (C0, DEL, C1: newlines, ESC
 * and CSI sequences, a bell), line and paragraph separators and bidirectional overrides become
 * one space each run. A hostile site's failure text with ESC[2J and a CR forged a line of
 * `fedcausal status` and cleared the operator's screen (an outside try); a bidi override
 * reordered what the dashboard showed.
 */
// eslint-disable-next-line no-control-regex
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]+/g;

export function oneLine(text: string): string {
  return text.replace(UNSAFE, ' ');
}

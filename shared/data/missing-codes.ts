/**
 * Undeclared missing-value codes: an export that writes -999 (or 9999, -1...) for "not
 * measured" in a numeric column the schema gives no missingCodes for is read as a value.
 * A few such rows pass the robust range check (-999 is about 25 robust SDs from
 * cholesterol's median, the check refuses at 50), and in many rows the code inflates the
 * quartiles so nothing is refused at all. This says so (a warning: the data are read as
 * they are), by a heuristic: one exact value, repeated, far from the column's other values
 * and cut off from them by an empty gap.
 */
import type { SiteTable } from './site-table.ts';
import { num } from './message-text.ts';
import { robustScale } from './stats.ts';

/**
 * Fewest rows a value must fill to be taken for a code: at least this many, and at least
 * SENTINEL_MIN_SHARE of the column's observed rows. A lone outlier (or two) is a typo,
 * which the robust range check is for; a code is written wherever the value is missing.
 */
export const SENTINEL_MIN_ROWS = 5;
/** Half a percent, not 1%: a code written in 1% of the rows is drawn in fewer than 1% about half the time. */
export const SENTINEL_MIN_SHARE = 0.005;

/**
 * How far from the median of the column's other values (in their robust SDs, that value's
 * rows left out, so a code in 30% of the rows cannot widen the spread it is measured by)
 * a value must lie. Chosen on a family of generated columns (700 rows each; the cases of
 * tests/shared/data/missing-codes.test.ts) and the heart-disease files: -999 in a
 * cholesterol-like column is 24 robust SDs out at 1%, 5% and 30% of the rows, 999 in ages
 * 90, -9 in an oldpeak-like column (0 in 40% of rows) 14. Values that repeat and are real
 * sit far nearer: a 0 in a skewed lab (troponin-like, 30% zeros; CRP-like, 10%) about 1,
 * a count's 0 or its largest values (Poisson, zero-inflated) at most 2.7, an age capped at
 * 90 1.9; the heart-disease files' farthest repeated value is 3.4 (Hungary's trestbps =
 * 180; oldpeak = 0 is 2.0, ca = 0 0.7), and synth's files at default knobs repeat no value
 * in 5 rows. A 0 under a tight lab (lognormal, 5% zeros; chol-like, 3%) is 4.9 out, and
 * not said: that 0 is most likely a code too, but 6 keeps a margin over the real values.
 */
export const SENTINEL_ROBUST_SDS = 6;

/**
 * The empty gap (in the same robust SDs) between the value and the nearest other value on
 * the median's side. A code stands alone; a lab's detection limit or a capped age (90 for
 * "90 or older") sits at the end of a continuous tail, with values right next to it.
 */
export const SENTINEL_GAP_SDS = 3;

/**
 * How many of the column's lowest and highest distinct values are tried: a code cut off
 * from the bulk by an empty gap has beyond it at most other codes and a typo or two, and
 * each value tried costs a sort of the column (a 100,000-row integer column holds dozens
 * of values repeated in 0.5% of its rows).
 */
const ENDS_TRIED = 3;

/** Fewest other observed values to measure a spread on: fewer say too little (as ROBUST_MIN_COUNT). */
export const SENTINEL_MIN_OTHERS = 20;

/**
 * The codes exports use most; named as such in the message. A negative one is also said
 * where every other value of the column is 0 or more, however near: -1 in a count (a
 * Poisson count with -1 in 5% of rows is 1.4 robust SDs from its median) is no count.
 * The heart-disease files' only negative values are oldpeak's, among other negatives.
 */
const USUAL_CODES = new Set([-999, -99, -9, -1, 999, 9999, 99999]);

/** A value that looks like a missing-value code, with the figures the message gives. */
export interface SentinelValue {
  value: number;
  rows: number;
  /** Median and robust SD of the column's other values. */
  median: number;
  scale: number;
  /** The other value nearest to it, on the median's side. */
  nearest: number;
  /** `far` from the others (and cut off by a gap), or a usual `negative` code among values all 0 or more. */
  why: 'far' | 'negative';
}

/** The value of `others` nearest to `value` between it and `median` (the median itself where none is). */
function nearestToward(others: readonly number[], value: number, median: number): number {
  let nearest = median;
  for (const v of others) if (value < median ? v > value && v < nearest : v < value && v > nearest) nearest = v;
  return nearest;
}

/** The values of a numeric column (observed values only) that look like missing-value codes, in value order. */
export function sentinelValues(observed: readonly number[]): SentinelValue[] {
  const counts = new Map<number, number>();
  for (const v of observed) counts.set(v, (counts.get(v) ?? 0) + 1);
  const minRows = Math.max(SENTINEL_MIN_ROWS, Math.ceil(SENTINEL_MIN_SHARE * observed.length));
  const distinct = [...counts.keys()].sort((a, b) => a - b);
  const ends = distinct.length > 2 * ENDS_TRIED ? [...distinct.slice(0, ENDS_TRIED), ...distinct.slice(-ENDS_TRIED)] : distinct;
  const found: SentinelValue[] = [];
  for (const value of ends) {
    const rows = counts.get(value)!;
    if (rows < minRows || observed.length - rows < SENTINEL_MIN_OTHERS) continue;
    const others = observed.filter((v) => v !== value);
    const rs = robustScale(others);
    // The others all one value (a 0/1 column): no spread to be far from.
    if (!rs || rs.scale === 0) continue;
    const nearest = nearestToward(others, value, rs.median);
    const far = Math.abs(value - rs.median) > SENTINEL_ROBUST_SDS * rs.scale && Math.abs(nearest - value) > SENTINEL_GAP_SDS * rs.scale;
    const negativeCode = value < 0 && USUAL_CODES.has(value) && others.every((v) => v >= 0);
    if (far || negativeCode) found.push({ value, rows, median: rs.median, scale: rs.scale, nearest, why: far ? 'far' : 'negative' });
  }
  return found;
}

/**
 * The warnings for numeric columns holding a value that looks like an undeclared
 * missing-value code (sentinelValues), said by check-data and by the site at start; empty
 * when none does. Declared missing values and missingCodes are already null in the table,
 * and categorical columns hold categories (a code there is a category of its own). `who`
 * names the file (and the site).
 */
export function missingCodeNotes(who: string, t: SiteTable, categorical: ReadonlySet<string>): string[] {
  const notes: string[] = [];
  t.features.forEach((f, j) => {
    if (categorical.has(f)) return;
    const observed: number[] = [];
    for (const row of t.values) if (typeof row[j] === 'number') observed.push(row[j]);
    for (const s of sentinelValues(observed)) {
      const where =
        s.why === 'far'
          ? `far from its other values (median ${num(s.median)}, robust SD ${num(s.scale)} without those rows; the nearest is ${num(s.nearest)})`
          : 'below its other values, which are all 0 or more';
      const usual = USUAL_CODES.has(s.value) ? `, a usual code for "not measured"` : '';
      notes.push(
        `${who}: column "${f}" holds ${num(s.value)} in ${s.rows} of the ${observed.length} rows where it is observed, ${where}${usual}: ` +
          `it looks like a missing-value code: declare it in the schema's missingCodes (or fix the export), e.g. "${f}": ["${num(s.value)}"], ` +
          'spelt as the file writes it; until then it is read as a value, in training and in the scaling',
      );
    }
  });
  return notes;
}

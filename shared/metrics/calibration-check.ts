/** A site's calibration sums checked before the coordinator merges them: shape, grid and plausible values. */
import { ProtocolError } from '../errors.ts';
import { BIN_FIELDS, CALIBRATION_GRID, cellCount, ECE_BINS, plainGrid, sameValues, type CalibrationGrid, type CalibrationSums } from './calibration.ts';

/**
 * Checks a site's calibration sums for shape and plausible values before they are
 * merged; returns a fresh object with only the known fields. Throws ProtocolError
 * ('malformed') with a message `${where}: <field> ...`. Beyond shape: bin counts are
 * integers summing to n in every cell, and each bin's sums of p' and y lie in [0, count].
 */
export function validateCalibrationSums(
  raw: unknown,
  where: string,
  grid: CalibrationGrid = CALIBRATION_GRID,
): CalibrationSums {
  const fail = (why: string): never => {
    throw new ProtocolError(`${where}: ${why}`, 'malformed');
  };
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return fail('not an object');
  const o = raw as Record<string, unknown>;
  checkSumsGrid(o.grid, grid, fail);
  const n = o.n;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 0) {
    return fail(`n is ${JSON.stringify(n)}; must be an integer >= 0`);
  }
  const cells = cellCount(grid);
  const nll = nonNegativeNumbers(o, 'nll', cells, fail);
  const bins = nonNegativeNumbers(o, 'bins', cells * ECE_BINS * BIN_FIELDS, fail);
  for (let c = 0; c < cells; c++) checkCellBins(bins, c, n, fail);
  return { grid: plainGrid(grid), n, nll, bins };
}

/** Throws the validator's error for `why`. */
type Fail = (why: string) => never;

/** The grid a site's sums were computed on must be this coordinator's. */
function checkSumsGrid(g: unknown, grid: CalibrationGrid, fail: Fail): void {
  if (typeof g !== 'object' || g === null) return fail('grid is missing');
  for (const f of ['slopes', 'intercepts'] as const) {
    const v = (g as Record<string, unknown>)[f];
    if (!Array.isArray(v) || !v.every((x) => typeof x === 'number') || !sameValues(v, grid[f])) {
      fail(`grid.${f} differs from the ${grid[f].length} ${f} this coordinator uses`);
    }
  }
}

/** A copy of `o[f]`, which must be a list of `len` finite numbers >= 0. */
function nonNegativeNumbers(o: Record<string, unknown>, f: 'nll' | 'bins', len: number, fail: Fail): number[] {
  const v = o[f];
  if (!Array.isArray(v) || v.length !== len) return fail(`${f} must be a list of ${len} numbers`);
  v.forEach((x, i) => {
    if (typeof x !== 'number' || !Number.isFinite(x) || x < 0) {
      fail(`${f}[${i}] is ${String(x)}; must be a finite number >= 0`);
    }
  });
  return [...(v as number[])];
}

/** One cell's ECE bins: integer counts summing to n, each bin's sums of p' and y within [0, count]. */
function checkCellBins(bins: readonly number[], c: number, n: number, fail: Fail): void {
  const perCell = ECE_BINS * BIN_FIELDS;
  let rows = 0;
  for (let k = 0; k < ECE_BINS; k++) {
    const at = c * perCell + k * BIN_FIELDS;
    const count = bins[at]!;
    if (!Number.isInteger(count)) fail(`bins[${at}] is ${count}; a bin count must be an integer`);
    // Sums of p' may exceed the count by rounding only.
    if (bins[at + 1]! > count * (1 + 1e-9)) fail(`bins[${at + 1}] is ${bins[at + 1]}; a sum of p' cannot exceed its bin count ${count}`);
    if (bins[at + 2]! > count) fail(`bins[${at + 2}] is ${bins[at + 2]}; a sum of labels cannot exceed its bin count ${count}`);
    rows += count;
  }
  if (rows !== n) fail(`bins of cell ${c} count ${rows} rows, n is ${n}`);
}

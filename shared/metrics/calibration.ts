import { checkInputs } from './classification.ts';

/**
 * Federated post-hoc calibration from sums: Platt-style recalibration
 *
 *   p' = sigmoid(a * logit(p) + b)
 *
 * fitted on the sites' held-out rows without any row leaving a site. Each site sends
 * the coordinator `calibrationSums` (one number per grid cell and ECE bin); the
 * coordinator adds them (`mergeCalibrationSums`), picks the cell with the lowest total
 * log-loss (`fitCalibration`) and can report ECE before (`identityCell`) and after
 * (`eceAt`) from the same sums.
 *
 * Why a fixed grid of (a, b) rather than fitting them by Newton or gradient steps: the
 * log-loss is a sum over rows, so its value at a FIXED set of candidates is a vector of
 * sums that one upload from each site delivers in full. An iterative fit would need a
 * protocol round (coordinator broadcasts a, b; sites answer gradient sums) per step, each
 * one more signed exchange, more waiting on the slowest site, and more aggregate values
 * revealed. The grid costs resolution (slopes 2^(2/7) ~ 1.22x apart, intercepts 0.25
 * apart): in the tests, with the true slope 0.5 midway between two grid slopes, the grid
 * fit takes ECE from 0.13 to 0.009 on 40k rows. The identity (a = 1, b = 0), i.e. the
 * raw scores, is a grid cell, so ECE before and after come out of the same sums.
 *
 * Conventions follow ./classification.ts: labels 0/1, probabilities in [0, 1];
 * malformed input (length mismatch, non-0/1 labels, NaN or out-of-range scores) throws
 * with the same messages; a metric undefined for the data (ECE of zero rows) is NaN.
 * ECE is classification.ts's definition: 10 equal-width bins (bin k holds
 * [k/10, (k+1)/10), 1.0 in the last), |observed rate - mean score| weighted by count.
 */

export interface CalibrationGrid {
  /** Candidate slopes a (multiplying logit(p)). */
  readonly slopes: readonly number[];
  /** Candidate intercepts b. */
  readonly intercepts: readonly number[];
}

/** Number of equal-width ECE bins, as in classification.ts's `ece` default. */
export const ECE_BINS = 10;
/** Numbers per ECE bin in `CalibrationSums.bins`: count, sum of p', sum of y. */
export const BIN_FIELDS = 3;
/** p is clamped to [P_CLAMP, 1 - P_CLAMP] before the logit, so 0 and 1 give finite logits. */
export const P_CLAMP = 1e-7;

const SLOPE_COUNT = 15;
const INTERCEPT_COUNT = 17;

/**
 * The grid every site and the coordinator use. Slopes: 15 values log-spaced from 0.25 to
 * 4, i.e. 2^(2k/7) for k = -7..7, so a = 1 (k = 0), 0.25 and 4 are exact. Intercepts: -2
 * to 2 in steps of 0.25 (17 values, 0 exact). Cell index = ia * intercepts.length + ib.
 */
export const CALIBRATION_GRID: CalibrationGrid = Object.freeze({
  slopes: Object.freeze(
    Array.from({ length: SLOPE_COUNT }, (_, i) => 2 ** ((2 * (i - (SLOPE_COUNT - 1) / 2)) / 7)),
  ),
  intercepts: Object.freeze(
    Array.from({ length: INTERCEPT_COUNT }, (_, i) => -2 + 0.25 * i),
  ),
});

/**
 * What one site sends (and what `mergeCalibrationSums` returns): sums over its held-out
 * rows. Plain number arrays so the object is JSON-able as is.
 */
export interface CalibrationSums {
  /** The grid the sums were computed on (checked on merge and on receipt). */
  grid: { slopes: number[]; intercepts: number[] };
  /** Rows summed over. */
  n: number;
  /** Per cell (index ia * nb + ib): sum over rows of the binary log-loss of p' (natural log). */
  nll: number[];
  /**
   * Per cell, per ECE bin k of p': [count, sum of p', sum of y], flattened at
   * cell * ECE_BINS * BIN_FIELDS + k * BIN_FIELDS + field.
   */
  bins: number[];
}

export interface CalibrationFit {
  a: number;
  b: number;
  /** Grid cell index (ia * nb + ib). */
  cell: number;
  /** Total (summed, not mean) log-loss at that cell; 0 when no rows were summed. */
  nll: number;
}

export interface LeaveOneOutFit {
  fit: CalibrationFit;
  /**
   * True when `fit` was made on the other sites' sums only; false when there was no
   * other site and the fit is the site's own (so its calibrated ECE is optimistic).
   */
  heldOut: boolean;
}

export function cellCount(grid: CalibrationGrid): number {
  return grid.slopes.length * grid.intercepts.length;
}

export function plainGrid(grid: CalibrationGrid): CalibrationSums['grid'] {
  return { slopes: [...grid.slopes], intercepts: [...grid.intercepts] };
}

export function sameValues(x: readonly number[], y: readonly number[]): boolean {
  // Relative 1e-12: identical code gives identical doubles (and JSON round-trips them
  // exactly); the slack only forgives a last-digit difference from another runtime.
  return x.length === y.length && x.every((v, i) => Math.abs(v - y[i]!) <= 1e-12 * Math.max(1, Math.abs(v)));
}

function sameGrid(g: CalibrationGrid, h: CalibrationGrid): boolean {
  return sameValues(g.slopes, h.slopes) && sameValues(g.intercepts, h.intercepts);
}

/** The bin of a probability, exactly as classification.ts's `ece` computes it. */
function eceBin(s: number): number {
  return Math.min(Math.floor(s * ECE_BINS), ECE_BINS - 1);
}

function clampedLogit(p: number): number {
  const c = Math.min(Math.max(p, P_CLAMP), 1 - P_CLAMP);
  return Math.log(c) - Math.log1p(-c);
}


/** Index of the cell a = 1, b = 0 (the raw scores); throws if the grid lacks it. */
export function identityCell(grid: CalibrationGrid = CALIBRATION_GRID): number {
  const ia = grid.slopes.indexOf(1);
  const ib = grid.intercepts.indexOf(0);
  if (ia < 0 || ib < 0) throw new Error('calibration grid has no identity cell (slope 1, intercept 0)');
  return ia * grid.intercepts.length + ib;
}

/** |logit| of a clamped probability is at most this (ln((1 - 1e-7) / 1e-7) ~ 16.12). */
const MAX_LOGIT = clampedLogit(1);

/**
 * A site's sums over its held-out rows: labels `y` (0/1) and predicted P(y = 1) `p`.
 *
 * Cost: with l = logit(clamped p), z = a * l + b and w = exp(-z) = exp(-a * l) * exp(-b),
 * exp(-a * l) is computed once per slope and row, so each cell's pass over the rows is
 * one log1p and one division with no allocation (255 cells x 100k rows ~ 0.5 s).
 * Log-loss: y = 1 gives softplus(-z) = log1p(w), y = 0 gives softplus(z) = log1p(w) + z;
 * the z terms sum to a * (sum of l over y = 0) + b * (rows with y = 0), so the inner loop
 * only sums log1p(w). The loss is exact without clipping p'; w cannot overflow on the
 * grids allowed here (|a| * 16.2 + |b| < 700).
 *
 * At the identity cell the bins hold the scores as given (not sigmoid(logit(clamped p))),
 * so `eceAt(sums, identityCell())` is classification.ts's ECE of the raw scores.
 */
export function calibrationSums(
  y: ArrayLike<number>,
  p: ArrayLike<number>,
  grid: CalibrationGrid = CALIBRATION_GRID,
): CalibrationSums {
  checkInputs(y, p, true);
  const { slopes, intercepts } = grid;
  for (const a of slopes) {
    for (const b of intercepts) {
      if (!(Math.abs(a) * MAX_LOGIT + Math.abs(b) < 700)) {
        throw new Error(`calibration grid cell (a = ${a}, b = ${b}) is not finite or too large for exp`);
      }
    }
  }
  const n = y.length;
  const nb = intercepts.length;
  const cells = cellCount(grid);
  const perCell = ECE_BINS * BIN_FIELDS;
  const logit = new Float64Array(n);
  const label = new Uint8Array(n);
  let logitSum0 = 0;
  let rows0 = 0;
  for (let i = 0; i < n; i++) {
    const l = clampedLogit(p[i]!);
    logit[i] = l;
    label[i] = y[i]!;
    if (label[i] === 0) {
      logitSum0 += l;
      rows0++;
    }
  }
  const slopeExp = new Float64Array(n); // exp(-a * l) for the current slope
  const nll = new Float64Array(cells);
  const bins = new Float64Array(cells * perCell);
  for (let ia = 0; ia < slopes.length; ia++) {
    const a = slopes[ia]!;
    for (let i = 0; i < n; i++) slopeExp[i] = Math.exp(-a * logit[i]!);
    for (let ib = 0; ib < nb; ib++) {
      const b = intercepts[ib]!;
      const interceptExp = Math.exp(-b);
      const cell = ia * nb + ib;
      const base = cell * perCell;
      const identity = a === 1 && b === 0;
      let softplusSum = 0;
      for (let i = 0; i < n; i++) {
        const w = slopeExp[i]! * interceptExp;
        softplusSum += Math.log1p(w);
        const q = identity ? p[i]! : 1 / (1 + w);
        const k = base + eceBin(q) * BIN_FIELDS;
        bins[k]! += 1;
        bins[k + 1]! += q;
        bins[k + 2]! += label[i]!;
      }
      // Each row's loss is >= 0; the sum of differences may round a hair below 0.
      nll[cell] = Math.max(0, softplusSum + a * logitSum0 + b * rows0);
    }
  }
  return { grid: plainGrid(grid), n, nll: Array.from(nll), bins: Array.from(bins) };
}

/** Adds sites' sums: the one place the sum happens, so secure aggregation can replace it. */
export function mergeCalibrationSums(list: readonly CalibrationSums[]): CalibrationSums {
  if (list.length === 0) throw new Error("mergeCalibrationSums needs at least one site's sums");
  const first = list[0]!;
  const out: CalibrationSums = {
    grid: plainGrid(first.grid),
    n: 0,
    nll: new Array<number>(first.nll.length).fill(0),
    bins: new Array<number>(first.bins.length).fill(0),
  };
  list.forEach((s, e) => {
    if (!sameGrid(s.grid, first.grid)) {
      throw new Error(`calibration sums of entry ${e} use a different grid from entry 0`);
    }
    for (const f of ['nll', 'bins'] as const) {
      if (s[f].length !== first[f].length) {
        throw new Error(
          `calibration sums of entry ${e} have ${s[f].length} ${f} values, entry 0 has ${first[f].length}`,
        );
      }
    }
    out.n += s.n;
    for (let i = 0; i < out.nll.length; i++) out.nll[i]! += s.nll[i]!;
    for (let i = 0; i < out.bins.length; i++) out.bins[i]! += s.bins[i]!;
  });
  return out;
}

/**
 * The cell with the lowest total log-loss. Ties (within a relative 1e-12, e.g. when every
 * logit is 0 and the slope does not matter) go to the cell closest to the identity in
 * (ln a, b), then to the lower index. With no rows, the identity.
 */
export function fitCalibration(sums: CalibrationSums): CalibrationFit {
  const { slopes, intercepts } = sums.grid;
  const nb = intercepts.length;
  const fitAt = (cell: number): CalibrationFit => ({
    a: slopes[Math.floor(cell / nb)]!,
    b: intercepts[cell % nb]!,
    cell,
    nll: sums.nll[cell]!,
  });
  if (sums.n === 0) return { ...fitAt(identityCell(sums.grid)), nll: 0 };
  let best = Infinity;
  for (const v of sums.nll) if (v < best) best = v;
  const tol = 1e-12 * Math.max(1, Math.abs(best));
  let chosen = -1;
  let chosenDist = Infinity;
  sums.nll.forEach((v, cell) => {
    if (v > best + tol) return;
    const la = Math.log(slopes[Math.floor(cell / nb)]!);
    const b = intercepts[cell % nb]!;
    const dist = la * la + b * b;
    if (dist < chosenDist) {
      chosen = cell;
      chosenDist = dist;
    }
  });
  return fitAt(chosen);
}

/**
 * ECE (classification.ts's definition, 10 bins) of the scores recalibrated with the
 * cell's (a, b), from merged or single-site sums. NaN with no rows.
 */
export function eceAt(sums: CalibrationSums, cell: number): number {
  const cells = sums.nll.length;
  if (!Number.isInteger(cell) || cell < 0 || cell >= cells) {
    throw new Error(`calibration cell ${cell} is outside the grid's ${cells} cells`);
  }
  if (sums.n === 0) return NaN;
  const base = cell * ECE_BINS * BIN_FIELDS;
  let total = 0;
  for (let k = 0; k < ECE_BINS; k++) {
    const at = base + k * BIN_FIELDS;
    const c = sums.bins[at]!;
    if (c > 0) total += (c / sums.n) * Math.abs(sums.bins[at + 2]! / c - sums.bins[at + 1]! / c);
  }
  return total;
}

/**
 * Recalibrated probabilities sigmoid(a * logit(clamp(p)) + b), for predictions files.
 * The identity (a = 1, b = 0) returns the scores unchanged, as the sums treat it.
 */
export function applyCalibration(p: Float32Array, fit: { a: number; b: number }): Float32Array {
  const { a, b } = fit;
  if (!Number.isFinite(a) || !Number.isFinite(b)) {
    throw new Error(`calibration parameters must be finite, got a = ${a}, b = ${b}`);
  }
  checkInputs(new Uint8Array(p.length), p, true);
  const out = new Float32Array(p.length);
  for (let i = 0; i < p.length; i++) {
    if (a === 1 && b === 0) {
      out[i] = p[i]!;
      continue;
    }
    const z = a * clampedLogit(p[i]!) + b;
    const e = Math.exp(-Math.abs(z));
    out[i] = z >= 0 ? 1 / (1 + e) : e / (1 + e);
  }
  return out;
}

/**
 * Per site, the fit on the OTHER sites' merged sums, so a site's calibrated ECE
 * (`eceAt(itsSums, fit.cell)`) is measured with parameters it did not help fit. With a
 * single site there is no one else: its own fit, marked `heldOut: false`. If the other
 * sites hold no rows their fit is the identity (still held out).
 */
export function leaveOneOutFits(perSite: ReadonlyMap<string, CalibrationSums>): Map<string, LeaveOneOutFit> {
  const out = new Map<string, LeaveOneOutFit>();
  const all = [...perSite];
  if (all.length === 1) {
    const [id, sums] = all[0]!;
    out.set(id, { fit: fitCalibration(sums), heldOut: false });
    return out;
  }
  for (const [id] of all) {
    const others = all.filter(([other]) => other !== id).map(([, s]) => s);
    out.set(id, { fit: fitCalibration(mergeCalibrationSums(others)), heldOut: true });
  }
  return out;
}

import { ProtocolError } from '../errors.ts';
import type { EncodedData } from './encode.ts';

/**
 * Per-class sums of values, squares and cross-products of the encoded columns: what a
 * site contributes toward METHOD.md Part 3's decision (label correlations and
 * within-class correlations). Sums only, added across sites like the pattern counts,
 * never row by row. Plain number arrays so the object is JSON-able as is.
 */
export interface ClassSums {
  /** Rows of this class. */
  rows: number;
  /** Per column (length dim): rows where observed, sum and sum of squares over them. */
  colCount: number[];
  colSum: number[];
  colSumSq: number[];
  /**
   * Per column pair i < j (length dim*(dim-1)/2, index pairIndex(i, j, dim)), over the
   * rows where both are observed: count, sum_i, sum_j, sum_ii, sum_jj, sum_ij.
   */
  pairCount: number[];
  pairSumI: number[];
  pairSumJ: number[];
  pairSumII: number[];
  pairSumJJ: number[];
  pairSumIJ: number[];
}

export interface ClassMoments {
  dim: number;
  /** Index = class label (0, 1). */
  classes: [ClassSums, ClassSums];
  /**
   * Site-centred moments only (centreWithinSite): per column, the label's scatter about
   * each site's own rate over the rows where the column is observed, sum of n1 n0 / n.
   * With the column sums centred on each site's column mean it gives the within-site
   * label correlation (withinSiteLabelCorrelation).
   */
  labelScatter?: number[];
}

export const PAIR_FIELDS = ['pairCount', 'pairSumI', 'pairSumJ', 'pairSumII', 'pairSumJJ', 'pairSumIJ'] as const;
export const COL_FIELDS = ['colCount', 'colSum', 'colSumSq'] as const;

export function pairCountFor(dim: number): number {
  return (dim * (dim - 1)) / 2;
}

/** Index of the pair (i, j), i < j, in the upper-triangle order (0,1), (0,2), ..., (1,2), ... */
export function pairIndex(i: number, j: number, dim: number): number {
  if (!(i >= 0 && i < j && j < dim)) throw new Error(`pairIndex needs 0 <= i < j < ${dim}, got (${i}, ${j})`);
  return i * dim - (i * (i + 1)) / 2 + (j - i - 1);
}

function emptyClass(dim: number): ClassSums {
  const p = pairCountFor(dim);
  const z = (k: number) => new Array<number>(k).fill(0);
  return {
    rows: 0,
    colCount: z(dim),
    colSum: z(dim),
    colSumSq: z(dim),
    pairCount: z(p),
    pairSumI: z(p),
    pairSumJ: z(p),
    pairSumII: z(p),
    pairSumJJ: z(p),
    pairSumIJ: z(p),
  };
}

export function emptyClassMoments(dim: number): ClassMoments {
  return { dim, classes: [emptyClass(dim), emptyClass(dim)] };
}

/** A site's sums over its (training) rows. */
export function computeClassMoments(data: EncodedData): ClassMoments {
  const { dim } = data;
  const out = emptyClassMoments(dim);
  const obs = new Int32Array(dim);
  for (let r = 0; r < data.n; r++) {
    const c = out.classes[data.y[r] ? 1 : 0];
    c.rows++;
    let k = 0;
    for (let j = 0; j < dim; j++) if (data.observed[r * dim + j]) obs[k++] = j;
    for (let a = 0; a < k; a++) {
      const i = obs[a]!;
      const xi = data.x[r * dim + i]!;
      c.colCount[i]!++;
      c.colSum[i]! += xi;
      c.colSumSq[i]! += xi * xi;
      for (let b = a + 1; b < k; b++) {
        const j = obs[b]!;
        const xj = data.x[r * dim + j]!;
        const p = pairIndex(i, j, dim);
        c.pairCount[p]!++;
        c.pairSumI[p]! += xi;
        c.pairSumJ[p]! += xj;
        c.pairSumII[p]! += xi * xi;
        c.pairSumJJ[p]! += xj * xj;
        c.pairSumIJ[p]! += xi * xj;
      }
    }
  }
  return out;
}

/**
 * A site's sums centred on its own means, summed across sites into within-site views:
 * - pairs, per class: sum_i = sum_j = 0, sum_ii / sum_jj / sum_ij the scatter about this
 *   site's class means of the rows where both are observed, and count the degrees of
 *   freedom left (rows - 1): the within-(site, class) covariance, how two readings co-vary
 *   among one hospital's patients of one class;
 * - columns, per class: count as is, sum and sum of squares of x minus this site's mean of
 *   the column (both classes, rows where observed), and `labelScatter` the label's scatter
 *   about this site's rate: the within-site covariance of the column with the label.
 * The raw sums pooled across sites also carry the differences between hospitals' means (a
 * device calibrated higher at one site, a sicker population or another case mix at
 * another), which can invent or cancel a within-class correlation, or a label correlation
 * (a lab read higher where more patients are sick).
 */
export function centreWithinSite(m: ClassMoments): ClassMoments {
  const [c0, c1] = m.classes;
  const colMean = c0.colCount.map((n0, j) => {
    const n = n0 + c1.colCount[j]!;
    return n > 0 ? (c0.colSum[j]! + c1.colSum[j]!) / n : 0;
  });
  const classes = m.classes.map((c) => {
    const out: ClassSums = { ...c, pairCount: [...c.pairCount], pairSumI: [...c.pairSumI], pairSumJ: [...c.pairSumJ], pairSumII: [...c.pairSumII], pairSumJJ: [...c.pairSumJJ], pairSumIJ: [...c.pairSumIJ] };
    // sum (x - mean) and sum (x - mean)^2 over this class's rows, from its raw sums.
    out.colSum = c.colSum.map((s, j) => s - c.colCount[j]! * colMean[j]!);
    out.colSumSq = c.colSumSq.map((q, j) => Math.max(0, q - 2 * colMean[j]! * c.colSum[j]! + c.colCount[j]! * colMean[j]! ** 2));
    for (let p = 0; p < c.pairCount.length; p++) {
      const n = c.pairCount[p]!;
      const [si, sj] = [c.pairSumI[p]!, c.pairSumJ[p]!];
      // Scatter can only shrink by centring; clamp the rounding of a constant column at 0.
      out.pairSumII[p] = n > 0 ? Math.max(0, c.pairSumII[p]! - (si * si) / n) : 0;
      out.pairSumJJ[p] = n > 0 ? Math.max(0, c.pairSumJJ[p]! - (sj * sj) / n) : 0;
      out.pairSumIJ[p] = n > 0 ? c.pairSumIJ[p]! - (si * sj) / n : 0;
      out.pairSumI[p] = 0;
      out.pairSumJ[p] = 0;
      out.pairCount[p] = Math.max(0, n - 1);
    }
    return out;
  }) as [ClassSums, ClassSums];
  const labelScatter = c0.colCount.map((n0, j) => {
    const n1 = c1.colCount[j]!;
    return n0 + n1 > 0 ? (n0 * n1) / (n0 + n1) : 0;
  });
  return { dim: m.dim, classes, labelScatter };
}

/** What a site sends at the statistics stage: its raw class moments, and the same centred on its own class means. */
export interface SiteMoments {
  pooled: ClassMoments;
  withinSite: ClassMoments;
}

export function siteMoments(data: EncodedData): SiteMoments {
  const pooled = computeClassMoments(data);
  return { pooled, withinSite: centreWithinSite(pooled) };
}

/** Adds sites' sums: the one place the sum happens, so secure aggregation can replace it. */
export function mergeClassMoments(list: ClassMoments[]): ClassMoments {
  if (list.length === 0) throw new Error('mergeClassMoments needs at least one site\'s moments');
  const dim = list[0]!.dim;
  const out = emptyClassMoments(dim);
  list.forEach((m, s) => {
    if (m.dim !== dim) throw new Error(`class moments of entry ${s} have ${m.dim} columns, entry 0 has ${dim}`);
    for (const k of [0, 1] as const) {
      const src = m.classes[k];
      const dst = out.classes[k];
      dst.rows += src.rows;
      for (const f of [...COL_FIELDS, ...PAIR_FIELDS]) {
        const a = dst[f];
        const b = src[f];
        for (let i = 0; i < a.length; i++) a[i]! += b[i]!;
      }
    }
  });
  // The site-centred view's label scatter adds up like the rest; a list without it everywhere has none.
  if (list.every((m) => m.labelScatter)) out.labelScatter = list.reduce((acc, m) => acc.map((v, j) => v + m.labelScatter![j]!), new Array<number>(dim).fill(0));
  return out;
}

/** Checks a peer's class moments for shape and finite values before they are merged. */
export function validateClassMoments(m: unknown, dim: number, where = 'class moments', opts: { centred?: boolean } = {}): ClassMoments {
  const fail = (why: string): never => {
    throw new ProtocolError(`${where}: ${why}`, 'malformed');
  };
  if (typeof m !== 'object' || m === null) return fail('not an object');
  const o = m as Record<string, unknown>;
  if (o.dim !== dim) fail(`dim is ${JSON.stringify(o.dim)}, the feature space has ${dim} columns`);
  if (!Array.isArray(o.classes) || o.classes.length !== 2) fail('classes must be a list of 2 entries (label 0, 1)');
  (o.classes as unknown[]).forEach((c, k) => {
    if (typeof c !== 'object' || c === null) return fail(`classes[${k}] is not an object`);
    const cs = c as Record<string, unknown>;
    if (typeof cs.rows !== 'number' || !(cs.rows >= 0)) fail(`classes[${k}].rows must be a count >= 0`);
    for (const f of [...COL_FIELDS, ...PAIR_FIELDS]) {
      const len = (COL_FIELDS as readonly string[]).includes(f) ? dim : pairCountFor(dim);
      const v = cs[f];
      if (!Array.isArray(v) || v.length !== len) fail(`classes[${k}].${f} must be a list of ${len} numbers`);
      if (!(v as unknown[]).every((x) => typeof x === 'number' && Number.isFinite(x)))
        fail(`classes[${k}].${f} holds a non-finite value`);
    }
  });
  if (opts.centred) {
    const v = o.labelScatter;
    if (!Array.isArray(v) || v.length !== dim) fail(`labelScatter must be a list of ${dim} numbers (the label's scatter per column about each site's rate)`);
    if (!(v as unknown[]).every((x) => typeof x === 'number' && Number.isFinite(x))) fail('labelScatter holds a non-finite value');
  }
  return m as ClassMoments;
}

/**
 * Checks site-centred moments for what centring guarantees: scatter >= 0 and
 * sum_ij^2 <= sum_ii * sum_jj (a covariance matrix), pair sums of i and j at 0, column sums
 * of the two classes adding to 0, a label scatter of at most n / 4 and a label correlation
 * within [-1, 1]; where the site's raw moments are given, everything centring its raw sums
 * gives: rows and counts, one degree of freedom less per observed pair, the column sums,
 * label scatter, pair scatter and cross terms. The plausibility checks hold for a sum of sites too
 * (without `raw`). A site that sent other numbers is refused: the centred view can take a
 * flag away.
 */
export function checkCentred(centred: ClassMoments, raw: ClassMoments | undefined, where: string): void {
  const fail = (why: string): never => {
    throw new ProtocolError(`${where}: ${why}`, 'malformed');
  };
  // Rounding: centring subtracts squares of sums, so allow a relative slack.
  const slack = (x: number) => 1e-6 * Math.max(1, Math.abs(x));
  // A secure sum is quantized per site (16 fractional bits): the column checks on a sum allow for it.
  const colSlack = raw ? slack : (x: number) => 1e-4 * Math.abs(x) + 1e-3;
  const [c0, c1] = centred.classes;
  const scatter = centred.labelScatter;
  if (!scatter) return fail('labelScatter is missing');
  for (let j = 0; j < centred.dim; j++) checkCentredColumn(j, c0, c1, scatter, colSlack, fail);
  // The site derives them from its raw sums as the coordinator can: compare, at the raw sums' scale.
  const want = raw && centreWithinSite(raw);
  if (raw && want) checkColumnsAsCentred(centred, scatter, raw, want, slack, fail);
  centred.classes.forEach((c, k) => checkCentredPairs(c, k, raw?.classes[k], want?.classes[k], slack, fail));
}

/** Throws checkCentred's error for `why`. */
type Fail = (why: string) => never;

/** Column j of centred moments: class sums adding to 0, scatter >= 0, label scatter and correlation in range. */
function checkCentredColumn(j: number, c0: ClassSums, c1: ClassSums, scatter: number[], colSlack: (x: number) => number, fail: Fail): void {
  const [s0, s1] = [c0.colSum[j]!, c1.colSum[j]!];
  const [q0, q1] = [c0.colSumSq[j]!, c1.colSumSq[j]!];
  const [n0, n1] = [c0.colCount[j]!, c1.colCount[j]!];
  const v = scatter[j]!;
  if (Math.abs(s0 + s1) > colSlack(Math.abs(s0) + Math.abs(s1))) fail(`column ${j}: centred column sums of the two classes add to ${s0 + s1}, not 0`);
  if (q0 < 0 || q1 < 0 || s0 * s0 > n0 * q0 + colSlack(n0 * q0) || s1 * s1 > n1 * q1 + colSlack(n1 * q1)) fail(`column ${j}: the centred column sums are no scatter`);
  if (v < 0 || v > (n0 + n1) / 4 + colSlack(n0 + n1)) fail(`column ${j}: label scatter ${v} outside [0, rows / 4]`);
  if (s1 * s1 > (q0 + q1) * v + colSlack((q0 + q1) * v)) fail(`column ${j}: the centred sums give a label correlation beyond 1`);
}

/** The label scatter, rows and column fields against `want`, the site's raw moments centred here. */
function checkColumnsAsCentred(centred: ClassMoments, scatter: number[], raw: ClassMoments, want: ClassMoments, slack: (x: number) => number, fail: Fail): void {
  const scale = raw.classes[0].colSumSq.map((q, j) => q + raw.classes[1].colSumSq[j]! + Math.abs(raw.classes[0].colSum[j]!) + Math.abs(raw.classes[1].colSum[j]!));
  const off = (got: number[], exp: number[]) => got.some((v, j) => Math.abs(v - exp[j]!) > slack(scale[j]!));
  if (off(scatter, want.labelScatter!)) fail('labelScatter differs from what the class moments give');
  centred.classes.forEach((c, k) => {
    const w = want.classes[k]!;
    if (c.rows !== w.rows) fail(`classes[${k}].rows is ${c.rows}, the class moments have ${w.rows}`);
    for (const f of COL_FIELDS) if (off(c[f], w[f])) fail(`classes[${k}].${f} differs from what the class moments give`);
  });
}

/**
 * Class k's pairs: sums of i and j at 0 and a scatter matrix; where the raw class `r` and
 * its centring `w` are given, also the degrees of freedom, scatter and cross terms it gives.
 */
function checkCentredPairs(c: ClassSums, k: number, r: ClassSums | undefined, w: ClassSums | undefined, slack: (x: number) => number, fail: Fail): void {
  for (let p = 0; p < c.pairCount.length; p++) {
    const [ii, jj, ij] = [c.pairSumII[p]!, c.pairSumJJ[p]!, c.pairSumIJ[p]!];
    if (c.pairSumI[p] !== 0 || c.pairSumJ[p] !== 0) fail(`classes[${k}] pair ${p}: centred sums of i and j must be 0`);
    if (ii < 0 || jj < 0 || ij * ij > ii * jj + slack(ii * jj)) fail(`classes[${k}] pair ${p}: the centred sums are no scatter (sum_ii ${ii}, sum_jj ${jj}, sum_ij ${ij})`);
    if (!r || !w) continue;
    if (c.pairCount[p] !== w.pairCount[p]) fail(`classes[${k}] pair ${p}: count ${c.pairCount[p]}, the class moments' ${r.pairCount[p]} less one`);
    // Centring is arithmetic on the raw sums: the scatter and the cross term must be what they give
    // (a cross term moved within its scatter's bound vetoed a flag: an outside review).
    const scale = r.pairSumII[p]! + r.pairSumJJ[p]! + Math.abs(r.pairSumIJ[p]!);
    const [wii, wjj, wij] = [w.pairSumII[p]!, w.pairSumJJ[p]!, w.pairSumIJ[p]!];
    if ([ii - wii, jj - wjj, ij - wij].some((d) => Math.abs(d) > slack(scale)))
      fail(`classes[${k}] pair ${p}: the centred sums differ from what the class moments give (sum_ii ${ii} for ${wii}, sum_jj ${jj} for ${wjj}, sum_ij ${ij} for ${wij})`);
  }
}

/**
 * A categorical feature whose tie to the label is spread over many values: each value's
 * one-hot column is weakly tied to the label, the grouping of its values is strongly (24
 * wards, 12 of them where patients are sent sicker: each ward's |corr| at most 0.19, the
 * "sick wards" grouping 0.86). The rule judged a categorical feature by its strongest
 * column and never looked at it (an outside try: a shortcut missed, no word). Here each
 * categorical feature of three or more columns gets one more, derived column: the
 * indicator of its values whose positive rate is above the pooled one, so the rule judges
 * the grouping as it judges a reading.
 *
 * The derived column's sums are linear in its values' sums: column sums and cross
 * products with every other column are exact. Its square needs the values' cross products
 * with each other, which one-hot columns have as 0 in the raw sums (exact), and which
 * site-centred sums hold over the feature's own rows only; over a pair's rows they are
 * scaled by that pair's share of them (exact where the other column is observed wherever
 * the feature is).
 */
import { PAIR_FIELDS, pairCountFor, pairIndex, type ClassMoments, type ClassSums } from '../../../data/class-moments.ts';
import type { FeatureSpace } from '../../../data/feature-space.ts';

export interface ColumnGroup {
  feature: string;
  /** The derived column's index, after the space's columns. */
  col: number;
  /** The feature's columns whose values are grouped (positive rate above the pooled one). */
  levels: number[];
  /** All of the feature's columns. */
  columns: number[];
}

/** A feature's columns in the space, for categorical features of at least three columns. */
function categoricalColumns(space: FeatureSpace): Map<string, number[]> {
  const out = new Map<string, number[]>();
  space.columns.forEach((c, j) => {
    if (c.kind !== 'category') return;
    const cols = out.get(c.feature) ?? [];
    cols.push(j);
    out.set(c.feature, cols);
  });
  for (const [f, cols] of out) if (cols.length < 3) out.delete(f);
  return out;
}

/** The groups, from the pooled raw moments (one-hot sums are counts of rows per value and class). */
export function findGroups(m: ClassMoments, space: FeatureSpace): ColumnGroup[] {
  const [c0, c1] = m.classes;
  const groups: ColumnGroup[] = [];
  for (const [feature, columns] of categoricalColumns(space)) {
    const pos = columns.reduce((a, j) => a + c1.colSum[j]!, 0);
    const all = columns.reduce((a, j) => a + c0.colSum[j]! + c1.colSum[j]!, 0);
    if (!(all > 0)) continue;
    const levels = columns.filter((j) => {
      const n = c0.colSum[j]! + c1.colSum[j]!;
      return n > 0 && c1.colSum[j]! / n > pos / all;
    });
    // One value alone is already a column of its own; all or none groups nothing.
    if (levels.length < 2 || levels.length >= columns.length - 1) continue;
    groups.push({ feature, col: m.dim + groups.length, levels, columns });
  }
  return groups;
}

/** The sums of the pair (a, b) as seen from a: [count, sum_a, sum_b, sum_aa, sum_bb, sum_ab]. */
function pairFrom(c: ClassSums, a: number, b: number, dim: number): [number, number, number, number, number, number] {
  const p = a < b ? pairIndex(a, b, dim) : pairIndex(b, a, dim);
  const [si, sj, sii, sjj] = [c.pairSumI[p]!, c.pairSumJ[p]!, c.pairSumII[p]!, c.pairSumJJ[p]!];
  return a < b ? [c.pairCount[p]!, si, sj, sii, sjj, c.pairSumIJ[p]!] : [c.pairCount[p]!, sj, si, sjj, sii, c.pairSumIJ[p]!];
}

/** The cross products of a group's values with each other, over the feature's rows (0 for raw one-hot sums). */
function crossWithin(c: ClassSums, g: ColumnGroup, dim: number): number {
  let s = 0;
  for (let a = 0; a < g.levels.length; a++) for (let b = a + 1; b < g.levels.length; b++) s += 2 * pairFrom(c, g.levels[a]!, g.levels[b]!, dim)[5];
  return s;
}

/** The group's sums with column j (a real column or an earlier group): [count, sum_g, sum_j, sum_gg, sum_jj, sum_gj]. */
function groupPair(c: ClassSums, g: ColumnGroup, j: number, dim: number, cross: number, ownRows: number, other?: ColumnGroup): number[] {
  const js = other ? other.levels : [j];
  const out = [0, 0, 0, 0, 0, 0];
  const first = pairFrom(c, g.levels[0]!, js[0]!, dim);
  out[0] = first[0];
  for (const a of g.levels) {
    for (const b of js) {
      const s = pairFrom(c, a, b, dim);
      out[5]! += s[5];
      if (b === js[0]) {
        out[1]! += s[1];
        out[3]! += s[3];
      }
      if (a === g.levels[0]) {
        out[2]! += s[2];
        out[4]! += s[4];
      }
    }
  }
  // The other side's own cross terms (a group with a group), and this side's, scaled to the pair's rows.
  out[3]! += ownRows > 0 ? (cross * out[0]) / ownRows : 0;
  if (other) out[4]! += ownRows > 0 ? (crossWithin(c, other, dim) * out[0]) / Math.max(1, c.colCount[other.levels[0]!]!) : 0;
  return out;
}

/**
 * A group's squares about each site's mean of it, per class, from site-centred sums: the
 * scatter about each (site, class) mean (from its values' pair sums, exact) plus the part
 * between a site's class means and its mean, at its least: as if that part were the same
 * at every site (Cauchy-Schwarz on the centred column sum). The within-site label
 * correlation reads the first part, which this keeps exact.
 */
function centredSquares(c: ClassSums, g: ColumnGroup, dim: number, cross: number, colSum: number): number {
  const other = (a: number) => g.columns.find((j) => j !== a)!;
  const within = g.levels.reduce((s, a) => s + pairFrom(c, a, other(a), dim)[3], 0) + cross;
  const n = c.colCount[g.levels[0]!]!;
  return within + (n > 0 ? (colSum * colSum) / n : 0);
}

/** The moments with one derived column per group appended (raw or site-centred sums alike). */
export function withGroups(m: ClassMoments, groups: readonly ColumnGroup[]): ClassMoments {
  if (groups.length === 0) return m;
  const dim = m.dim;
  const D = dim + groups.length;
  const centred = m.labelScatter !== undefined;
  const classes = m.classes.map((c) => {
    const out: ClassSums = { rows: c.rows, colCount: [...c.colCount], colSum: [...c.colSum], colSumSq: [...c.colSumSq], pairCount: [], pairSumI: [], pairSumJ: [], pairSumII: [], pairSumJJ: [], pairSumIJ: [] };
    const cross = groups.map((g) => crossWithin(c, g, dim));
    groups.forEach((g, k) => {
      out.colCount.push(c.colCount[g.levels[0]!]!);
      out.colSum.push(g.levels.reduce((a, j) => a + c.colSum[j]!, 0));
      out.colSumSq.push(Math.max(0, centred ? centredSquares(c, g, dim, cross[k]!, out.colSum.at(-1)!) : g.levels.reduce((a, j) => a + c.colSumSq[j]!, 0) + cross[k]!));
    });
    for (const f of PAIR_FIELDS) out[f] = new Array<number>(pairCountFor(D)).fill(0);
    for (let i = 0; i < D; i++)
      for (let j = i + 1; j < D; j++) {
        let s: number[];
        if (j < dim) s = pairFrom(c, i, j, dim);
        // A group and one of its own feature's columns: never compared (one feature), left at 0.
        else if (groups[j - dim]!.columns.includes(i)) continue;
        else {
          const g = groups[j - dim]!;
          // Seen from the group j, then turned round so that i is the first side.
          const t = groupPair(c, g, i, dim, cross[j - dim]!, c.colCount[g.levels[0]!]!, i >= dim ? groups[i - dim] : undefined);
          s = [t[0]!, t[2]!, t[1]!, t[4]!, t[3]!, t[5]!];
        }
        const p = pairIndex(i, j, D);
        PAIR_FIELDS.forEach((f, k) => (out[f][p] = s[k]!));
      }
    return out;
  }) as [ClassSums, ClassSums];
  const labelScatter = m.labelScatter ? [...m.labelScatter, ...groups.map((g) => m.labelScatter![g.levels[0]!]!)] : undefined;
  return { dim: D, classes, ...(labelScatter ? { labelScatter } : {}) };
}

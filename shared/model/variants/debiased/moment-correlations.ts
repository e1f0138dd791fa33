// The correlations the `auto` rule reads off summed class moments (decide.ts): with the
// label, pooled and within hospitals, and within class between two columns, with its band.
import type { ClassMoments } from '../../../data/class-moments.ts';
import { pairIndex } from '../../../data/class-moments.ts';
import { DEFAULT_DECIDE } from './config.ts';

/** Point-biserial correlation of column j with the label, over the rows where j is observed (NaN if undefined). */
export function labelCorrelation(m: ClassMoments, j: number): number {
  const [c0, c1] = m.classes;
  const n0 = c0.colCount[j]!;
  const n1 = c1.colCount[j]!;
  const N = n0 + n1;
  if (n0 < 1 || n1 < 1) return NaN;
  const mean = (c0.colSum[j]! + c1.colSum[j]!) / N;
  const variance = (c0.colSumSq[j]! + c1.colSumSq[j]!) / N - mean * mean;
  if (!(variance > 1e-12)) return NaN;
  const p = n1 / N;
  return ((c1.colSum[j]! / n1 - c0.colSum[j]! / n0) * Math.sqrt(p * (1 - p))) / Math.sqrt(variance);
}

/**
 * The label correlation of column j within hospitals, from site-centred moments
 * (centreWithinSite): the difference of the class means within each site (averaged over
 * sites with weights n1 n0 / n: summed covariance with the label over summed label
 * scatter), over the within-(site, class) standard deviation, read as a correlation at the
 * pooled class balance. A lab read higher where more patients are sick has a pooled label
 * correlation that this one does not carry. Read as an effect size it does not shrink where
 * a site's rows are nearly all of one class (outcome-driven imaging at a referral centre),
 * as the plain within-site correlation did (a planted reading missed from --site-shift 2.5
 * up: an outside review). NaN where undefined (no label scatter: every site holds one
 * class where j is observed).
 */
export function withinSiteLabelCorrelation(centred: ClassMoments, j: number): number {
  const [c0, c1] = centred.classes;
  const v = centred.labelScatter?.[j] ?? NaN;
  const q = c0.colSumSq[j]! + c1.colSumSq[j]!;
  const n = c0.colCount[j]! + c1.colCount[j]!;
  if (!(v > 1e-12) || !(q > 1e-12) || !(n > 0)) return NaN;
  const diff = c1.colSum[j]! / v;
  // Scatter about each site's class means: a site's between-class part is v_s d_s^2, and their sum is at
  // least v diff^2 (equal where every site has the same difference), so this errs large: a smaller correlation.
  const within = Math.max(1e-12, (q - diff * diff * v) / n);
  const pq = (c1.colCount[j]! / n) * (c0.colCount[j]! / n);
  return (diff * Math.sqrt(pq)) / Math.sqrt(within + diff * diff * pq);
}

/** A within-class correlation with its confidence band (Fisher z, pooled over the two classes). */
export interface WithinClass {
  /** |pooled r| (NaN when no class has 4 rows). */
  corr: number;
  /** Confidence bounds of |r| at `confidence` standard errors. */
  lower: number;
  upper: number;
  rows: number;
  /** The pooled Fisher z with its sign, and its standard error (NaN when no class has 4 rows). */
  z: number;
  se: number;
}

/**
 * Within-class correlation of columns i and j: each class's Pearson r, pooled on
 * Fisher's z scale with weights n_c - 3 (signed: a severity marker co-varies the same
 * way in both classes, and noise of opposite signs cancels instead of adding up). A
 * class where either column is constant says nothing of how they co-vary and is left out:
 * counted as r = 0 with full weight, it narrowed the band towards 0 and a real marker
 * recorded 0 for every negative (a size, a count of lesions) was flagged in 8 of 10 draws
 * (a method review). Where neither class varies (a column that is a function of the
 * label: a leak) both count as r = 0, so such a column still stands apart from severity.
 */
export function withinClassCorrelation(m: ClassMoments, i: number, j: number, confidence = DEFAULT_DECIDE.confidence): WithinClass {
  const [a, b] = i < j ? [i, j] : [j, i];
  const p = pairIndex(a, b, m.dim);
  let zSum = 0;
  let weight = 0;
  let rows = 0;
  let constant = 0;
  for (const c of m.classes) {
    const n = c.pairCount[p]!;
    rows += n;
    if (n < 4) continue;
    const [sa, sb] = [c.pairSumI[p]!, c.pairSumJ[p]!];
    const va = c.pairSumII[p]! - (sa * sa) / n;
    const vb = c.pairSumJJ[p]! - (sb * sb) / n;
    if (!(va / n > 1e-10 && vb / n > 1e-10)) {
      constant += n - 3;
      continue;
    }
    const cov = c.pairSumIJ[p]! - (sa * sb) / n;
    zSum += (n - 3) * Math.atanh(Math.max(-0.999999, Math.min(0.999999, cov / Math.sqrt(va * vb))));
    weight += n - 3;
  }
  if (weight === 0) weight = constant;
  if (weight === 0) return { corr: NaN, lower: NaN, upper: NaN, rows, z: NaN, se: NaN };
  const z = Math.abs(zSum / weight);
  const se = 1 / Math.sqrt(weight);
  return { corr: Math.tanh(z), lower: Math.tanh(Math.max(0, z - confidence * se)), upper: Math.tanh(z + confidence * se), rows, z: zSum / weight, se };
}

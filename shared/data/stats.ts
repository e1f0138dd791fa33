import type { Schema } from './schema.ts';
import type { SiteTable } from './site-table.ts';

/**
 * What a site contributes so the federation can agree on feature scaling and
 * category vocabularies: sums, never rows. The coordinator adds these up
 * (mergeFeatureStats) and derives one FeatureSpace for everyone.
 */
export interface FeatureStats {
  n: number;
  numeric: Record<string, { count: number; sum: number; sumSq: number }>;
  categories: Record<string, Record<string, number>>;
  /**
   * Per categorical feature, observed rows whose value is not named in `categories`: a
   * secure run counts only candidate values (secagg/stats-parts.ts); these fold into "other".
   */
  uncounted?: Record<string, number>;
}

/** The sample SD of a numeric feature's summed values (0 where the sums round below 0). */
export function sampleSd({ count, sum, sumSq }: { count: number; sum: number; sumSq: number }): number {
  const mean = sum / count;
  return Math.sqrt(Math.max(0, (sumSq - count * mean * mean) / (count - 1)));
}

/** No measurement a hospital records is this large; a bigger |value| is a data error wherever it appears. */
export const MAX_ABS_VALUE = 1e15;
/** Validation: an undeclared numeric column rejects a value further than this many robust SDs from its median. */
export const ROBUST_SD_LIMIT = 50;
/** The robust check needs this many observed values in a column; with fewer the median and MAD say too little. */
export const ROBUST_MIN_COUNT = 20;
/**
 * Scaling: before summing, each value is clipped to its file's median +- this many
 * robust SDs, so one extreme value that passed validation cannot dominate the
 * agreed mean and SD. Far outside anything in the heart-disease files (their largest
 * distance is 6.8 robust SDs, cleveland's chol), so there nothing is clipped and the
 * sums are exactly the unclipped ones.
 */
export const CLIP_ROBUST_SDS = 10;

/** A column's centre and spread, resistant to a few wild values. */
export interface RobustScale {
  median: number;
  /**
   * The largest of 1.4826 * MAD, IQR / 1.349 and 1.4826 * the median distance from the
   * median of the values that are not at the median; 0 only for a constant column.
   */
  scale: number;
  method: 'mad' | 'iqr' | 'untied-mad' | 'constant';
}

/** Quantile p of ascending `a` by linear interpolation (R's type 7, numpy's default). */
export function quantile(a: readonly number[], p: number): number {
  const h = (a.length - 1) * p;
  const lo = Math.floor(h);
  if (h === lo) return a[lo]!;
  return a[lo]! + (h - lo) * (a[Math.min(lo + 1, a.length - 1)]! - a[lo]!);
}

/**
 * The robust centre and scale of `values` (finite numbers); undefined when there are none.
 *
 * For a continuous column the three scales agree (for a symmetric one IQR = 2 MAD) and
 * this is the MAD's. Where many values sit exactly at the median (a zero-inflated column
 * such as oldpeak: 0 in most rows of some files) the MAD is 0, and in a small file the
 * interpolated IQR can be nearly 0 too, so ordinary values would look hundreds of SDs
 * out; the MAD of the values off the median then measures the spread of the rest. It is
 * 0 only when every value is the median, so no SD fallback is needed.
 */
export function robustScale(values: readonly number[]): RobustScale | undefined {
  if (values.length === 0) return undefined;
  const a = [...values].sort((x, y) => x - y);
  const median = quantile(a, 0.5);
  const dev = a.map((v) => Math.abs(v - median)).sort((x, y) => x - y);
  const off = dev.filter((d) => d > 0);
  const candidates: [number, RobustScale['method']][] = [
    [1.4826 * quantile(dev, 0.5), 'mad'],
    [(quantile(a, 0.75) - quantile(a, 0.25)) / 1.349, 'iqr'],
    [off.length > 0 ? 1.4826 * quantile(off, 0.5) : 0, 'untied-mad'],
  ];
  let [scale, method] = candidates[0]!;
  for (const [s, m] of candidates.slice(1))
    if (s > scale) {
      scale = s;
      method = m;
    }
  return scale > 0 ? { median, scale, method } : { median, scale: 0, method: 'constant' };
}

/** [median - k * scale, median + k * scale]; undefined for no values or a constant column (nothing can be far out). */
export function robustBounds(values: readonly number[], k: number): [number, number] | undefined {
  const r = robustScale(values);
  if (!r || r.scale === 0) return undefined;
  return [r.median - k * r.scale, r.median + k * r.scale];
}

/**
 * Sums of a numeric column, each value first clipped to `bounds` (and to
 * +-MAX_ABS_VALUE). A value inside the bounds is added unchanged, so where nothing
 * is clipped the sums equal the plain ones bit for bit.
 */
function clippedSums(values: readonly number[], bounds: readonly [number, number] | undefined): { count: number; sum: number; sumSq: number } {
  const ok = bounds !== undefined && !Number.isNaN(bounds[0]) && !Number.isNaN(bounds[1]);
  const lo = ok ? Math.max(bounds[0], -MAX_ABS_VALUE) : -MAX_ABS_VALUE;
  const hi = ok ? Math.min(bounds[1], MAX_ABS_VALUE) : MAX_ABS_VALUE;
  let sum = 0;
  let sumSq = 0;
  for (const raw of values) {
    const v = raw < lo ? lo : raw > hi ? hi : raw;
    sum += v;
    sumSq += v * v;
  }
  return { count: values.length, sum, sumSq };
}

/**
 * A site's contribution to the agreed scaling. Numeric columns are summed after
 * clipping to the declared range or, undeclared, to the site's robust bounds
 * (median +- CLIP_ROBUST_SDS robust SDs): still plain sums, merged as before.
 */
export function computeFeatureStats(schema: Schema, t: SiteTable): FeatureStats {
  const numeric: FeatureStats['numeric'] = {};
  const categories: FeatureStats['categories'] = {};
  t.features.forEach((f, j) => {
    if (schema.categorical.has(f)) {
      const c: Record<string, number> = {};
      for (const row of t.values) {
        const v = row[j];
        if (v !== null && v !== undefined) c[String(v)] = (c[String(v)] ?? 0) + 1;
      }
      categories[f] = c;
    } else {
      const vals: number[] = [];
      for (const row of t.values) {
        const v = row[j];
        if (typeof v === 'number' && !Number.isNaN(v)) vals.push(v);
      }
      // The file's bounds where the table carries them (a split is clipped as its whole file
      // is: a small subset's own spread can be narrow), else this table's own.
      const own = t.clipBounds ? (t.clipBounds[j] ?? undefined) : robustBounds(vals.filter(Number.isFinite), CLIP_ROBUST_SDS);
      numeric[f] = clippedSums(vals, schema.ranges.get(f) ?? own);
    }
  });
  return { n: t.values.length, numeric, categories };
}

export function mergeFeatureStats(all: readonly FeatureStats[]): FeatureStats {
  // Keyed by names a site sends: with plain objects a site's "__proto__" key reached Object.prototype (an outside attack).
  const out: FeatureStats = { n: 0, numeric: Object.create(null) as FeatureStats['numeric'], categories: Object.create(null) as FeatureStats['categories'] };
  for (const s of all) {
    out.n += s.n;
    for (const [f, v] of Object.entries(s.numeric)) {
      const o = (out.numeric[f] ??= { count: 0, sum: 0, sumSq: 0 });
      o.count += v.count;
      o.sum += v.sum;
      o.sumSq += v.sumSq;
    }
    for (const [f, cats] of Object.entries(s.categories)) {
      const o = (out.categories[f] ??= Object.create(null) as Record<string, number>);
      for (const [c, k] of Object.entries(cats)) o[c] = (o[c] ?? 0) + k;
    }
  }
  return out;
}

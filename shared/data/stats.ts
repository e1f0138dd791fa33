import type { Schema } from './schema.ts';
import type { SiteTable } from './table.ts';

/**
 * What a site contributes so the federation can agree on feature scaling and
 * category vocabularies: sums, never rows. The coordinator adds these up
 * (mergeFeatureStats) and derives one FeatureSpace for everyone.
 */
export interface FeatureStats {
  n: number;
  numeric: Record<string, { count: number; sum: number; sumSq: number }>;
  categories: Record<string, Record<string, number>>;
}

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
      let count = 0;
      let sum = 0;
      let sumSq = 0;
      for (const row of t.values) {
        const v = row[j];
        if (typeof v === 'number') {
          count++;
          sum += v;
          sumSq += v * v;
        }
      }
      numeric[f] = { count, sum, sumSq };
    }
  });
  return { n: t.values.length, numeric, categories };
}

export function mergeFeatureStats(all: FeatureStats[]): FeatureStats {
  const out: FeatureStats = { n: 0, numeric: {}, categories: {} };
  for (const s of all) {
    out.n += s.n;
    for (const [f, v] of Object.entries(s.numeric)) {
      const o = (out.numeric[f] ??= { count: 0, sum: 0, sumSq: 0 });
      o.count += v.count;
      o.sum += v.sum;
      o.sumSq += v.sumSq;
    }
    for (const [f, cats] of Object.entries(s.categories)) {
      const o = (out.categories[f] ??= {});
      for (const [c, k] of Object.entries(cats)) o[c] = (o[c] ?? 0) + k;
    }
  }
  return out;
}

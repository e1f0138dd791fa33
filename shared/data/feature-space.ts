import type { Schema } from './schema.ts';
import type { FeatureStats } from './stats.ts';
import { agreeVocabularies, DEFAULT_MIN_CATEGORY_COUNT, OTHER_CATEGORY } from './vocabulary.ts';

/** One column of the encoded input vector. */
export interface EncodedColumn {
  feature: string;
  /** Index of the feature in featureList(schema). */
  featureIndex: number;
  kind: 'numeric' | 'category';
  category?: string;
  /** The feature's "other" column: every value outside its published vocabulary (vocabulary.ts). */
  other?: boolean;
  mean: number;
  std: number;
}

/**
 * The federation-wide encoding: column layout, scaling and vocabularies, derived
 * from summed FeatureStats so every site encodes identically. It goes to every site,
 * so its vocabularies hold only declared or common values (agreeVocabularies).
 */
export interface FeatureSpace {
  modalities: { name: string; start: number; end: number }[];
  columns: EncodedColumn[];
}

export function buildFeatureSpace(schema: Schema, stats: FeatureStats, opts: { minCategoryCount?: number } = {}): FeatureSpace {
  const vocab = agreeVocabularies(schema, stats, opts.minCategoryCount ?? DEFAULT_MIN_CATEGORY_COUNT);
  const columns: EncodedColumn[] = [];
  const modalities: FeatureSpace['modalities'] = [];
  let featureIndex = 0;
  for (const m of schema.modalities) {
    const start = columns.length;
    for (const f of m.features) {
      const v = vocab.get(f);
      if (v) {
        for (const c of v.values) columns.push({ feature: f, featureIndex, kind: 'category', category: c, mean: 0, std: 1 });
        if (v.other) columns.push({ feature: f, featureIndex, kind: 'category', category: OTHER_CATEGORY, other: true, mean: 0, std: 1 });
      } else {
        const s = stats.numeric[f] ?? { count: 0, sum: 0, sumSq: 0 };
        const mean = s.count > 0 ? s.sum / s.count : 0;
        const variance = s.count > 1 ? (s.sumSq - s.count * mean * mean) / (s.count - 1) : 1;
        // A constant (or unseen) column would divide by zero; leave it unscaled.
        const std = variance > 1e-12 ? Math.sqrt(variance) : 1;
        columns.push({ feature: f, featureIndex, kind: 'numeric', mean, std });
      }
      featureIndex++;
    }
    modalities.push({ name: m.name, start, end: columns.length });
  }
  return { modalities, columns };
}

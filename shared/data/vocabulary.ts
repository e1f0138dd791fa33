/**
 * The agreed category vocabularies. A category value names something about the rows
 * that hold it (a free-text entry can name a person), and the feature space that carries
 * the vocabularies goes to every site, so a value is published only when no one can be
 * picked out by it: the schema declared it (public before any row was read), or the
 * federation holds at least `minCount` rows with it. Rarer values fold into one
 * "other" category, which is itself a column only when the folded rows reach
 * `minCount` together; below that they read as an unseen category (observed, no column).
 */
import type { Schema } from './schema.ts';
import type { FeatureStats } from './stats.ts';

/**
 * Default federation-wide count below which an undeclared value is folded: the same
 * threshold as the prior's smallest published (pattern, label) cell (DEFAULT_MIN_CELL_COUNT),
 * the usual small-cell rule of disclosure control. Every value of the heart-disease files
 * reaches it in any federation of two or more of them (the rarest, thal = 3 at Hungary +
 * VA, has 11 rows, about 8 after the default 30% holdout).
 */
export const DEFAULT_MIN_CATEGORY_COUNT = 5;

/**
 * Default most values an undeclared vocabulary publishes, the most frequent (the rest fold
 * into "other"). One site may claim any values it likes, each with the rows it claims: an
 * outside attack's 20,000 made-up values grew the model 600-fold and, with the debiased
 * model, made every honest site's class moments (dim^2 numbers) too large to send, which
 * failed the run. 30 covers the categorical columns a hospital file usually holds (a
 * department, an ICD chapter); a schema that declares its values is not capped.
 */
export const DEFAULT_MAX_CATEGORIES = 30;

/** The label of the folded column, for reports; the column itself is marked by `other: true`, never by this text. */
export const OTHER_CATEGORY = '(other)';

export interface Vocabulary {
  /** The published values, in column order. */
  values: string[];
  /** Whether the feature has an "other" column (undeclared values folded, together at least the minimum). */
  other: boolean;
  /** 'schema' when declared, else 'observed'. */
  source: 'schema' | 'observed';
}

/** Numeric tokens in numeric order, then the rest by locale (the order columns always had). */
function byValue(a: string, b: string): number {
  const na = Number(a);
  const nb = Number(b);
  return Number.isFinite(na) && Number.isFinite(nb) ? na - nb : a.localeCompare(b);
}

/**
 * Per categorical feature, its vocabulary. A declared list wins over anything observed
 * (sites refuse a value outside it at load, so nothing folds); otherwise values counted
 * at least `minCount` times over the summed stats are kept, the `maxValues` most frequent,
 * in value order.
 */
export function agreeVocabularies(schema: Schema, stats: FeatureStats, minCount: number, maxValues = DEFAULT_MAX_CATEGORIES): Map<string, Vocabulary> {
  if (!Number.isInteger(minCount) || minCount < 1) throw new RangeError(`agreeVocabularies: minCount must be an integer >= 1 (got ${minCount})`);
  if (!Number.isInteger(maxValues) || maxValues < 1) throw new RangeError(`agreeVocabularies: maxValues must be an integer >= 1 (got ${maxValues})`);
  const out = new Map<string, Vocabulary>();
  for (const f of schema.categorical) {
    const declared = schema.categories.get(f);
    if (declared) {
      out.set(f, { values: [...declared].sort(byValue), other: false, source: 'schema' });
      continue;
    }
    const counts = stats.categories[f] ?? {};
    let folded = stats.uncounted?.[f] ?? 0;
    // The most frequent common values (ties in value order), at most maxValues of them.
    const common = Object.entries(counts)
      .filter(([, k]) => k >= minCount)
      .sort(([va, a], [vb, b]) => b - a || byValue(va, vb));
    const kept = common.slice(0, maxValues).map(([v]) => v);
    const keep = new Set(kept);
    for (const [v, k] of Object.entries(counts)) if (!keep.has(v)) folded += k;
    out.set(f, { values: kept.sort(byValue), other: folded >= minCount, source: 'observed' });
  }
  return out;
}

/**
 * A copy of `stats` whose category counts name only `published` values (feature ->
 * vocabulary, as in the federation summary): the rest are summed under OTHER_CATEGORY,
 * a label for messages that must not name them. For anything that reports a site's
 * counts beyond the coordinator (per-site readiness in /api/status).
 */
export function foldToVocabulary(stats: FeatureStats, published: Readonly<Record<string, readonly string[]>>): FeatureStats {
  // Own keys only, into null-prototype maps: a site's names are data, never Object's members ("constructor" crashed the run).
  const categories: FeatureStats['categories'] = Object.create(null) as FeatureStats['categories'];
  for (const [f, counts] of Object.entries(stats.categories)) {
    const keep = new Set(Object.hasOwn(published, f) ? published[f] : []);
    const c: Record<string, number> = Object.create(null) as Record<string, number>;
    for (const [v, k] of Object.entries(counts)) {
      const key = keep.has(v) ? v : OTHER_CATEGORY;
      c[key] = (c[key] ?? 0) + k;
    }
    categories[f] = c;
  }
  return { ...stats, categories };
}

/**
 * A categorical column a site codes its own way: yes/no where the other sites wrote Y/N,
 * sex 1/2 beside M/F. Nothing refuses it (an undeclared vocabulary is whatever the sites
 * hold), and encodeTable then reads the site's values as unseen (observed, every column 0)
 * or "other", or, where the site holds enough of them, as categories of their own that
 * only this site has: either way the model cannot match the site's rows with anyone
 * else's. A declared `categories` list refuses such values at load, so this never fires
 * for a declared column.
 */
import type { FeatureSpace } from './feature-space.ts';
import type { Schema } from './schema.ts';
import type { SiteTable } from './site-table.ts';
import { computeFeatureStats, mergeFeatureStats } from './stats.ts';
import { agreeVocabularies } from './vocabulary.ts';
import { show } from './message-text.ts';

/**
 * More than this share of a site's observed values of a column outside the known values,
 * and the site is warned of. Half: a site that merely lacks a category, or holds a rare
 * one of its own, stays well under it; one coding the whole column another way is near 1.
 */
export const FOREIGN_CATEGORY_SHARE = 0.5;

/** At most this many of the site's values are named in a note (with their rows). */
const NAMED_VALUES = 8;

/** Per categorical feature, the values a feature space gives a column of their own ("other" is no value). */
export function spaceVocabularies(space: FeatureSpace): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const c of space.columns) {
    if (c.kind !== 'category' || c.other) continue;
    let values = out.get(c.feature);
    if (!values) out.set(c.feature, (values = []));
    values.push(c.category!);
  }
  return out;
}

/**
 * Per categorical feature, every value `others` (the other training sites' training rows)
 * hold, however rarely (a declared list as declared): what simulate compares each site
 * with at start. Not the vocabulary they would agree at privacy.minCategoryCount: VA's
 * thal = 3 is in 4 rows, under the default 5, and Cleveland's 3 (166 rows) is no other coding.
 */
export function othersVocabularies(schema: Schema, others: readonly SiteTable[], minNamed = 1): { values: Map<string, string[]>; named: Map<string, string[]> } {
  const stats = mergeFeatureStats(others.map((t) => computeFeatureStats(schema, t)));
  const at = (minCount: number) => new Map([...agreeVocabularies(schema, stats, minCount)].map(([f, v]) => [f, v.values]));
  return { values: at(1), named: minNamed > 1 ? at(minNamed) : at(1) };
}

export interface NamingOptions {
  /** Values in fewer rows than this are counted, not named: a column of record numbers put 38 of them, another site's among them, in a results file (an outside try). */
  minNamed?: number;
  /** The known values that may be named (the rest of `known` are counted); all of them when absent. */
  namedKnown?: ReadonlyMap<string, readonly string[]>;
}

/**
 * The warnings for categorical columns most of whose observed values at this site
 * (more than FOREIGN_CATEGORY_SHARE) are not among `known` (feature -> values), naming
 * the site's values and the known ones; empty when none is. A feature with no known
 * values (no one else observed it) is not compared. `who` names the site (and its file);
 * `against` says what the known values are (`the federation's vocabulary`).
 */
export function foreignCategoryNotes(who: string, t: Pick<SiteTable, 'features' | 'values'>, known: ReadonlyMap<string, readonly string[]>, against: string, naming: NamingOptions = {}): string[] {
  const minNamed = naming.minNamed ?? 1;
  const notes: string[] = [];
  t.features.forEach((f, j) => {
    const vocab = known.get(f);
    if (!vocab || vocab.length === 0) return;
    const counts = new Map<string, number>();
    let observed = 0;
    for (const row of t.values) {
      const v = row[j];
      if (v === null || v === undefined) continue;
      observed++;
      counts.set(String(v), (counts.get(String(v)) ?? 0) + 1);
    }
    const inVocab = new Set(vocab);
    const outside = [...counts].filter(([v]) => !inVocab.has(v)).sort((a, b) => b[1] - a[1]);
    const rows = outside.reduce((a, [, k]) => a + k, 0);
    if (observed === 0 || rows <= FOREIGN_CATEGORY_SHARE * observed) return;
    const knownText = knownValuesText(vocab, naming.namedKnown?.get(f) ?? vocab, minNamed);
    const siteText = siteValuesText(outside, minNamed);
    notes.push(
      `${who}: column "${f}": ${rows} of its ${observed} observed values are not in ${against} (${knownText}): ` +
        `${siteText}; the same categories coded another way (yes/no for Y/N, 1/2 for M/F), or codes each site has of its own (a device, a ward): ` +
        `the model cannot match these rows with the other sites' (it reads such a value as unseen or "other", or as a category only this site has); ` +
        `recode the export to the known values where they mean the same, and declare "categories" for "${f}" in the schema to refuse any other; ` +
        `a column of each site's own codes carries nothing from one site to another: leave it out of the schema`,
    );
  });
  return notes;
}

const valuesOf = (n: number) => `${n} value${n === 1 ? '' : 's'}`;

/** The known values as a note names them: those that may be named, and how many rarer ones there are. */
function knownValuesText(all: readonly string[], named: readonly string[], minNamed: number): string {
  const rarer = all.length - named.length;
  const unnamed = rarer > 0 ? `${named.length ? 'and ' : ''}${valuesOf(rarer)} of fewer than ${minNamed} rows, unnamed` : '';
  return [named.map(show).join(', '), unnamed].filter(Boolean).join(', ');
}

/** The site's values outside the known ones (most rows first), with their rows: at most NAMED_VALUES named, those under minNamed rows counted. */
function siteValuesText(outside: readonly [string, number][], minNamed: number): string {
  const nameable = outside.filter(([, k]) => k >= minNamed);
  const named = nameable.slice(0, NAMED_VALUES).map(([v, k]) => `${show(v)} (${k})`);
  const more = [
    nameable.length > NAMED_VALUES ? `${nameable.length - NAMED_VALUES} more` : '',
    outside.length > nameable.length ? `${valuesOf(outside.length - nameable.length)} of fewer than ${minNamed} rows each, unnamed` : '',
  ].filter(Boolean);
  return `${named.join(', ')}${more.length ? `${named.length ? ', and ' : ''}${more.join(' and ')}` : ''}`;
}

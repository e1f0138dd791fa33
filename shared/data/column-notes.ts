/**
 * Columns that carry nothing the model can use though nothing refuses them: an identifier
 * declared as a category, and a column the export wrote twice. Warnings, said by check-data
 * and by the site at start beside the constant-column one (site-notes.ts); the data are read
 * as they are.
 */
import type { SiteTable } from './site-table.ts';
import { CONSTANT_COLUMN_MIN_ROWS } from './site-notes.ts';

/**
 * A categorical column whose distinct values are at least this share of its observed rows
 * is an identifier or free text (a patient number, a name), not a category: each value is
 * in a row or two, below any vocabulary's minimum, so every value folds away. A real
 * category repeats (heart disease's most varied, thal, has 3 values in hundreds of rows).
 */
export const IDENTIFIER_DISTINCT_SHARE = 0.9;

/** The warnings for categorical columns that look like identifiers (IDENTIFIER_DISTINCT_SHARE), in at least CONSTANT_COLUMN_MIN_ROWS observed rows. */
export function identifierColumnNotes(who: string, t: SiteTable, categorical: ReadonlySet<string>): string[] {
  const notes: string[] = [];
  t.features.forEach((f, j) => {
    if (!categorical.has(f)) return;
    const values = t.values.map((row) => row[j]).filter((v) => v !== null && v !== undefined);
    const distinct = new Set(values).size;
    if (values.length < CONSTANT_COLUMN_MIN_ROWS || distinct < IDENTIFIER_DISTINCT_SHARE * values.length) return;
    notes.push(
      `${who}: categorical column "${f}" holds ${distinct} distinct values in its ${values.length} observed rows: an identifier or free text, not a category; ` +
        `each value is in too few rows to be published (privacy.minCategoryCount), so the column carries nothing: leave it out of the schema's modalities`,
    );
  });
  return notes;
}

/** The warnings for columns that repeat an earlier column in every row (missing where it is missing), in at least CONSTANT_COLUMN_MIN_ROWS observed rows. */
export function duplicateColumnNotes(who: string, t: SiteTable): string[] {
  const notes: string[] = [];
  const first = new Map<string, string>();
  t.features.forEach((f, j) => {
    const column = t.values.map((row) => row[j] ?? null);
    const values = new Set(column.filter((v) => v !== null));
    // One value throughout is the constant-column note's (two such columns repeat each other trivially).
    if (column.length - column.filter((v) => v === null).length < CONSTANT_COLUMN_MIN_ROWS || values.size < 2) return;
    const key = JSON.stringify(column);
    const earlier = first.get(key);
    if (earlier === undefined) first.set(key, f);
    else
      notes.push(
        `${who}: column "${f}" repeats column "${earlier}" in every row: the export wrote one measurement twice, most likely; ` +
          `it adds nothing, and the debiasing rule reads the two as one reading (decide.minCopyCorr): leave one out of the schema`,
      );
  });
  return notes;
}

import { stratifiedSplit } from '../shared/data/split.ts';
import { checkSiteRows, selectRows, type SiteTable } from '../shared/data/table.ts';

/** A site's rows split for training and held-out evaluation; `testRows` are row indices in the test file. */
export interface LocalData {
  train: SiteTable;
  test: SiteTable;
  testRows: number[];
}

/**
 * Splits a site's file (stratified, seeded), or uses a fixed holdout file whole. A file
 * the site trains on must have at least `minRows` rows (default MIN_ROWS; checkSiteRows);
 * rows of one class train too (the agent warns: singleClassNote); a test-only or
 * holdout file is scored as it is.
 */
export function prepareLocalData(
  table: SiteTable,
  opts: { testFraction: number; seed: number; holdout?: SiteTable; testOnly?: boolean; minRows?: number; label?: string },
): LocalData {
  // `label` (describeLabel of the schema) makes the message the one check-data prints.
  if (!opts.testOnly) checkSiteRows(table, { minRows: opts.minRows, ...(opts.label ? { label: opts.label } : {}) });
  if (opts.testOnly)
    return { train: selectRows(table, []), test: table, testRows: Array.from(table.labels, (_, i) => i) };
  if (opts.holdout)
    return { train: table, test: opts.holdout, testRows: Array.from(opts.holdout.labels, (_, i) => i) };
  const { train, test } = stratifiedSplit(table.labels, opts.testFraction, opts.seed);
  return { train: selectRows(table, train), test: selectRows(table, test), testRows: test };
}

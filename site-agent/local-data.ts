import { stratifiedSplit } from '../shared/data/split.ts';
import { selectRows, type SiteTable } from '../shared/data/table.ts';
import { checkTrainingRows, MIN_TRAINING_ROWS } from '../shared/data/training-rows.ts';

/** A site's rows split for training and held-out evaluation; `testRows` are row indices in the test file. */
export interface LocalData {
  train: SiteTable;
  test: SiteTable;
  testRows: number[];
  /**
   * The raw label values of the file the site trains on, with their row counts (the split
   * keeps none): a site of one class says whether the schema's coding made it so.
   */
  labelValues?: ReadonlyMap<number, number>;
}

export interface LocalDataOptions {
  testFraction: number;
  seed: number;
  holdout?: SiteTable;
  testOnly?: boolean;
  /** Fewest rows the site may train on (default MIN_TRAINING_ROWS). */
  minTrainingRows?: number;
  /** Where that minimum is set, for the refusal (default `site.yaml: minTrainingRows`). */
  minTrainingRowsSetting?: string;
}

/**
 * Splits a site's file (stratified, seeded), or uses a fixed holdout file whole. A file
 * the site trains on must leave at least `minTrainingRows` rows to train on
 * (checkTrainingRows); rows of one class train too (the agent warns: singleClassNote);
 * a test-only or holdout file is scored as it is.
 */
export function prepareLocalData(table: SiteTable, opts: LocalDataOptions): LocalData {
  if (opts.testOnly)
    return { train: selectRows(table, []), test: table, testRows: Array.from(table.labels, (_, i) => i) };
  const minTrainingRows = opts.minTrainingRows ?? MIN_TRAINING_ROWS;
  const split: LocalData = opts.holdout
    ? { train: table, test: opts.holdout, testRows: Array.from(opts.holdout.labels, (_, i) => i) }
    : (() => {
        const { train, test } = stratifiedSplit(table.labels, opts.testFraction, opts.seed);
        return { train: selectRows(table, train), test: selectRows(table, test), testRows: test };
      })();
  if (table.labelValues) split.labelValues = table.labelValues;
  checkTrainingRows({
    file: table.file,
    fileRows: table.labels.length,
    trainingRows: split.train.labels.length,
    ...(opts.holdout ? {} : { testFraction: opts.testFraction }),
    minTrainingRows,
    setting: opts.minTrainingRowsSetting ?? 'site.yaml: minTrainingRows',
  });
  return split;
}

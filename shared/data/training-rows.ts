/**
 * How many rows a site must train on before it joins. Everything a training site sends
 * (feature sums, (pattern, label) counts, class moments, model updates) is computed over
 * its training rows; over a handful of rows those figures come close to the rows
 * themselves, and in a two-site federation the other site can subtract its own share.
 */
import { InputError } from '../errors.ts';

/**
 * The default minimum: the smallest file the sites already had to hold (MIN_ROWS), now
 * counted after the held-out share is taken out, so it bounds what leaves the site.
 */
export const MIN_TRAINING_ROWS = 20;

/** Rows stratifiedSplit leaves for training: per class, n less round(n * testFraction). */
export function trainingRowCount(labels: ArrayLike<number>, testFraction: number): number {
  let n1 = 0;
  for (let i = 0; i < labels.length; i++) n1 += labels[i] === 1 ? 1 : 0;
  const n0 = labels.length - n1;
  return n0 - Math.round(n0 * testFraction) + n1 - Math.round(n1 * testFraction);
}

export interface TrainingRowsCheck {
  file: string;
  fileRows: number;
  trainingRows: number;
  /** The held-out share taken from the file; undefined when the site is tested on a holdout file instead. */
  testFraction?: number;
  minTrainingRows: number;
  /** Where the minimum is set, for the message: `site.yaml: minTrainingRows`, `--min-training-rows`. */
  setting: string;
}

/** Refuses a site with fewer training rows than its minimum, naming the file, its rows and the setting. */
export function checkTrainingRows(c: TrainingRowsCheck): void {
  if (c.trainingRows >= c.minTrainingRows) return;
  const rows = (n: number) => `${n} row${n === 1 ? '' : 's'}`;
  const held = c.testFraction === undefined ? '' : ` (${rows(c.fileRows)} in the file, a share of ${c.testFraction} held out for testing)`;
  throw new InputError(
    `${c.file}: ${rows(c.trainingRows)} to train on${held}, fewer than the minimum of ${c.minTrainingRows} (${c.setting}); ` +
      'a site with fewer would send sums and updates that say too much about each of its patients: add rows to join',
  );
}

/**
 * Trimmed mean (Yin et al. 2018; Flower's FedTrimmedAvg): per coordinate, drop the
 * floor(beta n) smallest and floor(beta n) largest of the n sites' values and average the
 * rest, unweighted. Robust to up to floor(beta n) outlying sites per coordinate.
 *
 * MEMORY: like FedMedian, this strategy BUFFERS every site's full update for the round
 * (sites x model size float32), since each coordinate needs all of its values.
 */
import { sortedTrimmedMean, trimCount } from './aggregate.ts';
import { BufferedAggregation } from './buffered-aggregation.ts';
import { FedAvg } from './fedavg.ts';
import type { Aggregation } from './strategy.ts';

/** Flower's FedTrimmedAvg default beta: the fraction cut from each end. */
export const DEFAULT_TRIM_FRACTION = 0.2;

export class TrimmedMean extends FedAvg {
  constructor(readonly trimFraction: number = DEFAULT_TRIM_FRACTION) {
    super('trimmed-mean');
    // The registry reports bad user input as InputError; this guards direct construction.
    if (!(trimFraction >= 0 && trimFraction < 0.5)) {
      throw new RangeError(`trimmed mean fraction must be in [0, 0.5), got ${trimFraction}`);
    }
  }

  override beginAggregation(_round: number, global: Float32Array): Aggregation {
    const beta = this.trimFraction;
    return new BufferedAggregation(global.length, (sorted, n) => sortedTrimmedMean(sorted, n, trimCount(beta, n)));
  }
}

/**
 * FedMedian (Yin et al. 2018): coordinate-wise median of the sites' models, unweighted
 * (numExamples is ignored, so one site cannot buy influence by claiming many examples).
 * With an even number of sites the median is the mean of the two middle values.
 *
 * MEMORY: a median needs every value of a coordinate, so this strategy BUFFERS every site's
 * full update for the round (sites x model size float32), unlike FedAvg's single running sum.
 */
import { sortedMedian } from './aggregate.ts';
import { BufferedAggregation } from './buffered-aggregation.ts';
import { FedAvg } from './fedavg.ts';
import type { Aggregation } from './strategy.ts';

export class FedMedian extends FedAvg {
  constructor() {
    super('fedmedian');
  }

  override beginAggregation(_round: number, global: Float32Array): Aggregation {
    return new BufferedAggregation(global.length, sortedMedian);
  }
}

/**
 * FedAvg (McMahan et al. 2017): the new global model is the example-weighted mean of the
 * sites' models, sum_i n_i w_i / sum_i n_i. Streams: one float64 running sum of model size,
 * whatever the number of sites. Base class of the other strategies, as in Flower.
 */
import { acceptByQuorum } from './acceptance.ts';
import { ChunkTracker, WeightedSum, weightedMetricMeans } from './aggregate.ts';
import type { Acceptance, AcceptancePolicy, Aggregation, RoundConfig, SiteFailure, SiteResult, Strategy } from './strategy.ts';

/** A FedAvg round in progress; `finishMean` keeps float64 for strategies that post-process it. */
export class WeightedMeanAggregation implements Aggregation {
  private readonly tracker: ChunkTracker;
  private readonly acc: WeightedSum;

  constructor(modelSize: number) {
    this.tracker = new ChunkTracker(modelSize);
    this.acc = new WeightedSum(modelSize);
  }

  add(site: string, numExamples: number, offset: number, values: Float32Array): void {
    this.tracker.check(site, numExamples, offset, values);
    this.acc.addChunk(numExamples, offset, values);
    this.tracker.commit(site, numExamples, offset, values.length);
  }

  /** The weighted mean, or null when there are no results (or none carries an example). */
  finishMean(results: SiteResult[]): Float64Array | null {
    const total = this.tracker.checkComplete(results);
    return this.acc.mean(total);
  }

  finish(results: SiteResult[], _failures: SiteFailure[]): Float32Array | null {
    const mean = this.finishMean(results);
    return mean && Float32Array.from(mean);
  }
}

export class FedAvg implements Strategy {
  constructor(readonly name: string = 'fedavg') {}

  acceptFit(_round: number, results: SiteResult[], failures: SiteFailure[], policy: AcceptancePolicy): Acceptance {
    return acceptByQuorum(results, failures, policy);
  }

  configureFit(_round: number, base: RoundConfig): RoundConfig {
    return { ...base };
  }

  beginAggregation(_round: number, global: Float32Array): Aggregation {
    return new WeightedMeanAggregation(global.length);
  }

  aggregateEvaluate(_round: number, results: SiteResult[]): Record<string, number> {
    return weightedMetricMeans(results);
  }
}

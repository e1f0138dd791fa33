/**
 * The aggregation of the robust strategies (FedMedian, trimmed mean): every coordinate
 * needs all of its values, so unlike FedAvg's running sum this BUFFERS each site's whole
 * update for the round (sites x model size float32).
 */
import { ChunkTracker, reduceCoordinates } from './aggregate.ts';
import type { Aggregation, SiteFailure, SiteResult } from './strategy.ts';

/**
 * A round that buffers each site's whole update, then reduces every coordinate with `stat`
 * (applied to that coordinate's values sorted ascending). Shared with trimmed mean.
 */
export class BufferedAggregation implements Aggregation {
  private readonly tracker: ChunkTracker;
  private readonly updates = new Map<string, Float32Array>();

  constructor(
    private readonly modelSize: number,
    private readonly stat: (sorted: Float64Array, n: number) => number,
  ) {
    this.tracker = new ChunkTracker(modelSize);
  }

  add(site: string, numExamples: number, offset: number, values: Float32Array): void {
    this.tracker.check(site, numExamples, offset, values);
    let buffer = this.updates.get(site);
    if (!buffer) this.updates.set(site, (buffer = new Float32Array(this.modelSize)));
    buffer.set(values, offset); // copy: the caller may reuse its chunk buffer
    this.tracker.commit(site, numExamples, offset, values.length);
  }

  finish(results: SiteResult[], _failures: SiteFailure[]): Float32Array | null {
    this.tracker.checkComplete(results);
    if (results.length === 0) return null;
    const updates = results.map((r) => this.updates.get(r.site)!);
    return Float32Array.from(reduceCoordinates(updates, this.modelSize, this.stat));
  }
}

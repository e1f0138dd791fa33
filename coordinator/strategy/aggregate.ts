/**
 * Arithmetic shared by the strategies: chunk bookkeeping, the weighted running sum,
 * per-coordinate robust statistics and the server-optimizer step. No strategy policy here.
 */
import { ProtocolError } from '../../shared/errors.ts';
import type { SiteResult } from './strategy.ts';

/**
 * Tracks how far each site's update has arrived, so a truncated, gapped, repeated or
 * oversized update is caught instead of silently counting. O(sites) memory.
 */
export class ChunkTracker {
  private readonly progress = new Map<string, { numExamples: number; next: number }>();

  constructor(readonly modelSize: number) {}

  /** Validates one chunk before anything from it is accumulated. Throws ProtocolError('malformed'). */
  check(site: string, numExamples: number, offset: number, values: Float32Array): void {
    const where = `site "${site}"`;
    if (!Number.isFinite(numExamples) || numExamples < 0) {
      throw new ProtocolError(`${where}: numExamples must be a finite number >= 0, got ${numExamples}`, 'malformed');
    }
    const end = offset + values.length;
    if (!Number.isInteger(offset) || offset < 0 || end > this.modelSize) {
      throw new ProtocolError(
        `${where}: chunk [${offset}, ${end}) exceeds the model's ${this.modelSize} parameters`,
        'malformed',
      );
    }
    const seen = this.progress.get(site);
    const expected = seen?.next ?? 0;
    if (offset !== expected) {
      throw new ProtocolError(
        `${where}: chunk starts at parameter ${offset}, expected ${expected} (chunks must be contiguous, in order, sent once)`,
        'malformed',
      );
    }
    if (seen && seen.numExamples !== numExamples) {
      throw new ProtocolError(
        `${where}: numExamples changed between chunks (${seen.numExamples} then ${numExamples})`,
        'malformed',
      );
    }
    for (let i = 0; i < values.length; i++) {
      // A NaN/Infinity would poison every later global model.
      if (!Number.isFinite(values[i]!)) {
        throw new ProtocolError(`${where}: non-finite value ${values[i]} at parameter ${offset + i}`, 'malformed');
      }
    }
  }

  /** Records a chunk that passed `check` and was accumulated. */
  commit(site: string, numExamples: number, offset: number, length: number): void {
    this.progress.set(site, { numExamples, next: offset + length });
  }

  /**
   * Throws unless the sites added are exactly the sites in `results`, each covering the
   * whole model with the numExamples it reports. Returns the sum of numExamples.
   */
  checkComplete(results: SiteResult[]): number {
    let total = 0;
    const named = new Set<string>();
    for (const r of results) {
      named.add(r.site);
      const seen = this.progress.get(r.site);
      const covered = seen?.next ?? 0;
      if (!seen || covered !== this.modelSize) {
        throw new ProtocolError(
          `site "${r.site}": update is truncated: chunks covered ${covered} of ${this.modelSize} parameters`,
          'malformed',
        );
      }
      if (seen.numExamples !== r.numExamples) {
        throw new Error(
          `site "${r.site}": result reports numExamples ${r.numExamples} but its update was added with ${seen.numExamples}`,
        );
      }
      total += r.numExamples;
    }
    for (const site of this.progress.keys()) {
      if (!named.has(site)) {
        throw new Error(`site "${site}": update was added to the aggregation but is not among the round's results`);
      }
    }
    return total;
  }
}

/** sum_i w_i x_i in float64 (float32 sums drift over many sites and large models). */
export class WeightedSum {
  readonly sum: Float64Array;
  constructor(size: number) {
    this.sum = new Float64Array(size);
  }
  addChunk(weight: number, offset: number, values: Float32Array): void {
    const s = this.sum;
    for (let i = 0; i < values.length; i++) s[offset + i]! += weight * values[i]!;
  }
  /** sum / totalWeight, or null when nothing carries weight. */
  mean(totalWeight: number): Float64Array | null {
    if (!(totalWeight > 0)) return null;
    const out = new Float64Array(this.sum.length);
    for (let i = 0; i < out.length; i++) out[i] = this.sum[i]! / totalWeight;
    return out;
  }
}

/** Median of the first n entries of an ascending array; mean of the two middle ones when n is even. */
export function sortedMedian(sorted: Float64Array, n: number): number {
  const mid = n >> 1;
  return n % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Mean of an ascending array after dropping `cut` values at each end. */
export function sortedTrimmedMean(sorted: Float64Array, n: number, cut: number): number {
  let s = 0;
  for (let i = cut; i < n - cut; i++) s += sorted[i]!;
  return s / (n - 2 * cut);
}

/** Values dropped per end by a trimmed mean of n values (scipy/Flower: int(beta * n)). */
export function trimCount(fraction: number, n: number): number {
  return Math.floor(fraction * n);
}

/** Applies `stat` to each coordinate's values across `updates` (sorted ascending); returns float64. */
export function reduceCoordinates(
  updates: Float32Array[],
  size: number,
  stat: (sorted: Float64Array, n: number) => number,
): Float64Array {
  const n = updates.length;
  const column = new Float64Array(n);
  const out = new Float64Array(size);
  for (let j = 0; j < size; j++) {
    for (let i = 0; i < n; i++) column[i] = updates[i]![j]!;
    column.sort(); // typed-array sort is numeric
    out[j] = stat(column, n);
  }
  return out;
}

/** How the server optimizer's second moment v evolves (Reddi et al. 2021, Algorithm 2). */
export type SecondMomentRule = 'adam' | 'yogi' | 'adagrad';

export interface ServerStep {
  /** Effective step size this round (FedAdam folds its bias correction in here). */
  eta: number;
  beta1: number;
  beta2: number;
  tau: number;
}

/**
 * One server-optimizer step, in place on the moments m and v:
 * delta = aggregate - global; m = beta1 m + (1 - beta1) delta; v per `rule`;
 * returns global + eta m / (sqrt(v) + tau).
 */
export function serverOptimizerStep(
  global: Float32Array,
  aggregate: Float64Array,
  m: Float64Array,
  v: Float64Array,
  rule: SecondMomentRule,
  p: ServerStep,
): Float32Array {
  const out = new Float32Array(global.length);
  for (let i = 0; i < global.length; i++) {
    const d = aggregate[i]! - global[i]!;
    const d2 = d * d;
    m[i] = p.beta1 * m[i]! + (1 - p.beta1) * d;
    if (rule === 'adam') v[i] = p.beta2 * v[i]! + (1 - p.beta2) * d2;
    else if (rule === 'yogi') v[i] = v[i]! - (1 - p.beta2) * d2 * Math.sign(v[i]! - d2);
    else v[i] = v[i]! + d2;
    out[i] = global[i]! + (p.eta * m[i]!) / (Math.sqrt(v[i]!) + p.tau);
  }
  return out;
}

/** Example-weighted mean of each metric, over the sites that report it as a finite number (sites with 0 examples add nothing). */
export function weightedMetricMeans(results: SiteResult[]): Record<string, number> {
  const sums = new Map<string, { sum: number; weight: number }>();
  for (const r of results) {
    for (const [key, value] of Object.entries(r.metrics)) {
      // A metric a site could not compute (AUROC on one class: null on the wire) is absent there, not 0.
      if (typeof value !== 'number' || !Number.isFinite(value)) continue;
      const acc = sums.get(key) ?? { sum: 0, weight: 0 };
      acc.sum += r.numExamples * value;
      acc.weight += r.numExamples;
      sums.set(key, acc);
    }
  }
  const out: Record<string, number> = {};
  for (const [key, { sum, weight }] of sums) if (weight > 0) out[key] = sum / weight;
  return out;
}

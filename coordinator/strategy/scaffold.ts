/**
 * SCAFFOLD (Karimireddy et al. 2020, option I): FedAvg's aggregation plus control variates
 * that correct client drift. Each site trains with c - c_i added to every gradient, where
 * c_i is its own loss gradient and c the sites' example-weighted mean of theirs, both at the
 * previous global model; its local steps then follow the federation's gradient rather than
 * its own, and the fixed point is pooled training's. What it corrects is label skew: on
 * FLamby's split, a site whose training rows hold one class moved FedAvg's accuracy by
 * +0.005 where its rows moved pooled training by +0.023 (docs/results.md, section 2).
 *
 * Trust: SCAFFOLD assumes honest sites. Every site adds c to every step, so a hostile site's
 * share of c, clipped as below, still steers all of them (SCAFFOLD_CAUTION, logged at start;
 * docs/security.md). FedAvg stays the default.
 *
 * Control variates travel in the task and result metas (JSON, CONTROL_BYTES_PER_PARAMETER at most),
 * so the model must fit `limits.resultMetaKiB`; each site's is an un-noised gradient of its
 * rows, so SCAFFOLD is refused with secure aggregation and with differential privacy.
 *
 * A hostile site's pull on c is bounded: its share of c, (n_i / N) ||c_i||, is clipped to
 * `controlNormMultiple` times the round's lower median of ||c_j|| (a minority cannot raise
 * the median), so k hostile sites move c by at most k such multiples of a typical site's
 * gradient. Not ||c_i|| alone: under label skew the honest skewed site's gradient is the
 * large one, and the one the correction needs; measured on FLamby's split (Switzerland's 30
 * train rows all positive, 20 rounds), its ||c_i|| grew to 11 times the lower median, and a
 * bound of 4 on that cut SCAFFOLD's accuracy from 0.802 to 0.792. Shares, in lower medians,
 * stayed at or below 0.96 for every site (heart disease's four sites, logistic regression on
 * FLamby's split and two of its tuning splits, the debiased model on the full files; 20
 * rounds each): the default 2 leaves twice that. Not n_i ||c_i|| either: that grows
 * with a site's size, so an honest large site would be clipped.
 */
import { clipBound } from '../update-clip.ts';
import { FedAvg, WeightedMeanAggregation } from './fedavg.ts';
import type { Aggregation, RoundConfig, SiteFailure, SiteResult } from './strategy.ts';

/** The default bound on a site's share of c, in lower medians of the round's ||c_j|| (see above: at most 0.96 measured). */
export const DEFAULT_CONTROL_NORM_MULTIPLE = 2;

/** Logged when a federation starts with SCAFFOLD: what the clipping does not prevent (docs/security.md). */
export const SCAFFOLD_CAUTION =
  "strategy scaffold trusts every site's control variate: each site adds the federation's c to every training step, so one hostile " +
  'site can steer every site\'s training within its clipped share of c (measured, heart disease: the 3 other sites\' AUROC from 0.88 to 0.42-0.50 with the bound at 3, 0.68-0.82 at 1). ' +
  'Use it only among sites you trust not to be hostile (docs/security.md)';

/** JSON bytes a control variate takes per parameter, at most (a float64's shortest form is up to 24 characters, "-0.0000020134725673415232", plus the comma). */
export const CONTROL_BYTES_PER_PARAMETER = 26;
/** Room for the rest of a fit result's meta (metrics, evaluation, pattern counts, health sums) beside the control variate. */
export const OTHER_FIT_META_BYTES = 64 * 1024;

export class Scaffold extends FedAvg {
  /** The federation's control variate c; none before the first aggregated round. */
  private control: Float32Array | undefined;
  private warnings: { message: string; fields: Record<string, unknown> }[] = [];
  readonly caution = SCAFFOLD_CAUTION;

  constructor(readonly controlNormMultiple: number = DEFAULT_CONTROL_NORM_MULTIPLE) {
    super('scaffold');
  }

  override configureFit(_round: number, base: RoundConfig): RoundConfig {
    return { ...base, controlVariates: true };
  }

  /** The task's control variate c, from the second round on. */
  fitTask(_round: number): { controlVariate?: number[] } {
    return this.control ? { controlVariate: Array.from(this.control) } : {};
  }

  /** Room a result's meta needs for its control variate (the round loop checks it against limits.resultMetaBytes). */
  resultMetaBytes(modelSize: number): number {
    return CONTROL_BYTES_PER_PARAMETER * modelSize + OTHER_FIT_META_BYTES;
  }

  takeWarnings(): { message: string; fields: Record<string, unknown> }[] {
    const w = this.warnings;
    this.warnings = [];
    return w;
  }

  override beginAggregation(round: number, global: Float32Array): Aggregation {
    const weights = new WeightedMeanAggregation(global.length);
    return {
      add: (site, numExamples, offset, values) => weights.add(site, numExamples, offset, values),
      finish: (results: SiteResult[], failures: SiteFailure[]) => {
        const next = weights.finish(results, failures);
        if (next) {
          const clipped: ClippedControl[] = [];
          this.control = meanControl(results, global.length, this.controlNormMultiple, clipped) ?? this.control;
          for (const c of clipped) this.warnings.push({ message: 'control variate clipped', fields: { round, ...c } });
        }
        return next;
      },
    };
  }

  saveState(): Uint8Array | undefined {
    return this.control && new Uint8Array(this.control.buffer.slice(this.control.byteOffset, this.control.byteOffset + this.control.byteLength));
  }

  restoreState(state: Uint8Array): void {
    if (state.byteLength % 4 !== 0) throw new Error(`scaffold: saved control variate has ${state.byteLength} bytes, not float32 values`);
    const c = new Float32Array(state.byteLength / 4);
    new Uint8Array(c.buffer).set(state);
    this.control = c;
  }
}

export interface ClippedControl {
  site: string;
  /** The site's share (n_i / N) ||c_i|| and the bound it was scaled to. */
  share: number;
  bound: number;
}

/**
 * The example-weighted mean of the results' control variates, each site's share
 * (n_i / N) ||c_i|| first clipped to `multiple` times the lower median of the ||c_j||;
 * undefined when none carries one.
 */
export function meanControl(results: readonly SiteResult[], size: number, multiple = DEFAULT_CONTROL_NORM_MULTIPLE, clipped: ClippedControl[] = []): Float32Array | undefined {
  const carried = results.filter((r) => r.controlVariate !== undefined && r.controlVariate.length === size && r.numExamples > 0);
  if (carried.length === 0) return undefined;
  const total = carried.reduce((a, r) => a + r.numExamples, 0);
  const norms = carried.map((r) => Math.sqrt(r.controlVariate!.reduce((a, x) => a + x * x, 0)));
  // The same lower-median bound as update clipping, on the norms of the c_i.
  const bound = clipBound(norms, { updateNormMultiple: multiple });
  const sum = new Float64Array(size);
  carried.forEach((r, k) => {
    const share = (r.numExamples / total) * norms[k]!;
    // A norm that overflows (entries past 1e154) is infinitely over the bound: that site's c counts for nothing.
    const scale = share > bound ? (Number.isFinite(share) ? bound / share : 0) : 1;
    if (share > bound) clipped.push({ site: r.site, share, bound });
    for (let i = 0; i < size; i++) sum[i]! += r.numExamples * scale * r.controlVariate![i]!;
  });
  return Float32Array.from(sum, (x) => x / total);
}

/**
 * FedOpt (Reddi et al. 2021, "Adaptive Federated Optimization"), shared by FedAdam, FedYogi
 * and FedAdagrad as in Flower: the FedAvg mean minus the current global is a pseudo-gradient
 * that a server-side adaptive optimizer applies. The moments m and v live in this instance
 * and persist across rounds; both start at zero (as in Flower). A round with no results
 * keeps the previous global and leaves m and v untouched.
 */
import { serverOptimizerStep, type SecondMomentRule } from './aggregate.ts';
import { FedAvg, WeightedMeanAggregation } from './fedavg.ts';
import type { Aggregation, SiteFailure, SiteResult } from './strategy.ts';

export interface ServerOptimizerConfig {
  /** Server learning rate eta. */
  eta: number;
  /** First-moment decay (FedAdagrad: 0, so m is the pseudo-gradient itself). */
  beta1: number;
  /** Second-moment decay (unused by FedAdagrad). */
  beta2: number;
  /** Adaptivity tau: larger values make the step less adaptive. */
  tau: number;
}

export abstract class FedOpt extends FedAvg {
  private m: Float64Array | null = null;
  private v: Float64Array | null = null;

  protected constructor(
    name: string,
    private readonly rule: SecondMomentRule,
    readonly config: Readonly<ServerOptimizerConfig>,
  ) {
    super(name);
  }

  /** The step size used in round `round`; FedAdam overrides it with its bias correction. */
  protected stepSize(_round: number): number {
    return this.config.eta;
  }

  override beginAggregation(round: number, global: Float32Array): Aggregation {
    const mean = new WeightedMeanAggregation(global.length);
    return {
      add: (site, numExamples, offset, values) => mean.add(site, numExamples, offset, values),
      finish: (results: SiteResult[], _failures: SiteFailure[]) => {
        const aggregate = mean.finishMean(results);
        return aggregate && this.step(round, global, aggregate);
      },
    };
  }

  /** m then v, as float64: a resumed run continues with exactly the moments it stopped with. */
  saveState(): Uint8Array | undefined {
    if (!this.m || !this.v) return undefined;
    const both = new Float64Array(this.m.length * 2);
    both.set(this.m);
    both.set(this.v, this.m.length);
    return new Uint8Array(both.buffer);
  }

  restoreState(state: Uint8Array): void {
    if (state.byteLength % 16 !== 0) throw new Error(`${this.name}: saved optimizer state has ${state.byteLength} bytes, not two float64 vectors`);
    const both = new Float64Array(state.byteLength / 8);
    new Uint8Array(both.buffer).set(state);
    this.m = both.slice(0, both.length / 2);
    this.v = both.slice(both.length / 2);
  }

  private step(round: number, global: Float32Array, aggregate: Float64Array): Float32Array {
    if (!this.m || !this.v) {
      this.m = new Float64Array(global.length);
      this.v = new Float64Array(global.length);
    } else if (this.m.length !== global.length) {
      throw new Error(
        `${this.name}: model size changed from ${this.m.length} to ${global.length} parameters; ` +
          'the server optimizer state no longer fits (use a fresh strategy for a new model)',
      );
    }
    return serverOptimizerStep(global, aggregate, this.m, this.v, this.rule, {
      ...this.config,
      eta: this.stepSize(round),
    });
  }
}

/** Drops keys whose value is undefined, so they do not override defaults in a spread. */
export function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

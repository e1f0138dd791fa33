/**
 * FedAdam: FedOpt with Adam's second moment, v = beta2 v + (1 - beta2) delta^2.
 *
 * Flower (since PR flwrlabs/flower#4362, flwr 1.13) scales eta by Adam's bias correction,
 * eta_t = eta sqrt(1 - beta2^(t+1)) / (1 - beta1^(t+1)) with t the server round, to speed
 * up early rounds; we match it by default. `biasCorrection: false` gives the paper's plain
 * update (Reddi et al. 2021 Algorithm 2 has no correction).
 */
import { definedOnly, FedOpt, type ServerOptimizerConfig } from './fed-opt.ts';

/** Flower's FedAdam defaults (flwr.server.strategy.FedAdam). */
export const FEDADAM_DEFAULTS: Readonly<ServerOptimizerConfig> = Object.freeze({
  eta: 1e-1,
  beta1: 0.9,
  beta2: 0.99,
  tau: 1e-9,
});

export interface FedAdamOptions extends Partial<ServerOptimizerConfig> {
  /** Scale eta by Adam's bias correction as Flower does (default true). */
  biasCorrection?: boolean;
}

export class FedAdam extends FedOpt {
  readonly biasCorrection: boolean;

  constructor({ biasCorrection = true, ...config }: FedAdamOptions = {}) {
    super('fedadam', 'adam', { ...FEDADAM_DEFAULTS, ...definedOnly(config) });
    this.biasCorrection = biasCorrection;
  }

  protected override stepSize(round: number): number {
    const { eta, beta1, beta2 } = this.config;
    if (!this.biasCorrection) return eta;
    // Flower's exponent is server_round + 1 (rounds count from 1); kept for identical results.
    return (eta * Math.sqrt(1 - beta2 ** (round + 1))) / (1 - beta1 ** (round + 1));
  }
}


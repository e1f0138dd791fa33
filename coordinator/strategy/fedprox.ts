/**
 * FedProx (Li et al. 2020): aggregation is FedAvg's; the difference is on the sites, which
 * add (mu/2)||w - w_global||^2 to their loss. The server only sends mu with each round.
 */
import { FedAvg } from './fedavg.ts';
import type { RoundConfig } from './strategy.ts';

/** Default proximal coefficient mu sent to the sites. */
export const DEFAULT_PROXIMAL_MU = 0.01;

export class FedProx extends FedAvg {
  constructor(readonly proximalMu: number = DEFAULT_PROXIMAL_MU) {
    super('fedprox');
  }

  override configureFit(_round: number, base: RoundConfig): RoundConfig {
    return { ...base, proximalMu: this.proximalMu };
  }
}

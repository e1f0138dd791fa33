/**
 * FedAdagrad: FedOpt with Adagrad's second moment, v = v + delta^2 (never decays). As in
 * Flower, beta1 and beta2 are fixed at 0, so m is the round's pseudo-gradient itself.
 */
import { definedOnly, FedOpt, type ServerOptimizerConfig } from './fed-opt.ts';

/** Flower's FedAdagrad defaults (flwr.server.strategy.FedAdagrad). */
export const FEDADAGRAD_DEFAULTS: Readonly<ServerOptimizerConfig> = Object.freeze({
  eta: 1e-1,
  beta1: 0,
  beta2: 0,
  tau: 1e-9,
});

export class FedAdagrad extends FedOpt {
  constructor({ eta, tau }: Partial<Pick<ServerOptimizerConfig, 'eta' | 'tau'>> = {}) {
    super('fedadagrad', 'adagrad', { ...FEDADAGRAD_DEFAULTS, ...definedOnly({ eta, tau }) });
  }
}

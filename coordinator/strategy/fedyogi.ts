/**
 * FedYogi: FedOpt with Yogi's second moment, v = v - (1 - beta2) delta^2 sign(v - delta^2),
 * which grows or shrinks v additively so a sudden large pseudo-gradient cannot collapse the
 * effective step as fast as Adam's multiplicative decay. No bias correction (as Flower).
 */
import { definedOnly, FedOpt, type ServerOptimizerConfig } from './fed-opt.ts';

/** Flower's FedYogi defaults (flwr.server.strategy.FedYogi). */
export const FEDYOGI_DEFAULTS: Readonly<ServerOptimizerConfig> = Object.freeze({
  eta: 1e-2,
  beta1: 0.9,
  beta2: 0.99,
  tau: 1e-3,
});

export class FedYogi extends FedOpt {
  constructor(config: Partial<ServerOptimizerConfig> = {}) {
    super('fedyogi', 'yogi', { ...FEDYOGI_DEFAULTS, ...definedOnly(config) });
  }
}

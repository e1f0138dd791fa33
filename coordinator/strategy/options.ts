import type { z } from 'zod';
import { num, strict } from '../../shared/config/fields.ts';

/**
 * The options every strategy accepts, each with its allowed range (validated by the
 * registry). The upper ends sit far past any published setting (FedProx's mu 0.001-1,
 * FedOpt's server learning rates 1e-3 to 1e1 and tau 1e-5 to 1e-1): beyond them a value
 * only overflows the model, which the round loop would then refuse round after round.
 */
export const STRATEGY_OPTION_FIELDS = {
  /** FedProx proximal coefficient mu (sent to the sites). */
  proximalMu: num({ min: 0, max: 100 }).optional(),
  /** Server learning rate for FedAdam/FedYogi/FedAdagrad. */
  serverLearningRate: num({ min: 0, minOpen: true, max: 10 }).optional(),
  beta1: num({ min: 0, max: 1, maxOpen: true }).optional(),
  beta2: num({ min: 0, max: 1, maxOpen: true }).optional(),
  /** Adaptivity tau (epsilon) for the server optimizers. */
  tau: num({ min: 0, minOpen: true, max: 10 }).optional(),
  /** SCAFFOLD: a site's share of c, (n_i / N) ||c_i||, is clipped to this many times the round's lower median ||c_j|| (scaffold.ts). */
  controlNormMultiple: num({ min: 0, minOpen: true, max: 1000 }).optional(),
  /** Fraction trimmed from each end, for trimmed mean (0 <= beta < 0.5). */
  trimFraction: num({ min: 0, max: 0.5, maxOpen: true }).optional(),
};

export const strategyOptionsSchema = strict(STRATEGY_OPTION_FIELDS);

/** Options shared by every strategy. */
export type StrategyOptions = z.output<typeof strategyOptionsSchema>;

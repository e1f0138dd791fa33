/**
 * A run's privacy budget (coordinator.yaml `privacy.dp.maxEpsilon`, `simulate --dp-max-epsilon`),
 * checked before the run starts. ε grows with every fit round, and every round is charged the
 * same, so what a run would spend follows from its settings and its planned rounds. A run
 * planned past its budget is refused, with what would fit; one planned past LARGE_EPSILON with
 * no budget set is warned of.
 *
 * No check at run time: the start check is enough. Fit rounds are numbered 1..rounds and each
 * is charged once (dpSpent over the history, which a resume restores), and clipNorm,
 * noiseMultiplier and delta cannot change across a resume (they are in the state file's
 * fingerprint), so a run never spends more than its rounds 1..rounds, which each start checks
 * in full: a restart with more rounds, or a lower budget, is checked again against every round.
 * (A restart with fewer rounds than were committed runs none.) A round run again after a restart
 * mid-round releases nothing new: its noise is fixed by the site's key and the task (dpSpent).
 * A coordinator that deviates (asks one round again with other contents, or more rounds) meets the
 * site's own account instead (site-agent/privacy-ledger.ts, site.yaml privacy.maxEpsilon).
 */
import { ZcdpAccountant, zcdpToEpsilon } from './accountant.ts';
import { chargeFitRound, type DpSettings } from './dp.ts';

/**
 * Above this ε a run is warned of: ε bounds by e^ε how much more likely any outcome becomes
 * with one patient in or out, and e^10 ≈ 22,000 is little formal protection.
 */
export const LARGE_EPSILON = 10;
/** The noise multipliers searched for one that fits: privacy.dp.noiseMultiplier's range. */
export const NOISE_RANGE = [0.01, 1e6] as const;

export type DpPlan = Pick<DpSettings, 'clipNorm' | 'noiseMultiplier' | 'delta'>;

/** What the messages call the settings: coordinator.yaml's fields or simulate's flags. */
export interface BudgetNames {
  budget: string;
  rounds: string;
  noise: string;
}

/** ρ of one fit round, charged to the accountant as dpSpent charges it (the same for every round). */
export function roundRho(s: DpPlan): number {
  const accountant = new ZcdpAccountant(s.delta);
  chargeFitRound(accountant, s, 1);
  return accountant.spent().rho;
}

/** ε at δ after fit rounds 1..rounds: dpSpent's figure, without its per-round ones (ρ adds up, so R rounds are R times one). */
export function plannedEpsilon(s: DpPlan, rounds: number): number {
  return zcdpToEpsilon(rounds * roundRho(s), s.delta);
}

/** The most rounds, up to `upTo`, that stay within `budget` at s's noise multiplier (0: not one). */
export function roundsWithin(s: DpPlan, budget: number, upTo: number): number {
  if (plannedEpsilon(s, upTo) <= budget) return upTo;
  // ε rises with the rounds: lo fits (0 rounds spend nothing), hi does not.
  let [lo, hi] = [0, upTo];
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (plannedEpsilon(s, mid) <= budget) lo = mid;
    else hi = mid;
  }
  return lo;
}

/** One unit in the third significant figure of z: the step the noise multiplier is given to. */
export function noiseStep(z: number): number {
  return 10 ** (Math.floor(Math.log10(z)) - 2);
}

/** The least noise multiplier, to 3 significant figures, at which `rounds` rounds stay within `budget`; undefined past NOISE_RANGE. */
export function noiseWithin(s: DpPlan, rounds: number, budget: number): number | undefined {
  const fits = (z: number) => plannedEpsilon({ ...s, noiseMultiplier: z }, rounds) <= budget;
  let [lo, hi]: [number, number] = [...NOISE_RANGE];
  if (!fits(hi)) return undefined;
  if (fits(lo)) return lo;
  // ε falls as the noise rises: bisect (in log scale) between one that does not fit and one that does.
  for (let i = 0; i < 60; i++) {
    const mid = Math.sqrt(lo * hi);
    if (fits(mid)) hi = mid;
    else lo = mid;
  }
  // From lo (which does not fit) to 3 figures, up a step at a time: the first that fits is the least.
  let z = Number(lo.toPrecision(3));
  while (!fits(z)) z = Number((z + noiseStep(z)).toPrecision(3));
  return z;
}

/** Why a run planned past its budget may not start, with what would fit; undefined without a budget or within it. */
export function overBudget(s: DpSettings, rounds: number, names: BudgetNames): string | undefined {
  if (s.maxEpsilon === undefined) return undefined;
  const planned = plannedEpsilon(s, rounds);
  if (planned <= s.maxEpsilon) return undefined;
  return `is ${s.maxEpsilon}, but ${spending(s, rounds, planned, names)}; within ${s.maxEpsilon}: ${fitting(s, rounds, s.maxEpsilon, names)}`;
}

/** The start warning of a run planned past LARGE_EPSILON with no budget set; undefined otherwise. */
export function largeEpsilonWarning(s: DpSettings, rounds: number, names: BudgetNames): { message: string; remedy: string } | undefined {
  // A budget set was checked at start (overBudget): the operator chose it.
  if (s.maxEpsilon !== undefined) return undefined;
  const planned = plannedEpsilon(s, rounds);
  if (planned <= LARGE_EPSILON) return undefined;
  return {
    message: `differential privacy: ${spending(s, rounds, planned, names)}, above ${LARGE_EPSILON}: little formal protection of a patient`,
    remedy: `${names.budget} sets the most ε a run may spend (a run planned past it does not start); within ${LARGE_EPSILON}: ${fitting(s, rounds, LARGE_EPSILON, names)}`,
  };
}

function spending(s: DpSettings, rounds: number, planned: number, names: BudgetNames): string {
  return `this run would spend ε = ${Number(planned.toPrecision(4))} at δ = ${s.delta.toExponential()} over its ${rounds} fit round${rounds === 1 ? '' : 's'} at ${names.noise} ${s.noiseMultiplier}`;
}

/** What would fit `budget`, called only when the planned rounds do not: fewer rounds, or more noise. */
function fitting(s: DpSettings, rounds: number, budget: number, names: BudgetNames): string {
  const most = roundsWithin(s, budget, rounds);
  const z = noiseWithin(s, rounds, budget);
  const byRounds = most === 0 ? `not one round at ${names.noise} ${s.noiseMultiplier}` : `${names.rounds} ${most} or fewer at ${names.noise} ${s.noiseMultiplier}`;
  const byNoise = z === undefined ? `no ${names.noise} up to ${NOISE_RANGE[1]} fits ${rounds} rounds` : `${names.noise} ${z} or more for ${rounds} round${rounds === 1 ? '' : 's'}`;
  return `${byRounds}, or ${byNoise}`;
}

/**
 * Differential privacy of the training rounds (coordinator.yaml `privacy.dp`). Each
 * training site clips its update (local weights minus the round's global weights) to L2
 * norm `clipNorm` and adds N(0, (noiseMultiplier * clipNorm)^2) to every weight, and adds
 * N(0, (noiseMultiplier * COUNT_SENSITIVITY)^2) to each (pattern, label) count it sends
 * with the update. The coordinator charges each fit round to a zCDP accountant (dpSpent).
 *
 * Neighbouring data sets differ in one patient replaced by another at one site. A clipped
 * update then moves by at most 2 * clipNorm (both lie in the ball of radius clipNorm);
 * the counts move by 1 in two cells, an L2 change of sqrt(2). A patient is at one site,
 * so the sites' releases of a round compose in parallel: one site's release per round.
 * Not covered: the statistics rounds (feature sums and counts, which set the scaling and
 * vocabularies; see vocabulary.ts and training-rows.ts) and the metrics sites report.
 */
import type { PatternLabelCounts } from '../data/patterns.ts';
import { ZcdpAccountant, type PrivacySpent } from './accountant.ts';
import { clipL2, gaussianNoise, type ByteSource } from './gaussian.ts';

export interface DpSettings {
  clipNorm: number;
  noiseMultiplier: number;
  delta: number;
  /** The most ε (at delta) the run may spend: a run planned past it is refused at start (budget.ts). */
  maxEpsilon?: number;
}

/** How far one patient can move a clipped update, in units of clipNorm. */
export const UPDATE_SENSITIVITY_FACTOR = 2;
/** How far one patient can move the (pattern, label) counts (L2). */
export const COUNT_SENSITIVITY = Math.SQRT2;

/** The task config keys that tell a site to privatise its fit result. */
const CLIP = 'dpClipNorm';
const MULT = 'dpNoiseMultiplier';

/** What every fit task carries when DP is on (merged into the round's config scalars). */
export function dpTaskConfig(s: DpSettings): Record<string, number> {
  return { [CLIP]: s.clipNorm, [MULT]: s.noiseMultiplier };
}

/** The site's reading of a fit task's config: the settings, or undefined when DP is off. */
export function dpFromTaskConfig(config: Readonly<Record<string, unknown>>): { clipNorm: number; noiseMultiplier: number } | undefined {
  const clipNorm = config[CLIP];
  const noiseMultiplier = config[MULT];
  if (clipNorm === undefined && noiseMultiplier === undefined) return undefined;
  if (typeof clipNorm !== 'number' || !(clipNorm > 0) || !Number.isFinite(clipNorm) || typeof noiseMultiplier !== 'number' || !(noiseMultiplier > 0) || !Number.isFinite(noiseMultiplier))
    throw new Error(`fit task: ${CLIP} and ${MULT} must be finite numbers > 0 (got ${String(clipNorm)}, ${String(noiseMultiplier)})`);
  return { clipNorm, noiseMultiplier };
}

/** global + the clipped, noised (local - global): what a site sends instead of `local`. */
export function privatizeUpdate(global: Float32Array, local: Float32Array, dp: { clipNorm: number; noiseMultiplier: number }, source?: ByteSource): { weights: Float32Array; norm: number; clipped: boolean } {
  if (global.length !== local.length) throw new Error(`privatizeUpdate: ${local.length} local weights, ${global.length} global`);
  const delta = Float64Array.from(local, (w, i) => w - global[i]!);
  const { clipped, norm, scaled } = clipL2(delta, dp.clipNorm);
  const noise = gaussianNoise(local.length, dp.noiseMultiplier * dp.clipNorm, source);
  return { weights: Float32Array.from(clipped, (d, i) => global[i]! + d + noise[i]!), norm, clipped: scaled };
}

/**
 * (pattern, label) counts over exactly `patterns` (the published prior's), each with
 * Gaussian noise, rounded and kept >= 0, and at most the site's `rows` in total (the
 * coordinator refuses counts that add up to more rows than the site has: result-bounds.ts).
 * All of that is post-processing of the noised counts with the row count the site sends
 * anyway, so it costs no privacy. A pattern of the site's own outside that list is left
 * out: its mere presence as a key would say it is there.
 */
export function noisyPatternCounts(counts: Readonly<PatternLabelCounts>, listed: readonly string[], noiseMultiplier: number, rows: number, source?: ByteSource): PatternLabelCounts {
  // Each pattern once: a prior listing one 14 times drew 14 noises for one count, and the cut back
  // to the site's rows showed their mean (a hostile re-try), a release charged as one.
  const patterns = [...new Set(listed)];
  const noise = gaussianNoise(2 * patterns.length, noiseMultiplier * COUNT_SENSITIVITY, source);
  const cells = patterns.flatMap((p, i) => {
    const [n0, n1] = counts[p] ?? [0, 0];
    return [Math.max(0, Math.round(n0 + noise[2 * i]!)), Math.max(0, Math.round(n1 + noise[2 * i + 1]!))];
  });
  // Noise that adds rows is taken back from the largest cells, one at a time.
  for (let excess = cells.reduce((a, b) => a + b, 0) - rows; excess > 0; excess--) {
    const largest = cells.indexOf(Math.max(...cells));
    cells[largest] = cells[largest]! - 1;
  }
  const out: PatternLabelCounts = {};
  patterns.forEach((p, i) => (out[p] = [cells[2 * i]!, cells[2 * i + 1]!]));
  return out;
}

/** What a run reports of its privacy (results.json and /api/status `privacy`): the spent, the settings, the budget where set. */
export type DpReport = PrivacySpent & { clipNorm: number; noiseMultiplier: number; maxEpsilon?: number };

/**
 * The privacy spent by the fit rounds `rounds` (each charged for its update and the counts
 * released with it). Computed from the run's history, so a resumed run counts the rounds
 * before its restart too. A round stopped before its commit and run again is charged once:
 * each site noises a round's release with noise fixed by its own key and the whole task
 * (site-tasks.ts), so a site answering the same task again sends the same release (a site
 * process restarted in between retrains to the same weights, deterministic per round); a
 * round asked again with other contents is refused by the site (site-agent/privacy-ledger.ts).
 */
export function dpSpent(s: DpSettings, rounds: readonly number[]): DpReport {
  const accountant = new ZcdpAccountant(s.delta);
  const { clipNorm, noiseMultiplier } = s;
  for (const round of rounds) chargeFitRound(accountant, s, round);
  return { ...accountant.spent(), clipNorm, noiseMultiplier, ...(s.maxEpsilon !== undefined ? { maxEpsilon: s.maxEpsilon } : {}) };
}

/** What one fit round releases, charged to `accountant`: the update and the counts sent with it. */
export function chargeFitRound(accountant: ZcdpAccountant, s: Pick<DpSettings, 'clipNorm' | 'noiseMultiplier'>, round: number): void {
  accountant.charge(round, 'update', UPDATE_SENSITIVITY_FACTOR * s.clipNorm, s.noiseMultiplier * s.clipNorm);
  accountant.charge(round, 'counts', COUNT_SENSITIVITY, s.noiseMultiplier * COUNT_SENSITIVITY);
}

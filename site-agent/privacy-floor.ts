/**
 * The hospital's own floor under the federation's protections (site.yaml `privacy`): the
 * coordinator sets them, so a site that insists on them checks every task against its floor
 * before it computes anything from its rows (agent.ts refuses one below it and exits 2).
 */
import type { TaskMeta } from '../shared/protocol/messages.ts';
import { taskPrivacy, type TaskPrivacy } from '../shared/privacy/task-privacy.ts';

/** site.yaml `privacy` as validated (config.ts); an absent threshold accepts the coordinator's. */
export interface PrivacyFloor {
  requireSecureAggregation: boolean;
  requireDifferentialPrivacy: boolean;
  /** The least noise multiplier a fit task may ask for (DP required with it): DP on at 0.01 spent ε 7.7e4 in 3 rounds (a DPO re-review). */
  minNoiseMultiplier?: number | undefined;
  /** The most ε (at δ 1e-5) this site's releases may spend in a run, by its own account (privacy-ledger.ts); DP required with it. */
  maxEpsilon?: number | undefined;
  minCellCount?: number | undefined;
  minCategoryCount?: number | undefined;
}

/** "the statistics task of round 0", as a refusal names the task refused. */
function taskName(task: Pick<TaskMeta, 'kind' | 'round' | 'config'>): string {
  const kind = { stats: 'statistics', fit: 'fit', evaluate: task.config.final === true ? 'final evaluation' : 'evaluation', secagg: 'secure-aggregation', end: 'end' }[task.kind];
  return `the ${kind} task of round ${task.round}`;
}

/**
 * Why this site refuses `task`, in words the coordinator's round failure carries, or undefined
 * when the task meets the floor. Every task but the end carries something of the rows (a
 * statistics stage its sums, a fit its update, an evaluation its metrics, a secure-sum phase
 * its masked input), so each is held to the floor.
 */
export function floorRefusal(floor: PrivacyFloor | undefined, task: TaskMeta): string | undefined {
  if (!floor || task.kind === 'end') return undefined;
  const seen = taskPrivacy(task);
  const name = taskName(task);
  const faults = [
    floor.requireSecureAggregation && !seen.secureAggregation ? `this site requires secure aggregation (site.yaml privacy.requireSecureAggregation) and ${name} has none` : undefined,
    dpFault(floor, seen, name),
    ...(['minCellCount', 'minCategoryCount'] as const).map((key) => thresholdFault(key, floor[key], seen[key], name)),
  ].filter((f) => f !== undefined);
  return faults.length > 0 ? faults.join('; ') : undefined;
}

/** A task without the DP the floor asks for, or with less noise. */
function dpFault(floor: PrivacyFloor, seen: TaskPrivacy, name: string): string | undefined {
  const min = floor.minNoiseMultiplier;
  const why = floor.requireDifferentialPrivacy ? 'requireDifferentialPrivacy' : min !== undefined ? 'minNoiseMultiplier' : floor.maxEpsilon !== undefined ? 'maxEpsilon' : undefined;
  if (why && !seen.dp) return `this site requires differential privacy (site.yaml privacy.${why}) and ${name} says this federation runs without it`;
  if (min !== undefined && seen.dp && seen.dp.noiseMultiplier < min)
    return `this site requires a noise multiplier of at least ${min} (site.yaml privacy.minNoiseMultiplier) and ${name} asks for ${seen.dp.noiseMultiplier}`;
  return undefined;
}

/** A publication threshold below the floor's, or none stated. */
function thresholdFault(key: 'minCellCount' | 'minCategoryCount', want: number | undefined, got: number | undefined, name: string): string | undefined {
  if (want === undefined || (got !== undefined && got >= want)) return undefined;
  return `this site requires ${key} of at least ${want} (site.yaml privacy.${key}) and ${name} ${got === undefined ? 'does not state one (a coordinator of an earlier release)' : `has ${got}`}`;
}

/**
 * The one line that says which protections this federation applies, as its task states them,
 * and what this site insists on (the coordinator used to be alone in saying the mode).
 */
export function privacyModeFields(task: TaskMeta, floor: PrivacyFloor | undefined): Record<string, string | number> {
  const seen: TaskPrivacy = taskPrivacy(task);
  const required = floor
    ? [
        floor.requireSecureAggregation ? 'secure aggregation' : undefined,
        floor.requireDifferentialPrivacy ? 'differential privacy' : undefined,
        floor.minNoiseMultiplier !== undefined ? `noise multiplier >= ${floor.minNoiseMultiplier}` : undefined,
        floor.maxEpsilon !== undefined ? `ε <= ${floor.maxEpsilon} by its own account` : undefined,
        floor.minCellCount !== undefined ? `minCellCount >= ${floor.minCellCount}` : undefined,
        floor.minCategoryCount !== undefined ? `minCategoryCount >= ${floor.minCategoryCount}` : undefined,
      ].filter((x) => x !== undefined)
    : [];
  return {
    secureAggregation: seen.secureAggregation ? 'on' : 'off',
    differentialPrivacy: seen.dp ? 'on' : 'off',
    ...(seen.dp ? { dpClipNorm: seen.dp.clipNorm, dpNoiseMultiplier: seen.dp.noiseMultiplier } : {}),
    minCellCount: seen.minCellCount ?? 'not stated',
    minCategoryCount: seen.minCategoryCount ?? 'not stated',
    siteFloor: required.length > 0 ? required.join(', ') : 'none (site.yaml privacy sets no floor)',
  };
}

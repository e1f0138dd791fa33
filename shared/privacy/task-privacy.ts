/**
 * The federation's protections, stated in every task (config scalars) so that a site sees
 * them from its first task, before it computes or sends anything, and can hold them to its
 * own floor (site.yaml `privacy`, site-agent/privacy-floor.ts). Secure aggregation needs no
 * key: a task in a secure run carries its session (`secagg`).
 */
import { createHash } from 'node:crypto';
import { canonicalJson } from '../canonical-json.ts';
import type { TaskMeta } from '../protocol/task-meta.ts';
import { dpFromTaskConfig, dpTaskConfig, type DpSettings } from './dp.ts';

/** The config keys; the same names as coordinator.yaml's settings. */
const MIN_CELL = 'minCellCount';
const MIN_CATEGORY = 'minCategoryCount';

/**
 * What every task but the end carries: the publication thresholds, and with DP on its
 * settings (a fit task's site applies them; any other task only states them).
 */
export function privacyTaskConfig(p: { minCellCount: number; minCategoryCount: number; dp?: DpSettings }): Record<string, number> {
  return { [MIN_CELL]: p.minCellCount, [MIN_CATEGORY]: p.minCategoryCount, ...(p.dp ? dpTaskConfig(p.dp) : {}) };
}

/** The protections one task says its federation applies; a threshold a task does not state (an earlier coordinator) is undefined. */
export interface TaskPrivacy {
  secureAggregation: boolean;
  dp: { clipNorm: number; noiseMultiplier: number } | undefined;
  minCellCount: number | undefined;
  minCategoryCount: number | undefined;
}

export function taskPrivacy(task: Pick<TaskMeta, 'config' | 'secagg' | 'prior'>): TaskPrivacy {
  const stated = (key: string) => {
    const v = task.config[key];
    return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
  };
  let dp: TaskPrivacy['dp'];
  try {
    dp = dpFromTaskConfig(task.config);
  } catch {
    // Settings that do not read as DP are no DP (a fit task refuses them on its own).
    dp = undefined;
  }
  // The prior says the threshold it was derived with, and shows the one it kept: its smallest
  // pattern's rows (share x rows), which a coordinator could set below what it states (a DPO re-review).
  // The lowest of them is the one applied.
  const cell = stated(MIN_CELL);
  const kept = task.prior?.patterns.length ? Math.min(...task.prior.patterns.map((p) => Math.round(p.p * task.prior!.totalRows))) : Infinity;
  const minCellCount = task.prior ? Math.min(cell ?? Infinity, task.prior.minCount, kept) : cell;
  return { secureAggregation: task.secagg !== undefined, dp, minCellCount, minCategoryCount: stated(MIN_CATEGORY) };
}

/**
 * What fixes a training release: the whole task (its config, prior, scaling, model and round)
 * and the weights it starts from, less the secure-sum session (a fresh one after a restart; the
 * noise goes on before the masks). Noise keyed on the weights alone let a coordinator ask a round
 * again with training pinned (a huge proximal term) and subtract the two releases, noise and all
 * (a hostile re-try); keyed on all of it, a task that differs in anything gets other noise.
 */
export function releaseDigest(task: Readonly<Record<string, unknown>>, weights: Float32Array): string {
  const { secagg: _session, ...rest } = task;
  // Canonical: the same task with its keys in another order was other noise (a hostile re-try).
  return createHash('sha256').update(canonicalJson(rest)).update(new Uint8Array(weights.buffer, weights.byteOffset, weights.byteLength)).digest('hex');
}

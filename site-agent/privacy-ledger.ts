/**
 * The site's own account of its differentially private releases, kept by the site whatever the
 * coordinator reports: one release per training round, and, with site.yaml `privacy.maxEpsilon`,
 * no release past that budget. A coordinator that deviates asked one round again with other
 * contents (a nudged weight, other settings) for fresh noise to average away, or asked as many
 * rounds as it liked (a hostile re-try); the coordinator's ε is its own figure.
 *
 * Kept in memory: it covers the site process (a run). A site restarted mid-run starts a new
 * account; the same round asked again with the same task still gets the same release (its noise
 * is fixed by the task: site-tasks.ts).
 */
import { dpFromTaskConfig, chargeFitRound } from '../shared/privacy/dp.ts';
import { ZcdpAccountant, zcdpToEpsilon } from '../shared/privacy/accountant.ts';
import type { TaskMeta } from '../shared/protocol/messages.ts';

/** The δ a site's budget is read at where site.yaml gives none: the coordinator's default. */
export const SITE_BUDGET_DELTA = 1e-5;

export class PrivacyLedger {
  /** Per training round released: the digest of the task it answered (releaseDigest). */
  private readonly released = new Map<number, string>();
  private readonly accountant: ZcdpAccountant;

  constructor(
    private readonly maxEpsilon: number | undefined,
    private readonly delta = SITE_BUDGET_DELTA,
  ) {
    this.accountant = new ZcdpAccountant(delta);
  }

  /**
   * Why this site refuses the DP training task `task` (digest `digest`), or undefined; a task
   * without DP, or of another kind, is not this ledger's (the floor says whether DP is required).
   */
  refusal(task: TaskMeta, digest: string): string | undefined {
    const dp = task.kind === 'fit' ? dpFromTaskConfig(task.config) : undefined;
    if (!dp) return undefined;
    const before = this.released.get(task.round);
    if (before === digest) return undefined;
    if (before !== undefined)
      return `round ${task.round}'s training task came again with other contents after this site released that round: a second release of one round would let its noise be averaged away`;
    if (this.maxEpsilon === undefined) return undefined;
    const next = new ZcdpAccountant(this.delta);
    chargeFitRound(next, dp, task.round);
    const epsilon = zcdpToEpsilon(this.accountant.spent().rho + next.spent().rho, this.delta);
    if (epsilon <= this.maxEpsilon) return undefined;
    return `this site's privacy budget (site.yaml privacy.maxEpsilon ${this.maxEpsilon}, at δ = ${this.delta}) would be passed by round ${task.round}'s release (ε ${Number(epsilon.toPrecision(4))} after it, ${this.released.size} round${this.released.size === 1 ? '' : 's'} released before)`;
  }

  /** `task` (passed by refusal()) is released: charged once per round. */
  record(task: TaskMeta, digest: string): void {
    const dp = task.kind === 'fit' ? dpFromTaskConfig(task.config) : undefined;
    if (!dp || this.released.has(task.round)) return;
    this.released.set(task.round, digest);
    chargeFitRound(this.accountant, dp, task.round);
  }

  /** ε at the ledger's δ over the rounds released so far. */
  spent(): number {
    return this.accountant.spent().epsilon;
  }
}

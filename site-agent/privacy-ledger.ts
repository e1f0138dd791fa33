/**
 * The site's own account of its differentially private releases, kept by the site whatever the
 * coordinator reports. A coordinator that deviates asked one round again with other contents
 * (a nudged weight, other settings) for fresh noise to average away, asked an earlier round
 * again so that training differed under the same noise, or asked as many rounds as it liked
 * (hostile re-tries). So, within a site process: training rounds only advance (an earlier round
 * is refused), the latest round asked again must be the same task (it then gets the same
 * release), and with site.yaml `privacy.maxEpsilon` no release passes that budget. The budget's
 * spending is kept in a file beside the saved model, so a restart (which a coordinator can cause
 * by ending the run as failed) does not give it back: it is the site's, across runs, until the
 * hospital resets it (deleting the file).
 */
import { existsSync, readFileSync } from 'node:fs';
import { dpFromTaskConfig } from '../shared/privacy/dp.ts';
import { zcdpToEpsilon } from '../shared/privacy/accountant.ts';
import { roundRho } from '../shared/privacy/budget.ts';
import type { TaskMeta } from '../shared/protocol/messages.ts';
import { writeFileWhole } from '../shared/output-path.ts';

/** The δ a site's budget is read at: the coordinator's default. */
export const SITE_BUDGET_DELTA = 1e-5;

/** What the ledger file keeps: the zCDP ρ spent, for the federation named. */
interface LedgerFile {
  federation: string;
  rho: number;
  releases: number;
}

export class PrivacyLedger {
  /** The latest training round released in this process, with the digest of its task. */
  private latest: { round: number; digest: string } | undefined;
  private rho = 0;
  private releases = 0;
  /** The digest of the final evaluation answered (the rule is a DP run's: one whose training released). */
  private evaluated: string | undefined;

  /** `file`: where the spending is kept across restarts (absent: this process only). */
  constructor(
    private readonly maxEpsilon: number | undefined,
    private readonly federation: string,
    private readonly file?: string,
    private readonly delta = SITE_BUDGET_DELTA,
  ) {
    if (file && existsSync(file)) {
      const kept = JSON.parse(readFileSync(file, 'utf8')) as Partial<LedgerFile>;
      if (kept.federation === federation && typeof kept.rho === 'number' && kept.rho >= 0) {
        this.rho = kept.rho;
        this.releases = typeof kept.releases === 'number' ? kept.releases : 0;
      }
    }
  }

  /**
   * Why this site refuses the DP training task `task` (digest `digest`), or undefined; a task
   * without DP, or of another kind, is not this ledger's (the floor says whether DP is required).
   */
  refusal(task: TaskMeta, digest: string): string | undefined {
    // One final evaluation a process: crafted models in as many as a coordinator liked read its rows (its
    // recalibration on its training rows gave their prevalence and the model's mean score: a hostile re-try).
    if (task.kind === 'evaluate' && this.latest !== undefined && this.evaluated !== undefined && this.evaluated !== digest)
      return `a final evaluation came again with other contents after this site answered one: a second would let crafted models read its rows`;
    const dp = task.kind === 'fit' ? dpFromTaskConfig(task.config) : undefined;
    if (!dp) return undefined;
    const latest = this.latest;
    if (latest && task.round === latest.round) {
      if (latest.digest === digest) return undefined;
      return `round ${task.round}'s training task came again with other contents after this site released that round: a second release of one round would let its noise be averaged away`;
    }
    if (latest && task.round < latest.round)
      return `round ${task.round}'s training task came after this site released round ${latest.round}: training rounds only advance (an earlier round again would be trained otherwise under the same noise)`;
    if (this.maxEpsilon === undefined) return undefined;
    const epsilon = zcdpToEpsilon(this.rho + roundRho({ ...dp, delta: this.delta }), this.delta);
    if (epsilon <= this.maxEpsilon) return undefined;
    return `this site's privacy budget (site.yaml privacy.maxEpsilon ${this.maxEpsilon}, at δ = ${this.delta}) would be passed by round ${task.round}'s release (ε ${Number(epsilon.toPrecision(4))} after it, ${this.releases} release${this.releases === 1 ? '' : 's'} before)`;
  }

  /** `task` (passed by refusal()) is released: charged once per round in this process, and kept. */
  record(task: TaskMeta, digest: string): void {
    if (task.kind === 'evaluate') this.evaluated ??= digest;
    const dp = task.kind === 'fit' ? dpFromTaskConfig(task.config) : undefined;
    if (!dp || this.latest?.round === task.round) return;
    this.latest = { round: task.round, digest };
    this.rho += roundRho({ ...dp, delta: this.delta });
    this.releases++;
    if (this.file) writeFileWhole(this.file, `${JSON.stringify({ federation: this.federation, rho: this.rho, releases: this.releases } satisfies LedgerFile)}\n`, 0o600);
  }

  /** ε at the ledger's δ over the releases so far (those kept in its file too). */
  spent(): number {
    return zcdpToEpsilon(this.rho, this.delta);
  }
}

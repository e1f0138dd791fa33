/**
 * Which training sites a run trains with, and what the results say about the others.
 *
 * The participants are the training sites that answered statistics stage 1: every fit round
 * asks these, and so do the later plain statistics stages (a secure statistics sum invites
 * every training site: secure-phases.ts). The federation's scaling and prior were agreed
 * without the others' rows (and plain mode knows no weight they may claim), so a site that
 * missed the first statistics round is left out: it trains in no round of the run, is scored
 * at the final evaluation and is named in the results' warnings. A site that fails a later
 * statistics stage stays a participant (plain: its sums are missing from that stage only).
 */
import type { Logger } from '../shared/logger.ts';
import { REVOKED_REASON } from './round-exchange.ts';
import { OTHER_RELEASE, OTHER_SCHEMA, type SiteDirectory } from './directory.ts';
import type { SiteFailure } from './strategy/strategy.ts';

/** What the warnings read of a committed round (round-outcome.ts's RoundRecord has it). */
interface RoundParticipation {
  round: number;
  accepted: boolean;
  failed: readonly SiteFailure[];
}

/** A site's own refusal of the federation's settings (site-agent/privacy-floor.ts, privacy-ledger.ts words). */
const FLOOR_REFUSAL = /^(site reported a failure: |it withdrew from this run: )this site(?: requires|'s privacy budget)/;

/** Why a site whose statistics were not counted trains in no round, and what brings it back. */
function leftOutReason(why: string): string {
  // A refused result is fixed at the site; an absence by being online when the run starts.
  const remedy = why.startsWith('update refused')
    ? 'fix what the refusal names, then restart the run to include it'
    : why === REVOKED_REASON
      ? 'to include it again, issue it new keys (provision add-site --replace) and restart the run'
      : why.startsWith(OTHER_RELEASE)
        ? "install the coordinator's fedcausal release at the site (`fedcausal --version` on both), then restart the run to include it"
        : why.startsWith(OTHER_SCHEMA)
          ? "give the site the schema.json of the coordinator's kit, then restart the run to include it"
          : FLOOR_REFUSAL.test(why)
            ? "its site.yaml privacy floor and this federation's settings differ: raise the setting it names (or the hospital lowers its floor), then restart the run to include it"
            : 'restart the run with every site online to include it';
  return `its statistics were not counted (${why}), so it does not train in this run: ${remedy}`;
}

export class Participation {
  /** Left-out sites and why (their reason, as the results and /api/status give it). */
  private readonly leftOut = new Map<string, string>();

  constructor(
    private readonly trainingSites: readonly string[],
    private readonly directory: SiteDirectory,
    private readonly log: Logger,
  ) {}

  /** The training sites not left out (all of them until statistics stage 1 is counted). */
  get participants(): string[] {
    return this.trainingSites.filter((s) => !this.leftOut.has(s));
  }

  /** Why `site` trains in no round of this run; undefined for a participant. */
  reasonFor(site: string): string | undefined {
    return this.leftOut.get(site);
  }

  /** The left-out sites and why, as the durable state and the results keep them. */
  saved(): Record<string, string> {
    return Object.fromEntries(this.leftOut);
  }

  /** The sites that answered statistics stage 1 stay participants; the rest are left out, with their round failure. */
  counted(sites: readonly string[], failures: ReadonlyMap<string, { reason: string }>): void {
    for (const site of this.trainingSites.filter((s) => !sites.includes(s) && !this.leftOut.has(s))) {
      const reason = leftOutReason(failures.get(site)?.reason ?? 'not in the statistics round');
      this.leaveOut(site, reason);
      this.log.warn('site left out of training in this run', { site, reason });
    }
  }

  /**
   * The sites a resumed run keeps out of training: as saved, or, in state an earlier release
   * wrote, a plain run's training sites with no stage-1 rows (each of their updates would be
   * refused for want of them).
   */
  restore(saved: { leftOut?: Record<string, string>; siteRows?: Record<string, number> }, secure: boolean): void {
    const rows = saved.siteRows;
    const kept = saved.leftOut ?? (rows && !secure ? Object.fromEntries(this.trainingSites.filter((x) => !(x in rows)).map((x) => [x, leftOutReason('before the coordinator restarted')])) : {});
    for (const [site, reason] of Object.entries(kept)) this.leaveOut(site, reason);
  }

  private leaveOut(site: string, reason: string): void {
    this.leftOut.set(site, reason);
    this.directory.recordLeftOut(site, reason);
    this.directory.recordFailure(site, 0, `left out of training: ${reason}`);
  }
}

/**
 * Which training sites the model did not learn from in every accepted round: a site left
 * out of training (named with why), and a site whose update was missing from some accepted
 * rounds (which rounds, and the reasons its rounds' records give). The results list every
 * site's final metrics alike; these say which of them scored a model they did not train.
 */
export function participationWarnings(
  trainingSites: readonly string[],
  leftOut: Readonly<Record<string, string>>,
  history: readonly RoundParticipation[],
  evaluated?: ReadonlySet<string>,
): string[] {
  const accepted = history.filter((h) => h.accepted);
  const warnings: string[] = [];
  for (const site of trainingSites) {
    if (leftOut[site]) {
      // Only where it has final metrics (a revoked site has none: "its final metrics" read oddly there).
      const scored = !evaluated || evaluated.has(site) ? '; its final metrics score a model trained without it' : '';
      warnings.push(`site "${site}" trained in no round: ${leftOut[site]}${scored}`);
      continue;
    }
    const missed = accepted.filter((h) => h.failed.some((f) => f.site === site));
    if (missed.length === 0) continue;
    const reasons = [...new Set(missed.map((h) => h.failed.find((f) => f.site === site)!.reason))];
    warnings.push(
      `site "${site}" trained in ${accepted.length - missed.length} of ${accepted.length} accepted rounds ` +
        `(missing from ${roundRanges(missed.map((h) => h.round))}: ${reasons.slice(0, 3).join('; ')}${reasons.length > 3 ? `; and ${reasons.length - 3} more reasons` : ''})`,
    );
  }
  return warnings;
}

/** `round 4` or `rounds 3-5, 9`: ascending round numbers as ranges. */
function roundRanges(rounds: readonly number[]): string {
  const parts: string[] = [];
  for (let i = 0; i < rounds.length; ) {
    let j = i;
    while (j + 1 < rounds.length && rounds[j + 1] === rounds[j]! + 1) j++;
    parts.push(j > i ? `${rounds[i]}-${rounds[j]}` : `${rounds[i]}`);
    i = j + 1;
  }
  return `${rounds.length === 1 ? 'round' : 'rounds'} ${parts.join(', ')}`;
}

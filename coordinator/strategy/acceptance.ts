/**
 * Whether a round counts: the quorum rule every strategy uses unless it overrides
 * `Strategy.acceptFit`, and the statistics rounds use as it is. Failures are data
 * (Flower's aggregate_fit sees them): the rule here only counts answers, and names
 * every failure in its reason so a run's problems say what happened.
 */
import type { Acceptance, AcceptancePolicy, SiteFailure, SiteResult } from './strategy.ts';

/** Why a round with `answered` answers fell short of the quorum: the wording of the run's problems and errors. */
export function quorumShortfall(answered: number, policy: AcceptancePolicy, failures: readonly SiteFailure[]): string {
  const why = failures.map((f) => `${f.site}: ${f.reason}`).join('; ');
  return `${answered} sites answered, ${policy.minSitesToAccept} needed (${why || 'no failures'})`;
}

/** Accepted when at least `minSitesToAccept` sites answered, whatever failed. */
export function acceptByQuorum(results: readonly SiteResult[] | number, failures: readonly SiteFailure[], policy: AcceptancePolicy): Acceptance {
  const answered = typeof results === 'number' ? results : results.length;
  return answered >= policy.minSitesToAccept ? { accepted: true } : { accepted: false, reason: quorumShortfall(answered, policy, failures) };
}

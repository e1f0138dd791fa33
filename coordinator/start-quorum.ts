/**
 * The federation's quorum settings, and the wait for enough sites to start: the one
 * part of the round loop that waits on sites joining rather than on their answers.
 */
import type { Logger } from '../shared/logger.ts';
import type { SiteDirectory } from './directory.ts';
import type { AcceptancePolicy } from './strategy/strategy.ts';
import type { SecAggConfig } from '../shared/secagg/config.ts';

export interface Quorum extends AcceptancePolicy {
  minSitesToStart: number;
  /** Statistics and final evaluation: how long a site that is offline may take to come back before it fails the round. */
  rejoinGraceMs: number;
  roundDeadlineMs: number;
  /** Give up on the start quorum after this long. */
  startTimeoutMs: number;
  /** Wait this long for every site before starting with `minSitesToStart`. */
  waitForAllMs: number;
}

/**
 * Waits for every training site, for `waitForAllMs` at most once `minSitesToStart` are online
 * (counted from then, not from the start); then starts with those (a site that cannot start,
 * say with bad data, does not block the others), and fails at `startTimeoutMs` if even those never came, naming them. A
 * stop (`stop` aborted: SIGTERM) ends the wait at once instead of after the start timeout.
 * `waiting` is called once, with the reason, if it has to wait.
 */
export async function waitForStartQuorum(
  sites: readonly string[],
  directory: SiteDirectory,
  q: Quorum,
  stop: AbortSignal,
  log: Logger,
  waiting: (reason: string) => void = () => {},
): Promise<void> {
  const { startTimeoutMs, waitForAllMs } = q;
  // Never more than the sites that will train (a restart may have left some out), as roundNeed.
  const need = Math.min(q.minSitesToStart, sites.length);
  const w = awaited(sites, directory);
  const t0 = Date.now();
  // Set by the timer, not read off the clock: a timer may fire a millisecond before
  // Date.now() says the time is up, and then nothing would check again until the start timeout.
  let waitedForAll = waitForAllMs <= 0;
  // A revoked site is refused at every connection: the others need not wait for it.
  const ready = () => w.online().length >= sites.length || (w.online().length >= need && (waitedForAll || w.offline().length === 0));
  // Two waits, said apart: "needs 2, 2 are: waiting for va" read as a contradiction (an outside try).
  const reason = () =>
    w.online().length >= need
      ? `${w.online().length} of the ${sites.length} training sites are online, enough to start (quorum.minSitesToStart ${need}): ` +
        `waiting up to ${waitForAllMs / 1000}s from then for ${w.offline().join(', ')} (quorum.waitForAllSeconds)`
      : `starting needs ${need} training sites online (quorum.minSitesToStart; once they are, every site is awaited for up to ${waitForAllMs / 1000}s more, quorum.waitForAllSeconds), ` +
        `${w.online().length} are: waiting for ${w.offline().join(', ')}`;
  const say = sayChanged(reason, waiting);
  if (!ready() && !stop.aborted) say();
  await waitForSites(directory, stop, {
    ready,
    // Said again as sites come and go: the reason read "0 are" for a whole wait with two online (an outside try).
    changed: say,
    impossible: () => w.unreachable(need, 'starting', 'quorum.minSitesToStart'),
    timeoutMs: startTimeoutMs,
    atTimeout: () =>
      w.online().length >= need
        ? undefined
        : new Error(`only ${w.online().length} of ${need} required training sites joined within ${startTimeoutMs / 1000}s (quorum.startTimeoutSeconds); not joined: ${w.offline().join(', ')}`),
    atStop: () => new Error(`stopped while waiting for sites (${String(stop.reason)})`),
    // From the quorum on, not from the coordinator's start: hospitals start their agents on their own
    // schedule, and a site 40 s after the first two was left out of a whole run (an outside try).
    recheck: { afterMs: waitForAllMs, first: () => (waitedForAll = true), from: () => w.online().length >= need },
  });
  const missing = sites.filter((s) => !directory.online().includes(s));
  if (missing.length) log.warn('starting without every site', { missing, waitedSeconds: Math.round((Date.now() - t0) / 1000), minSitesToStart: need });
}

/**
 * The sites a fit round needs online to be accepted, and which setting says so: the quorum's,
 * and for a secure sum its minimum and Shamir threshold (below them the sum aborts, as a round
 * below the quorum is refused). Never more than the round's `participants`.
 */
export function roundNeed(minSitesToAccept: number, secure: Pick<SecAggConfig, 'minSites' | 'threshold' | 'neighbours'> | undefined, participants: number): { sites: number; setting: string } {
  const quorum = { sites: minSitesToAccept, setting: 'quorum.minSitesToAccept' };
  // With neighbours (SecAgg+) the threshold is per neighbourhood: the minimum alone is what the whole round needs.
  const sum = secure ? Math.max(secure.minSites, secure.neighbours ? 0 : (secure.threshold ?? Math.floor((2 * participants) / 3) + 1)) : 0;
  const need = sum > quorum.sites ? { sites: sum, setting: "secureAggregation's minSites and threshold" } : quorum;
  return { ...need, sites: Math.min(need.sites, participants) };
}

/**
 * Before a training round: waits until `need` of `sites` are online, for `timeoutMs` at most,
 * and fails the run past it (its state resumes at this round on a restart). A round with fewer
 * cannot be accepted, and rounds run back to back would spend the run's budget on refusals: an
 * outside try lost 13 of 40 rounds in 2.5 minutes with two of three sites stopped, and the run
 * ended incomplete. `waiting` is called once, with the reason, if the round has to wait; a stop
 * (`stop` aborted) ends the wait at once, and the caller sees it stopped.
 */
export async function waitForRoundQuorum(
  round: number,
  sites: readonly string[],
  needed: { sites: number; setting: string },
  directory: SiteDirectory,
  timeoutMs: number,
  stop: AbortSignal,
  log: Logger,
  waiting: (reason: string) => void,
): Promise<void> {
  const need = needed.sites;
  const w = awaited(sites, directory);
  if (w.online().length >= need || stop.aborted) return;
  const impossible = () => w.unreachable(need, `round ${round} cannot be accepted`, needed.setting);
  const now = impossible();
  if (now) throw now;
  const reason = () => `round ${round} needs ${need} training sites online (${needed.setting}), ${w.online().length} are: waiting for ${w.offline().join(', ')}`;
  const say = sayChanged(reason, waiting);
  say();
  log.warn('waiting for sites before a training round', { round, need, online: w.online(), offline: w.offline(), waitSeconds: timeoutMs / 1000 });
  await waitForSites(directory, stop, {
    ready: () => w.online().length >= need,
    changed: say,
    impossible,
    timeoutMs,
    atTimeout: () =>
      new Error(
        `round ${round} cannot be accepted: ${w.online().length} of the ${need} training sites it needs (${needed.setting}) are online, ` +
          `and ${w.offline().join(', ')} did not come back within ${timeoutMs / 1000}s (quorum.startTimeoutSeconds); a restart resumes at round ${round}`,
      ),
    // The caller sees the stop.
    atStop: () => undefined,
  });
  if (w.online().length >= need) log.info('sites back: the training round starts', { round, online: w.online() });
}

/** Calls `waiting` with `reason()` when it differs from what was said last. */
function sayChanged(reason: () => string, waiting: (reason: string) => void): () => void {
  let said: string | undefined;
  return () => {
    const now = reason();
    if (now !== said) waiting((said = now));
  };
}

/**
 * `sites` as a wait sees them: online, awaited (offline and not revoked: a revoked site is
 * refused at every connection, so never named as awaited), and whether `need` is out of reach
 * because too many are revoked (an error naming them, `what` first).
 */
function awaited(sites: readonly string[], directory: SiteDirectory) {
  const online = () => sites.filter((s) => directory.online().includes(s));
  return {
    online,
    offline: () => sites.filter((s) => !online().includes(s) && !directory.isRevoked(s) && !directory.withdrawal(s)),
    unreachable(need: number, what: string, setting: string): Error | undefined {
      const revoked = sites.filter((s) => directory.isRevoked(s));
      const withdrawn = sites.filter((s) => directory.withdrawal(s));
      if (sites.length - revoked.length - withdrawn.length >= need) return undefined;
      const gone = [
        revoked.length ? `${revoked.join(', ')} of its ${sites.length} are revoked (provision revoke-site)` : '',
        withdrawn.length ? `${withdrawn.join(', ')} withdrew from the run (their site.yaml privacy floor refused its settings)` : '',
      ].filter(Boolean);
      return new Error(`${what}: it needs ${need} training sites (${setting}) and ${gone.join(', and ')}`);
    },
  };
}

/** How a wait for sites ends: `ready` (checked at each change of the directory), its timeout, a stop; an error fails it, undefined ends it well. */
interface SiteWait {
  ready: () => boolean;
  /** An error when the wait can no longer succeed (sites revoked): it fails at once. */
  impossible?: () => Error | undefined;
  timeoutMs: number;
  atTimeout: () => Error | undefined;
  atStop: () => Error | undefined;
  /**
   * One more check of `ready` after `afterMs`, once `first` ran (a condition that changes with
   * time); the clock starts once `from` holds (at once without it).
   */
  recheck?: { afterMs: number; first: () => void; from?: () => boolean };
  /** Called when the sites changed and the wait goes on (its reason says who is online now). */
  changed?: () => void;
}

/** Resolves at once when `ready()` holds (fails when `impossible()` says so); else waits as `w` says, and leaves no timer or listener behind. */
function waitForSites(directory: SiteDirectory, stop: AbortSignal, w: SiteWait): Promise<void> {
  const impossible = w.impossible?.();
  if (impossible) return Promise.reject(impossible);
  if (w.ready()) return Promise.resolve();
  return new Promise<void>((resolve, reject) => {
    const done = (error?: Error) => {
      clearTimeout(recheck);
      clearTimeout(timer);
      off();
      stop.removeEventListener('abort', onStop);
      if (error) reject(error);
      else resolve();
    };
    let recheck: NodeJS.Timeout | undefined;
    const arm = () => {
      if (recheck || !w.recheck || !(w.recheck.from?.() ?? true)) return;
      recheck = setTimeout(() => (w.recheck!.first(), check()), w.recheck.afterMs);
    };
    const check = () => {
      const error = w.impossible?.();
      if (error) done(error);
      else if (w.ready()) done();
      else {
        arm();
        w.changed?.();
      }
    };
    arm();
    const timer = setTimeout(() => done(w.atTimeout()), w.timeoutMs);
    const off = directory.onChange(check);
    const onStop = () => done(w.atStop());
    if (stop.aborted) onStop();
    else stop.addEventListener('abort', onStop, { once: true });
  });
}

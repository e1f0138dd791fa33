/**
 * How a site retries after a failed connection: until connectTimeoutSeconds from the start or
 * from a lost connection (jittered backoff), briefly when the coordinator says this site is
 * already connected (its own dead stream may still be held), never when the answer cannot
 * change (another release, a refused kit); and what it says meanwhile and at the end.
 */
import { InputError } from '../shared/errors.ts';
import type { Logger } from '../shared/logger.ts';
import { KEEPALIVE_TIME_MS, KEEPALIVE_TIMEOUT_MS, refusalReason } from '../shared/transport/grpc-proto.ts';
import type { SiteConfig } from './config.ts';
import { failedAtChallenge } from './grpc-client.ts';
import { kitRefusal, type KitIdentity } from './kit-refusal.ts';
import { grpcText, NOT_TLS, TLS_FAILURE, tlsHint } from './tls-hints.ts';
import { CHECK_ADDRESS, type UnreachableNotice } from './unreachable-notice.ts';

/** Reconnect backoff: 200 ms doubling to 10 s, jittered to 50-100% so restarted sites do not all knock at once. */
const BACKOFF_BASE_MS = 200;
const BACKOFF_MAX_MS = 10_000;

/**
 * How long a join refused because the site is already connected keeps being retried:
 * the connection the coordinator holds may be this site's own, dead without a word (a
 * crashed host, a broken network), and keepalive closes such a stream within one ping
 * interval plus its timeout. Refused for longer than that, the holder is alive: another
 * process runs this site's kit.
 */
export const ALREADY_CONNECTED_GRACE_MS = KEEPALIVE_TIME_MS + KEEPALIVE_TIMEOUT_MS + 5_000;

export function reconnectDelayMs(attempt: number, random: () => number = Math.random): number {
  const cap = Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** Math.min(attempt - 1, 16));
  return cap * (0.5 + 0.5 * random());
}

/** How any coordinator words a join in another protocol version, including those before the `incompatible` reason. */
const OTHER_PROTOCOL = /speaks protocol version \d+.*this coordinator speaks \d+/;

/**
 * The coordinator refused the join as another fedcausal release: its `incompatible` reason, or an
 * older coordinator's words (INVALID_ARGUMENT). Only a join's refusal, before joining: an end
 * message may quote such words about another site.
 */
function otherRelease(e: unknown, joined: boolean): boolean {
  const err = e as Error & { code?: number };
  return refusalReason(e) === 'incompatible' || (!joined && err.code === 3 && OTHER_PROTOCOL.test(err.message));
}

/** Attempts in a row answered in something other than TLS before the site ends (exit 2). */
export const NOT_TLS_TRIES = 3;

/** A refusal a restart meets again (exit 2, so a supervisor stops), or undefined. */
function lastingRefusal(e: unknown, joined: boolean): InputError | undefined {
  const err = e as Error & { details?: string };
  const words = grpcText(err.details ?? err.message);
  // Another release at the coordinator. A coordinator before the `incompatible` reason said so only in words (INVALID_ARGUMENT), and the site exited 1 forever (an outside try).
  if (otherRelease(e, joined))
    return new InputError(
      `the coordinator refused this site: ${words}; it runs another fedcausal release: ` +
        "install the coordinator's release here (the federation operator says which; `fedcausal --version` on both)",
      { cause: e },
    );
  // Another schema than the federation's: the kit must change.
  if (refusalReason(e) === 'schema-mismatch') return new InputError(`the coordinator refused this site: ${words}`, { cause: e });
  return undefined;
}

export class ConnectionRetry {
  /** Attempts since the start or the last lost connection; the caller counts each one. */
  attempt = 0;
  private deadline: number;
  private refusedSince: number | undefined;
  private tlsFailures = 0;
  /** Attempts in a row answered in something other than TLS. */
  private notTls = 0;

  constructor(
    private readonly cfg: SiteConfig,
    private readonly notice: UnreachableNotice,
    private readonly kit: () => KitIdentity,
    private readonly log: Logger,
    private readonly signal: AbortSignal | undefined,
  ) {
    this.deadline = Date.now() + cfg.connectTimeoutSeconds * 1000;
  }

  /** After attempt `attempt` failed with `e` (`joined`: the agent had joined before): waits before the next one, or throws what the site ends with. */
  async afterFailure(e: unknown, joined: boolean): Promise<void> {
    const { cfg, log } = this;
    const err = e as Error & { code?: number };
    if (refusalReason(e) === 'already-connected') return this.alreadyConnected();
    this.refusedSince = undefined;
    const final = lastingRefusal(e, joined);
    if (final) throw final;
    // A connection that was up and broke: the window to reconnect starts now, not at start-up.
    if (joined && err.code === 14) this.lost(err);
    const tlsProblem = err.code === 14 && this.unavailable(err);
    this.countNotTls(err);
    // 14 = UNAVAILABLE: nobody listening yet; retry until the connect timeout.
    if (err.code !== 14 || Date.now() > this.deadline || this.signal?.aborted) throw lastError(err, tlsProblem, cfg, this.kit());
    if (!tlsProblem && this.attempt === 1) log.info('coordinator not reachable yet, retrying', { address: cfg.coordinatorAddress, error: grpcText(err.message) });
    await new Promise((r) => setTimeout(r, reconnectDelayMs(this.attempt)));
  }

  /**
   * A port that answers in something other than TLS (the coordinator's HTTP port dialled) answers so
   * again: ended after NOT_TLS_TRIES in a row (exit 2, a site.yaml fault), not after the whole window (an outside try).
   */
  private countNotTls(err: Error & { code?: number }): void {
    this.notTls = err.code === 14 && NOT_TLS.test(err.message) ? this.notTls + 1 : 0;
    if (this.notTls >= NOT_TLS_TRIES) throw new InputError(`${this.cfg.coordinatorAddress} answered ${this.notTls} times in something other than TLS: ${tlsHint(err.message)}`, { cause: err });
  }

  /** UNAVAILABLE (14): noted for the reminders; true when it was the TLS handshake, which will not cure itself (said at once, the first time). */
  private unavailable(err: Error): boolean {
    // A TLS handshake that failed also shows as UNAVAILABLE: say so plainly.
    const tls = TLS_FAILURE.test(err.message);
    if (tls && this.tlsFailures++ === 0) this.log.error(tlsHint(err.message), { address: this.cfg.coordinatorAddress, error: err.message });
    this.notice.failed(Date.now(), grpcText(err.message), tls ? tlsHint(err.message) : undefined);
    return tls;
  }

  /** A connection that was up broke: a new window of connectTimeoutSeconds, from the first backoff. */
  private lost(err: Error): void {
    this.deadline = Date.now() + this.cfg.connectTimeoutSeconds * 1000;
    this.attempt = 1;
    this.log.warn('connection to the coordinator lost, reconnecting', { error: err.message, withinSeconds: this.cfg.connectTimeoutSeconds });
  }

  /** The coordinator says this site is already connected: retried for ALREADY_CONNECTED_GRACE_MS, then this copy exits 2. */
  private async alreadyConnected(): Promise<void> {
    // The coordinator answered: no "still cannot reach" notice while this is sorted out.
    this.notice.reached();
    const now = Date.now();
    this.refusedSince ??= now;
    // Exit 2, as bad input: a supervisor restarting this copy would knock for as long as the other runs.
    if (now - this.refusedSince > ALREADY_CONNECTED_GRACE_MS)
      throw new InputError(
        `site "${this.cfg.site}" is already connected to the coordinator from another process (refused for ${Math.round((now - this.refusedSince) / 1000)} s); ` +
          'this copy exits. Stop the other copy of this site kit first',
      );
    if (this.refusedSince === now)
      this.log.warn('the coordinator says this site is already connected; retrying while a dead connection of this site would be dropped', {
        withinSeconds: ALREADY_CONNECTED_GRACE_MS / 1000,
      });
    await new Promise((r) => setTimeout(r, Math.min(3000, reconnectDelayMs(this.attempt))));
  }
}

/** What the site ends with, once it stops retrying. */
function lastError(err: Error & { code?: number }, tlsProblem: boolean, cfg: SiteConfig, kit: KitIdentity): Error {
  // Still TLS after the whole window: exit 1, since the regex also takes a dropped socket, which a restart may cure.
  // A coordinator certificate this site distrusts is not final either: the coordinator's kit may be the stray one,
  // and once its operator puts it right, a site that restarts (exit 1) joins without anyone at the hospital.
  if (tlsProblem) return gaveUp('no TLS handshake with the coordinator', cfg, err, tlsHint(err.message));
  // 16 = UNAUTHENTICATED: this kit's keys were refused, and will be again after a restart (exit 2).
  if (err.code === 16) return kitRefusal(err, kit, failedAtChallenge(err) ? 'challenge' : 'join');
  // Nobody answered for the whole window: the last line repeats what the notices said to check.
  if (err.code === 14) return gaveUp('cannot reach the coordinator', cfg, err, CHECK_ADDRESS);
  return err;
}

/** The site's last words after connectTimeoutSeconds of failed attempts: what failed, then the hint it logged while retrying. */
function gaveUp(what: string, cfg: SiteConfig, err: Error, hint: string): Error {
  const window = `within connectTimeoutSeconds (${cfg.connectTimeoutSeconds} s; last error: ${grpcText(err.message)})`;
  return new Error(`${what} at ${cfg.coordinatorAddress} ${window}: ${hint}`, { cause: err });
}

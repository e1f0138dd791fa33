/**
 * Rejects envelopes that are authentic but should not be acted on: for another
 * federation, round or purpose, outside the clock-skew window, already seen, or
 * a second answer from the same site to the same question. Run it on a header
 * that verifyHeader() accepted, before opening the payload.
 *
 * Memory stays bounded: a messageId is forgotten once its createdAt falls out of
 * the window (such a message is refused by age anyway), and (site, round, kind)
 * claims are forgotten for rounds below the highest `expected.round` seen (such
 * messages are refused as stale when the caller passes the round).
 */
import { ProtocolError } from '../errors.ts';
import { clockGap } from '../time-gap.ts';
import type { SealedHeader } from './envelope.ts';

export interface ReplayGuardOptions {
  /** Accept createdAt within ±maxAgeMs of now: the replay window, which also absorbs clock skew. */
  maxAgeMs: number;
  now?: () => number;
  /** Called for every message id accepted, so a durable caller can keep them across a restart. */
  onAccept?: (messageId: string, createdAt: number) => void;
  /** Who reads the messages, as refusals name its clock ("the coordinator", `site "va"`): a refusal is also sent to the other side. */
  reader?: string;
}

export interface ReplayExpectation {
  federation: string;
  /** When given, any other round is 'stale-round'. */
  round?: number;
  /** When given, any other kind is 'not-expected'. */
  kinds?: readonly string[];
}

/** A message refused for its time alone (out of the window either side): the host clocks may be apart. */
export class ClockRefusal extends ProtocolError {
  constructor(
    message: string,
    /** The refused message's header (verified: its sender and what it was). */
    readonly header: SealedHeader,
  ) {
    super(message, 'replay');
  }
}

export class ReplayGuard {
  private readonly maxAgeMs: number;
  private readonly now: () => number;
  /** messageId -> createdAt. */
  private readonly seen = new Map<string, number>();
  /** round -> claimed `${site}\0${kind}` slots. */
  private readonly claims = new Map<number, Set<string>>();
  /** Ids created before this were forgotten: refuse them even if the clock stepped back. */
  private forgottenBefore = -Infinity;
  private lastSweep = -Infinity;
  private highestRound = -Infinity;
  private readonly onAccept: ((messageId: string, createdAt: number) => void) | undefined;
  private readonly reader: string;

  constructor(opts: ReplayGuardOptions) {
    if (!(Number.isFinite(opts.maxAgeMs) && opts.maxAgeMs > 0)) {
      throw new RangeError(`ReplayGuard: maxAgeMs must be a positive number, got ${opts.maxAgeMs}`);
    }
    this.maxAgeMs = opts.maxAgeMs;
    this.now = opts.now ?? Date.now;
    this.onAccept = opts.onAccept;
    this.reader = opts.reader ?? 'this host';
  }

  /** Ids accepted before a restart: they stay refused (their round claims do not: a redone round is answered anew). */
  restore(seen: Iterable<[string, number]>): void {
    for (const [id, createdAt] of seen) this.seen.set(id, createdAt);
  }

  /** Forgets every (site, round, kind) claim, keeping message ids: the peer restarted and asks anew. */
  releaseClaims(): void {
    this.claims.clear();
  }

  /** Throws ProtocolError if the message must be refused; otherwise records it as seen. */
  check(header: SealedHeader, expected: ReplayExpectation): void {
    const claimed = this.checkUnrecorded(header, expected);
    this.seen.set(header.messageId, header.createdAt);
    this.onAccept?.(header.messageId, header.createdAt);
    const slot = `${header.site}\u0000${header.kind}`;
    if (claimed) claimed.add(slot);
    else this.claims.set(header.round, new Set([slot]));
  }

  /**
   * check() without recording the message: for a message that must pass another check first
   * (a join's nonce) before its id is written down, on disk with a store. Returns its round's claims.
   */
  checkUnrecorded(header: SealedHeader, expected: ReplayExpectation): Set<string> | undefined {
    // A task (the end too) names the site it is for: it comes from the coordinator.
    const fromCoordinator = header.kind.startsWith('task-');
    const from = fromCoordinator ? `${header.kind} from the coordinator` : `${header.kind} from site ${JSON.stringify(header.site)}`;
    if (header.federation !== expected.federation) {
      throw new ProtocolError(
        `${from} is for federation ${JSON.stringify(header.federation)}, expected ${JSON.stringify(expected.federation)}`,
        'malformed',
      );
    }
    if (expected.kinds !== undefined && !expected.kinds.includes(header.kind)) {
      throw new ProtocolError(
        `${from} was not expected now (expecting ${expected.kinds.map((k) => JSON.stringify(k)).join(', ') || 'nothing'})`,
        'not-expected',
      );
    }
    if (expected.round !== undefined) {
      if (header.round !== expected.round) {
        throw new ProtocolError(`${from} is for round ${header.round}, expected round ${expected.round}`, 'stale-round');
      }
      this.forgetRoundsBefore(expected.round);
    }

    this.checkAge(header, from, fromCoordinator ? "the coordinator's" : `site ${JSON.stringify(header.site)}'s`);
    if (this.seen.has(header.messageId)) {
      throw new ProtocolError(`${from} reuses message id ${header.messageId}`, 'replay');
    }
    const slot = `${header.site}\u0000${header.kind}`;
    const claimed = this.claims.get(header.round);
    if (claimed?.has(slot)) {
      throw new ProtocolError(`${from} is a second ${header.kind} for round ${header.round}; only one is accepted`, 'replay');
    }
    return claimed;
  }

  /**
   * Frees the (site, round, kind) claim of a message whose payload then failed
   * to open (e.g. a chunk corrupted in transit), so the site may resend under a
   * new messageId. The old messageId stays refused.
   */
  release(header: SealedHeader): void {
    this.claims.get(header.round)?.delete(`${header.site}\u0000${header.kind}`);
  }

  /** Drops claims for rounds before `round`; called automatically when check() is given expected.round. */
  forgetRoundsBefore(round: number): void {
    if (round <= this.highestRound) return;
    this.highestRound = round;
    for (const r of this.claims.keys()) if (r < round) this.claims.delete(r);
  }

  /** What is being remembered, for metrics and tests. */
  get size(): { messageIds: number; claims: number } {
    let claims = 0;
    for (const s of this.claims.values()) claims += s.size;
    return { messageIds: this.seen.size, claims };
  }

  /**
   * createdAt within the window either side of now. Out of it, the host clocks may be the cause,
   * said in the words of the host that reads it (an outside try: a site 10 min ahead refused the
   * coordinator's first task and exited, naming no clock).
   */
  private checkAge(header: SealedHeader, from: string, sender: string): void {
    const now = this.now();
    this.sweep(now);
    const age = now - header.createdAt;
    const window = `${this.maxAgeMs} ms (${clockGap(this.maxAgeMs)})`;
    const setClocks = "set both hosts' clocks by NTP (timedatectl status says whether a host is synchronised)";
    if (age > this.maxAgeMs || header.createdAt < this.forgottenBefore) {
      throw new ClockRefusal(
        `${from} was created ${age} ms ago (${clockGap(age)}), older than the ${window} replay window: a message sent again, or ${this.reader}'s clock ahead of ${sender} by about that much: ${setClocks}`,
        header,
      );
    }
    if (-age > this.maxAgeMs) {
      throw new ClockRefusal(
        `${from} was created ${-age} ms in the future (${clockGap(age)}), beyond the ${window} clock-skew window: ${sender} clock is ahead of ${this.reader}'s by about that much: ${setClocks}`,
        header,
      );
    }
  }

  /** Full scan at most every quarter window: amortised O(1) per message. */
  private sweep(now: number): void {
    if (now - this.lastSweep < this.maxAgeMs / 4) return;
    this.lastSweep = now;
    const cutoff = now - this.maxAgeMs;
    this.forgottenBefore = Math.max(this.forgottenBefore, cutoff);
    for (const [id, createdAt] of this.seen) if (createdAt < cutoff) this.seen.delete(id);
  }
}

import { ProtocolError } from '../shared/errors.ts';
import { encodeFrame } from '../shared/protocol/frame.ts';
import { resultKind, taskKind, type ResultMeta, type TaskMeta } from '../shared/protocol/messages.ts';
import type { Logger } from '../shared/logger.ts';
import type { WireMessage } from '../shared/transport/types.ts';
import type { SiteDirectory } from './directory.ts';

/** The sealed kind of a site's acknowledgement of the end (a result with no weights). */
export const END_ACK_KIND = resultKind('end');

/** An acknowledgement is a frame of meta alone: room for it, nothing more. */
const ACK_PAYLOAD_BYTES = 4096;

/** Each site's sealed end message: `forSite` words it (the state's reason is one message for all). */
export function endMessages(e: {
  federation: string;
  round: number;
  outcome: NonNullable<TaskMeta['outcome']>;
  forSite: (site: string) => string;
  seal: (site: string, round: number, kind: string, payload: Uint8Array) => WireMessage;
}): (site: string) => WireMessage {
  return (site) => e.seal(site, e.round, taskKind('end'), encodeFrame({ federation: e.federation, round: e.round, kind: 'end', config: {}, weights: 0, message: e.forSite(site), outcome: e.outcome }));
}

/**
 * How the federation ended, for every site, including one that joins after the end: a site
 * that was restarting or reconnecting at that moment would otherwise retry for its
 * connectTimeoutSeconds against a coordinator that has gone and exit 1, which a supervisor
 * reads as a failure and restarts into the next run. Each site acknowledges the end, so the
 * coordinator knows which did not hear it (a send to a site killed a moment before goes
 * nowhere, and nothing says so at once).
 */
export class EndNotice {
  private readonly acked = new Set<string>();
  private changed: (() => void) | undefined;

  constructor(
    private readonly message: (site: string) => WireMessage,
    private readonly send: (site: string, msg: WireMessage) => Promise<void>,
  ) {}

  /** Sends `site` its end message; a site told again (it rejoined: a restart) acknowledges again. */
  async tell(site: string): Promise<void> {
    this.acked.delete(site);
    await this.send(site, this.message(site));
  }

  /** What the endpoint accepts from `site` now: its acknowledgement, until it came. */
  expectation(site: string, round: number): { round: number; kind: string; maxPayloadBytes: number } | undefined {
    return this.acked.has(site) ? undefined : { round, kind: END_ACK_KIND, maxPayloadBytes: ACK_PAYLOAD_BYTES };
  }

  /** A result `site` delivered after the end: only its acknowledgement counts (a round's result whose upload began before the end is refused). */
  deliver(site: string, meta: ResultMeta, release: () => void): void {
    release();
    if (meta.kind !== 'end') throw new ProtocolError(`a ${meta.kind} result from site "${site}" came after the federation ended`, 'not-expected');
    this.heard(site);
  }

  /** `site` acknowledged the end. */
  heard(site: string): void {
    this.acked.add(site);
    this.changed?.();
  }

  wasHeard(site: string): boolean {
    return this.acked.has(site);
  }

  /**
   * Waits, for the rest of its rejoin grace (`graceMs` from when it was last seen, as in a
   * round), for each site that was in the run lately and has not acknowledged the end: one
   * still connected, or one that went away as the end went out and may be back. Returns at
   * once when every such site heard it, and on `signal`. Which sites it waited for, and which
   * heard, is logged.
   */
  async awaitAway(directory: SiteDirectory, graceMs: number, log: Logger, signal?: AbortSignal): Promise<void> {
    const now = Date.now();
    const away = directory
      .states()
      .filter((s) => !this.acked.has(s.name) && !directory.isRevoked(s.name) && s.lastSeen !== null && (s.online || now - s.lastSeen < graceMs))
      .map((s) => ({ site: s.name, until: (s.online ? now : s.lastSeen!) + graceMs }));
    if (!away.length || signal?.aborted) return;
    const until = Math.max(...away.map((a) => a.until));
    const sites = away.map((a) => a.site);
    const waiting = () => sites.filter((s) => !this.acked.has(s));
    await new Promise<void>((done) => {
      let said = false;
      const finish = () => {
        clearTimeout(timer);
        clearTimeout(saying);
        this.changed = undefined;
        signal?.removeEventListener('abort', finish);
        const missed = waiting();
        // Not "not told": a site of an earlier build hears the end and never acknowledges it.
        if (missed.length && !signal?.aborted)
          log.warn('sites did not acknowledge the end before their grace ran out: away as it went out (one back later finds no coordinator), or of an earlier fedcausal build', { sites: missed });
        else if (said && !missed.length) log.info('every site away at the end came back and was told how the federation ended', { sites });
        done();
      };
      const timer = setTimeout(finish, until - now);
      // Said only if the wait is more than the moment a connected site takes to acknowledge.
      const saying = setTimeout(() => {
        said = true;
        log.warn('the federation ended while sites were away or had not acknowledged it (a site of an earlier fedcausal build never does); waiting for them to come back and hear how it ended', { sites: waiting(), seconds: Math.round((until - Date.now()) / 1000) });
      }, Math.min(1000, until - now));
      this.changed = () => {
        if (!waiting().length) finish();
      };
      this.changed();
      signal?.addEventListener('abort', finish, { once: true });
    });
  }
}

import { oneLine } from '../shared/text/one-line.ts';
import type { TransfersInFlight } from './transfers.ts';
import { ProtocolError } from '../shared/errors.ts';
import type { Logger } from '../shared/logger.ts';
import { crashPoint } from '../shared/crash-points.ts';
import { encodeFrame } from '../shared/protocol/frame.ts';
import { resultKind, taskKind, type ResultMeta, type TaskKind, type TaskMeta } from '../shared/protocol/messages.ts';
import type { WireMessage } from '../shared/transport/types.ts';
import { RoundCollector } from './collector.ts';
import type { SiteDirectory } from './directory.ts';
import type { Quorum } from './start-quorum.ts';
import type { Replay } from './update-clip.ts';
import { RejoinGrace } from './rejoin-grace.ts';

/** The most of a site's own failure text kept in a round's record and the logs. */
const SITE_ERROR_CHARS = 400;

export interface RoundExchangeOptions {
  federation: string;
  directory: SiteDirectory;
  quorum: Quorum;
  /** Seals a task for one site; `kind` is unique per round (task-stats-1, task-fit, task-end...) for replay checks. */
  seal: (site: string, round: number, kind: string, payload: Uint8Array) => WireMessage;
  log: Logger;
  /** Config scalars every task carries (merged into its own): the federation's protections, which a site holds to its floor (shared/privacy/task-privacy.ts). */
  declared?: Record<string, number>;
  /** Tasks being written now, for the status (transfers.ts). */
  transfers?: TransfersInFlight;
}

/** What the run asks of the exchange: whether it was stopped, how large a result may be, and its checks of one result. */
export interface ExchangeHooks {
  isStopped(): boolean;
  /** The most payload bytes a result of the round being collected may claim. */
  maxPayloadBytes(c: RoundCollector): number;
  /**
   * The run's checks of a result the round expects (its counts, a fit update's size), and
   * what it keeps of it; throws a ProtocolError to refuse it. Owns `release` once it returns.
   */
  admit(site: string, c: RoundCollector, meta: ResultMeta, replay: Replay, release: () => void): void;
}

/**
 * One round at a time between the coordinator and its sites: the task sent to each site
 * (and sent again when it reconnects), the results collected until the deadline, and the
 * endpoint's side of it (coordinator-service.ts's RoundGate: what is expected now, a
 * delivered or refused result, a site going offline). What a run does with the results
 * is round-loop.ts's.
 */
/** A revoked site's round failure: the operator revoked it (provision revoke-site); it is refused at every connection. */
export const REVOKED_REASON = 'its certificate is revoked (provision revoke-site): refused at every connection';

export class RoundExchange {
  private collector: RoundCollector | undefined;
  private readonly pending = new Map<string, WireMessage>();
  /** Sites a statistics or evaluation round still waits for after they went offline. */
  private readonly rejoin: RejoinGrace;

  constructor(
    private readonly o: RoundExchangeOptions,
    private readonly hooks: ExchangeHooks,
  ) {
    this.rejoin = new RejoinGrace(o.quorum.rejoinGraceMs, o.log);
  }

  /** The round being collected now (who was asked, who answered, its deadline), for /api/status. */
  get current(): RoundCollector | undefined {
    return this.collector;
  }

  expectation(site: string) {
    const c = this.collector;
    if (!c || !c.expects(site)) return undefined;
    return { round: c.round, kind: resultKind(c.kind, c.stage), maxPayloadBytes: this.hooks.maxPayloadBytes(c) };
  }

  connected(site: string): void {
    this.rejoin.cancel(site);
    const task = this.pending.get(site);
    if (task) void this.send(site, task);
  }

  reject(site: string, reason: string): void {
    this.collector?.fail(site, `update refused: ${reason}`);
    this.pending.delete(site);
  }

  disconnected(site: string): void {
    const c = this.collector;
    if (c && c.expects(site) && this.awaitRejoin(c, site, 'site went offline during the round')) return;
    c?.fail(site, 'site went offline during the round');
    // It rejoins at the next round; this round's task is no longer owed.
    this.pending.delete(site);
  }

  deliver(site: string, meta: ResultMeta, replay: Replay, release: () => void = () => {}): void {
    const c = this.collector;
    if (!c || !c.expects(site)) throw new ProtocolError(`no result expected from site "${site}" now`, 'not-expected');
    if (meta.kind !== c.kind) throw new ProtocolError(`expected a ${c.kind} result, got ${meta.kind}`, 'malformed');
    // Another round's result is never this one's (the endpoint refuses one that outlasted its round; this holds for any caller).
    if (meta.round !== c.round) throw new ProtocolError(`a ${meta.kind} result of round ${meta.round}, round ${c.round} is being collected`, 'stale-round');
    if (typeof meta.error === 'string') {
      // The site's own check failed (a non-finite loss or weights): it sat this round out.
      this.pending.delete(site);
      if (meta.withdraws === true) this.o.directory.markWithdrawn(site, `it withdrew from this run: ${oneLine(meta.error).slice(0, SITE_ERROR_CHARS)}`);
      // Bounded (a hostile site's text goes into the round record), but room for a refusal's remedy.
      // One line: it reaches logs, `status` on a terminal and the dashboard (a hostile site's ESC[2J and CR forged a status line).
      c.fail(site, `site reported a failure: ${oneLine(meta.error).slice(0, SITE_ERROR_CHARS)}`);
      release();
      return;
    }
    this.hooks.admit(site, c, meta, replay, release);
    this.pending.delete(site);
    c.resolve(site, meta);
    crashPoint(`result-${c.kind}`, c.round);
  }

  /** Ends the round being collected now (a stop): the run does not wait for its deadline. */
  abort(reason: string): void {
    this.collector?.abort(reason);
  }

  async send(site: string, task: WireMessage): Promise<void> {
    const sink = this.o.directory.sink(site);
    if (!sink) return; // delivered when the site (re)connects
    // Over a slow link a task takes minutes to write: the status says so, not that the site is working.
    const sent = this.o.transfers?.sendingTask(site, this.collector?.round ?? 0);
    try {
      await sink.send(task);
    } catch (e) {
      this.o.log.warn('could not send task', { site, error: (e as Error).message });
    } finally {
      sent?.();
    }
  }

  /** Sends round `round`'s `kind` task to `sites` and collects their answers until each has answered, failed or run out of time. */
  async run(
    round: number,
    kind: TaskKind,
    sites: string[],
    meta: Omit<TaskMeta, 'federation' | 'round' | 'kind' | 'weights'>,
    weights?: Float32Array,
  ): Promise<RoundCollector> {
    const config = { ...meta.config, ...this.o.declared };
    const payload = encodeFrame({ federation: this.o.federation, round, kind, weights: weights?.length ?? 0, ...meta, config }, weights);
    const online = this.o.directory.online();
    const c = new RoundCollector(round, kind, sites, this.o.quorum.roundDeadlineMs, meta.stage, (site) => this.o.transfers?.deadlineNote(site, round));
    this.collector = c;
    for (const s of sites) {
      const task = this.o.seal(s, round, taskKind(kind, meta.stage), payload);
      this.pending.set(s, task);
      if (online.includes(s)) void this.send(s, task);
      // A revoked site is refused at every connection: waiting for it only delays the round.
      else if (this.o.directory.isRevoked(s) || this.o.directory.withdrawal(s)) {
        this.pending.delete(s);
        c.fail(s, this.o.directory.withdrawal(s) ?? REVOKED_REASON);
      } else if (!this.awaitRejoin(c, s, () => this.o.directory.absentReason(s))) {
        this.pending.delete(s);
        c.fail(s, this.o.directory.absentReason(s));
      }
    }
    await c.finished;
    // Who failed and why, for /api/status and the event log (a stop's abort is not a site's failure).
    if (!this.hooks.isStopped())
      for (const f of c.failures.values()) {
        this.o.directory.recordFailure(f.site, c.round, f.reason);
        this.o.log.warn('round failure', { round: c.round, kind: c.kind, site: f.site, reason: f.reason });
      }
    this.collector = undefined;
    for (const s of sites) this.pending.delete(s);
    this.rejoin.clear();
    return c;
  }

  /** Gives an offline site of a statistics or evaluation round time to come back (rejoin-grace.ts). */
  private awaitRejoin(c: RoundCollector, site: string, reason: string | (() => string)): boolean {
    return this.rejoin.wait(c, site, reason, this.hooks.isStopped(), () => this.pending.delete(site));
  }
}

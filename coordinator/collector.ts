import type { ResultMeta, TaskKind } from '../shared/protocol/messages.ts';
import type { SiteFailure } from './strategy/strategy.ts';

/**
 * Gathers one round's answers. The round ends when every site asked has
 * answered or failed (went offline, sent a rejected update), or at the deadline;
 * failures are data, and the round loop decides whether the quorum held.
 */
export class RoundCollector {
  readonly results = new Map<string, ResultMeta>();
  readonly failures = new Map<string, SiteFailure>();
  private readonly waiting: Set<string>;
  private done!: () => void;
  readonly finished: Promise<void>;
  private timer: NodeJS.Timeout | undefined;
  /** When the round gives up on the sites that have not answered (epoch ms), for the dashboard's countdown. */
  readonly deadline: number;
  readonly sites: readonly string[];

  constructor(
    readonly round: number,
    readonly kind: TaskKind,
    sites: string[],
    deadlineMs: number,
    readonly stage?: number,
    /** What more a site's deadline failure should say (its result still arriving: transfers.ts). */
    deadlineNote: (site: string) => string | undefined = () => undefined,
  ) {
    this.waiting = new Set(sites);
    this.sites = [...sites];
    this.deadline = Date.now() + deadlineMs;
    this.finished = new Promise((resolve) => (this.done = resolve));
    this.timer = setTimeout(() => {
      for (const s of this.waiting) {
        const note = deadlineNote(s);
        this.failures.set(s, { site: s, reason: `no answer within the ${deadlineMs / 1000}s round deadline${note ? `: ${note}` : ''}` });
      }
      this.waiting.clear();
      this.close();
    }, deadlineMs);
    this.timer.unref();
    if (this.waiting.size === 0) this.close();
  }

  expects(site: string): boolean {
    return this.waiting.has(site);
  }

  resolve(site: string, meta: ResultMeta): void {
    if (!this.waiting.delete(site)) return;
    this.results.set(site, meta);
    if (this.waiting.size === 0) this.close();
  }

  fail(site: string, reason: string): void {
    if (!this.waiting.delete(site)) return;
    this.failures.set(site, { site, reason });
    if (this.waiting.size === 0) this.close();
  }

  /** Ends the round early (shutdown). */
  abort(reason: string): void {
    for (const s of this.waiting) this.failures.set(s, { site: s, reason });
    this.waiting.clear();
    this.close();
  }

  private close(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.done();
  }
}

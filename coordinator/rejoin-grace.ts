import type { Logger } from '../shared/logger.ts';
import type { RoundCollector } from './collector.ts';

/**
 * A statistics or final-evaluation round cannot do without a site as a training round
 * can (its sums or its held-out evaluation would be missing from the run): a site that
 * is offline keeps its task for a grace period, so a site its supervisor restarts
 * answers it. Training rounds fail such a site at once: the quorum carries them.
 */
export class RejoinGrace {
  private readonly timers = new Map<string, NodeJS.Timeout>();

  constructor(
    private readonly graceMs: number,
    private readonly log: Logger,
  ) {}

  /** Whether `site` is given time to come back; when the time runs out, `giveUp` runs and the site fails the round. */
  wait(c: RoundCollector, site: string, reason: string | (() => string), stopped: boolean, giveUp: () => void): boolean {
    const grace = this.graceMs;
    // A secure phase cannot wait either: a restarted site has lost its round keys.
    if (c.kind === 'fit' || c.kind === 'secagg' || grace <= 0 || stopped) return false;
    if (this.timers.has(site)) return true;
    const t = setTimeout(() => {
      this.timers.delete(site);
      giveUp();
      // Read when the grace runs out: a site refused as another release meanwhile is said so, not offline.
      c.fail(site, `${typeof reason === 'function' ? reason() : reason}, and was not back within ${grace / 1000}s`);
    }, grace);
    t.unref();
    this.timers.set(site, t);
    this.log.warn('waiting for a site to come back', { site, round: c.round, kind: c.kind, withinSeconds: grace / 1000 });
    return true;
  }

  /** The site is back. */
  cancel(site: string): void {
    clearTimeout(this.timers.get(site));
    this.timers.delete(site);
  }

  /** The round is over. */
  clear(): void {
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
  }
}

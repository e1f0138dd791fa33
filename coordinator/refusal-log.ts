/**
 * Logging of refused messages that an attacker cannot turn into a flood: what it sent is
 * quoted only as a bounded excerpt, and each refusal reason logs at most `perMinute` lines
 * a minute; the rest are counted and summed up in one line when the minute is over.
 */
import type { LogFields, Logger } from '../shared/logger.ts';
import { oneLine } from '../shared/text/one-line.ts';

/** Lines per refusal reason per minute (coordinator.yaml limits.refusalLogPerMinute). */
export const DEFAULT_REFUSAL_LOG_PER_MINUTE = 20;
/** The most characters of a refusal's message that reach a log, /api/status or a failure reason. */
export const REFUSAL_EXCERPT_CHARS = 300;
const WINDOW_MS = 60_000;

/** `text` on one line, at most `max` characters, saying how much was cut. */
export function excerpt(text: string, max = REFUSAL_EXCERPT_CHARS): string {
  // Control characters (newlines included) would let a sender forge log lines.
  const flat = oneLine(text);
  return flat.length <= max ? flat : `${flat.slice(0, max)}... (${flat.length - max} more characters)`;
}

/** The site an unverified header claims to be from, for the log only: bounded, one line; undefined if unreadable. */
export function claimedSite(header: Uint8Array): string | undefined {
  try {
    const site = (JSON.parse(new TextDecoder().decode(header)) as { site?: unknown }).site;
    return typeof site === 'string' ? oneLine(site.slice(0, 64)) : undefined;
  } catch {
    return undefined;
  }
}

interface Window {
  start: number;
  logged: number;
  suppressed: number;
  timer?: NodeJS.Timeout;
}

export class RefusalLog {
  private readonly windows = new Map<string, Window>();

  constructor(
    private readonly log: Logger,
    private readonly perMinute: number = DEFAULT_REFUSAL_LOG_PER_MINUTE,
    private readonly now: () => number = Date.now,
  ) {}

  /** Logs one refusal of `reason`, unless this reason already logged `perMinute` lines this minute. */
  refused(reason: string, fields: LogFields): void {
    const t = this.now();
    let w = this.windows.get(reason);
    if (w && t - w.start >= WINDOW_MS) {
      this.summarize(reason, w);
      w = undefined;
    }
    if (!w) this.windows.set(reason, (w = { start: t, logged: 0, suppressed: 0 }));
    if (w.logged < this.perMinute) {
      w.logged++;
      this.log.warn('message refused', fields);
      return;
    }
    if (w.suppressed++ === 0) {
      // The summary comes at the end of the minute even if no further refusal arrives.
      const win = w;
      win.timer = setTimeout(() => this.summarize(reason, win), Math.max(0, win.start + WINDOW_MS - t));
      win.timer.unref();
    }
  }

  /** Logs the pending summaries now (shutdown). */
  flush(): void {
    for (const [reason, w] of this.windows) this.summarize(reason, w);
  }

  private summarize(reason: string, w: Window): void {
    clearTimeout(w.timer);
    if (this.windows.get(reason) === w) this.windows.delete(reason);
    if (w.suppressed > 0)
      this.log.warn('more refusals not logged', { reason, count: w.suppressed, perMinute: this.perMinute, since: new Date(w.start).toISOString() });
    w.suppressed = 0;
  }
}

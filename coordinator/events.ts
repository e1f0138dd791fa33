import type { LogFields, Logger } from '../shared/logger.ts';

/** One line of the dashboard's event log. */
export type { FederationEvent } from '../shared/federation/dashboard-status.ts';
import type { FederationEvent } from '../shared/federation/dashboard-status.ts';

/** How many events /api/status carries: the newest, so a long run's status stays small. */
export const EVENT_LOG_SIZE = 200;
/**
 * How many of them may be routine round commits (the rounds table has every one): 200 commits
 * pushed a restart's disconnects and rejoins out of the log within seconds of a fast run (an
 * outside try), so the rest stays for what an operator looks for.
 */
export const ROUND_EVENTS_KEPT = 20;

/**
 * A bounded in-memory log of what an operator wants to see happen (joins, drops, refusals
 * with reasons, failed sites, state changes). Fed from the coordinator's own log lines
 * (`tapEvents`), so the places that already log need no second call.
 */
export class EventLog {
  private readonly items: FederationEvent[] = [];
  constructor(
    private readonly size = EVENT_LOG_SIZE,
    private readonly roundsKept = ROUND_EVENTS_KEPT,
  ) {}

  add(e: Omit<FederationEvent, 'at'>, at = new Date()): void {
    this.items.push({ at: at.toISOString(), ...e });
    if (e.kind === 'round' && this.items.filter((x) => x.kind === 'round').length > this.roundsKept) this.items.splice(this.items.findIndex((x) => x.kind === 'round'), 1);
    if (this.items.length > this.size) this.items.splice(0, this.items.length - this.size);
  }

  /** Oldest first. */
  list(): FederationEvent[] {
    return [...this.items];
  }
}

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);

const ROUTINE_STATES = new Set(['training', 'aggregating', 'committed']);

/** The event a log line stands for, or undefined for lines the operator's log does not need. */
export function eventOf(level: 'info' | 'warn' | 'error', message: string, f: LogFields = {}): Omit<FederationEvent, 'at'> | undefined {
  const site = str(f.site);
  const round = num(f.round);
  const base = { ...(site ? { site } : {}), ...(round !== undefined ? { round } : {}) };
  switch (message) {
    case 'site joined':
      return { kind: 'join', ...base, message: `${site} joined` };
    case 'site disconnected':
      return { kind: 'drop', ...base, message: `${site} disconnected` };
    case 'site left':
      return { kind: 'leave', ...base, message: `${site} left` };
    case 'message refused':
      return { kind: 'refusal', ...base, message: `message from ${site ?? 'an unverified peer'} refused: ${str(f.error) ?? ''}`.trim(), reason: str(f.reason) };
    case 'round failure': {
      const what = f.kind === 'evaluate' ? 'the final evaluation' : f.kind === 'stats' ? `statistics round ${round}` : `round ${round}`;
      return { kind: 'failure', ...base, message: `${site} failed ${what}`, reason: str(f.reason) };
    }
    case 'round committed':
      return { kind: 'round', ...base, message: `round ${round} committed: ${num(f.participants) ?? '?'} sites, ${num(f.failures) ?? 0} failed` };
    case 'federation state':
      // Each round passes training -> aggregating -> committed; 'round committed' says it once.
      return ROUTINE_STATES.has(str(f.state) ?? '') ? undefined : { kind: 'state', ...base, message: `state ${str(f.state)}` };
    default:
      if (level === 'info') return undefined;
      return { kind: level === 'error' ? 'error' : 'warning', ...base, message: site && !message.includes(site) ? `${message} (${site})` : message };
  }
}

/** `log`, also writing the lines `eventOf` recognizes into `events` (children included). */
export function tapEvents(log: Logger, events: EventLog): Logger {
  const record = (level: 'info' | 'warn' | 'error', message: string, fields?: LogFields) => {
    const e = eventOf(level, message, fields);
    if (e) events.add(e);
  };
  return {
    debug: (m, f) => log.debug(m, f),
    info: (m, f) => (record('info', m, f), log.info(m, f)),
    warn: (m, f) => (record('warn', m, f), log.warn(m, f)),
    error: (m, f) => (record('error', m, f), log.error(m, f)),
    child: (fields) => tapEvents(log.child(fields), events),
  };
}

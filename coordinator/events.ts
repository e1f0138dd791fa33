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
  /** How many of `items` are round commits. */
  private rounds = 0;
  constructor(
    private readonly size = EVENT_LOG_SIZE,
    private readonly roundsKept = ROUND_EVENTS_KEPT,
  ) {}

  add(e: Omit<FederationEvent, 'at'>, at = new Date()): void {
    this.items.push({ at: at.toISOString(), ...e });
    if (e.kind === 'round' && ++this.rounds > this.roundsKept) this.drop(this.items.findIndex((x) => x.kind === 'round'));
    while (this.items.length > this.size) this.drop(0);
  }

  private drop(i: number): void {
    if (this.items.splice(i, 1)[0]!.kind === 'round') this.rounds--;
  }

  /** Oldest first. */
  list(): FederationEvent[] {
    return [...this.items];
  }
}

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);

const ROUTINE_STATES = new Set(['training', 'aggregating', 'committed']);

type Event = Omit<FederationEvent, 'at'>;
/** What every event of a line carries: its site and round, where the line names them. */
type Base = { site?: string; round?: number };

const roundWhat = (f: LogFields, round: number | undefined): string => (f.kind === 'evaluate' ? 'the final evaluation' : f.kind === 'stats' ? `statistics round ${round}` : `round ${round}`);

/** The log lines that are events, by message: each one's wording. */
const EVENTS: Record<string, (f: LogFields, base: Base) => Event | undefined> = {
  'site joined': (_, b) => ({ kind: 'join', ...b, message: `${b.site} joined` }),
  'site disconnected': (_, b) => ({ kind: 'drop', ...b, message: `${b.site} disconnected` }),
  'site left': (_, b) => ({ kind: 'leave', ...b, message: `${b.site} left` }),
  'message refused': (f, b) => ({ kind: 'refusal', ...b, message: `message from ${b.site ?? 'an unverified peer'} refused: ${str(f.error) ?? ''}`.trim(), reason: str(f.reason) }),
  'round failure': (f, b) => ({ kind: 'failure', ...b, message: `${b.site} failed ${roundWhat(f, b.round)}`, reason: str(f.reason) }),
  'round committed': (f, b) => ({ kind: 'round', ...b, message: `round ${b.round} committed: ${num(f.participants) ?? '?'} sites, ${num(f.failures) ?? 0} failed` }),
  // Each round passes training -> aggregating -> committed; 'round committed' says it once.
  'federation state': (f, b) => (ROUTINE_STATES.has(str(f.state) ?? '') ? undefined : { kind: 'state', ...b, message: `state ${str(f.state)}` }),
};

/** The event a log line stands for, or undefined for lines the operator's log does not need. */
export function eventOf(level: 'info' | 'warn' | 'error', message: string, f: LogFields = {}): Event | undefined {
  const site = str(f.site);
  const round = num(f.round);
  const base: Base = { ...(site ? { site } : {}), ...(round !== undefined ? { round } : {}) };
  const known = Object.hasOwn(EVENTS, message) ? EVENTS[message]! : undefined;
  if (known) return known(f, base);
  if (level === 'info') return undefined;
  return { kind: level === 'error' ? 'error' : 'warning', ...base, message: site && !message.includes(site) ? `${message} (${site})` : message };
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

/**
 * The federation's lifecycle, declared once: its states, the moves between them, and
 * the one object that changes state (the coordinator's round loop owns it). Here in
 * shared/ because /api/status carries the state and its clients (`fedcausal status`,
 * the dashboard) read it. The names are in logs and crash points (`FEDCAUSAL_CRASH_AT`),
 * which outside scripts and the fault tests key on: keep them.
 */

export const FEDERATION_STATES = [
  /** Before the start quorum is online (and while resuming, before the first round), and before a training round whose quorum is not online. */
  'waiting-for-sites',
  /** The statistics rounds: feature scaling, pattern prior, debiasing decision. */
  'stats',
  /** A fit round's tasks are out; answers are being collected. */
  'training',
  /** The strategy is deciding on and combining the round's answers. */
  'aggregating',
  /** The round is saved: a restart resumes after it. */
  'committed',
  /** The final evaluation at every site. */
  'evaluating',
  /** The run ended and its report is written (complete or incomplete: the report says which). */
  'finished',
  /** The run cannot go on (a statistics round without quorum, no start quorum, an error). */
  'failed',
  /** Stopped on request (SIGTERM): a pause, the durable state resumes it. */
  'stopped',
] as const;

export type FederationState = (typeof FEDERATION_STATES)[number];

/** States nothing leaves: the coordinator is done with this run (or this process). */
export const TERMINAL_STATES: readonly FederationState[] = ['finished', 'failed', 'stopped'];

const ENDINGS = ['failed', 'stopped'] as const;

/**
 * Every legal move. A resumed run goes from waiting straight to training (its setup is
 * saved) or to the final evaluation (every round was committed before the restart).
 */
export const TRANSITIONS: Readonly<Record<FederationState, readonly FederationState[]>> = {
  'waiting-for-sites': ['stats', 'training', 'evaluating', ...ENDINGS],
  stats: ['training', 'waiting-for-sites', 'evaluating', ...ENDINGS],
  training: ['aggregating', ...ENDINGS],
  aggregating: ['committed', ...ENDINGS],
  committed: ['training', 'waiting-for-sites', 'evaluating', ...ENDINGS],
  evaluating: ['finished', ...ENDINGS],
  finished: [],
  failed: [],
  stopped: [],
};

export function isTerminal(s: FederationState): boolean {
  return TERMINAL_STATES.includes(s);
}

export function isFederationState(s: unknown): s is FederationState {
  return (FEDERATION_STATES as readonly unknown[]).includes(s);
}

/** One change of state: when, in which round, and why. */
export interface Transition {
  from: FederationState;
  to: FederationState;
  round: number;
  reason: string;
  /** ISO 8601. */
  at: string;
}

/** A move the table does not allow: a bug in the caller, never a site's doing. */
export class IllegalTransitionError extends Error {
  constructor(
    readonly from: FederationState,
    readonly to: FederationState,
  ) {
    super(`illegal federation state transition ${from} -> ${to} (allowed from ${from}: ${TRANSITIONS[from].join(', ') || 'none'})`);
    this.name = 'IllegalTransitionError';
  }
}

/** Transitions kept for /api/status: enough to see how a run got where it is, bounded for long runs. */
const KEEP = 32;

export class FederationStateMachine {
  private state: FederationState = 'waiting-for-sites';
  private readonly log: Transition[] = [];

  /** `onTransition` runs after each change (logging, metrics, fault points). */
  constructor(private readonly onTransition?: (t: Transition) => void) {}

  get current(): FederationState {
    return this.state;
  }

  get terminal(): boolean {
    return isTerminal(this.state);
  }

  /** The most recent transitions, oldest first. */
  get recent(): readonly Transition[] {
    return this.log;
  }

  get last(): Transition | undefined {
    return this.log.at(-1);
  }

  /** Moves to `to`; throws IllegalTransitionError (and changes nothing) when the table does not allow it. */
  transition(to: FederationState, round: number, reason: string): Transition {
    if (!TRANSITIONS[this.state].includes(to)) throw new IllegalTransitionError(this.state, to);
    const t: Transition = { from: this.state, to, round, reason, at: new Date().toISOString() };
    this.state = to;
    this.keep(t);
    this.onTransition?.(t);
    return t;
  }

  /**
   * Says why the current state holds, where it was entered without one: the first wait for
   * sites (the machine starts in it) learns what it waits for only once the run has read its
   * sites and quorum. Kept as a transition to the same state, so /api/status shows the reason;
   * `onTransition` does not run (nothing changed).
   */
  explain(round: number, reason: string): Transition {
    return this.keep({ from: this.state, to: this.state, round, reason, at: new Date().toISOString() });
  }

  private keep(t: Transition): Transition {
    this.log.push(t);
    if (this.log.length > KEEP) this.log.shift();
    return t;
  }
}

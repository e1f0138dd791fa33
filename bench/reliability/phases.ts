/**
 * Bringing a real federation to a phase of the coordinator's round machine, so that a
 * fault (kill -9, SIGTERM, a partition) lands in that phase and not in whichever one a
 * fast machine happens to be in. Most phases last milliseconds with small models, so a
 * site is frozen (SIGSTOP) where its answer would end the phase; it is thawed (SIGCONT)
 * by `release`, within seconds, before the 10 s keepalive could drop it.
 */
import type { FederationOptions, RoleProcess, TestFederation } from '../../tests/e2e/helpers/federation.ts';
import { until, withFederation } from '../../tests/e2e/helpers/federation.ts';

export const PHASES = ['waiting', 'statistics', 'collecting', 'aggregating', 'evaluating'] as const;
export type Phase = (typeof PHASES)[number];

/** The fault runs' sites: three hospitals, so the default quorum (2 of 3) survives one loss. */
export const SITES = ['cleveland', 'hungary', 'va'];
/** The largest site: it trains longest, so freezing it before it answers is not a race. */
export const VICTIM = 'cleveland';
export const ROUNDS = 3;
/**
 * Results a site sends before its first update that /api/status's roundsCompleted counts:
 * none since it counts training rounds only (it counted the statistics stage once, and the
 * aggregating and evaluating faults then waited for a round too many: "phase missed").
 */
const STATS_STAGES = 0;

/** What the coordinator is doing in each phase, as the report words it. */
export const PHASE_TEXT: Record<Phase, string> = {
  waiting: 'the coordinator waits for the other sites (before the first round)',
  statistics: 'the statistics round waits on its answer',
  collecting: 'it trains round 2 (its update not yet sent)',
  aggregating: 'its round-2 update is in and the round has not closed (idle, as a site is while the coordinator aggregates)',
  evaluating: 'the final evaluation waits on its answer',
};

/**
 * Settings of a fault run: three sites, three short rounds, and timeouts cut from the
 * defaults' 10 minutes to seconds (start 20 s, round deadline 30 s, site reconnect window
 * 15 s), so a run that is stuck ends within the report's time.
 */
export function faultRun(quorum: FederationOptions['quorum'] = {}, extra: Partial<FederationOptions> = {}): FederationOptions {
  return {
    sites: SITES,
    rounds: ROUNDS,
    model: { kind: 'baseline', localEpochs: 5 },
    quorum: { startTimeoutSeconds: 20, roundDeadlineSeconds: 30, ...quorum },
    hardTimeoutMs: 180_000,
    ...extra,
  };
}

/** `withFederation`, returning what the body returns. */
export async function inFederation<T>(opts: FederationOptions, body: (fed: TestFederation) => Promise<T>): Promise<T> {
  let out: T | undefined;
  await withFederation(opts, async (fed) => {
    out = await body(fed);
  });
  return out as T;
}

export interface AtPhase {
  coordinator: RoleProcess;
  /** Every site process started so far (release may start more). */
  sites: Map<string, RoleProcess>;
  /** Lets the federation go on: starts the sites not started yet, thaws the frozen ones. */
  release(): void;
}

/**
 * Starts the federation's coordinator and sites and returns once `phase` holds, held
 * open by the site `hold` where it would otherwise pass at once:
 * - waiting: the coordinator and `hold` only; release starts the others.
 * - statistics: `hold` joined, then frozen; the others joined, so the statistics round waits on it.
 * - collecting: round 2's task sent and `hold` frozen before it answered.
 * - aggregating: `hold`'s round-2 update accepted, the others frozen so the round stays
 *   open. With `coordinatorPhase`, instead the moment the coordinator logs 'aggregating'
 *   (the phase lasts milliseconds: a signal sent then lands in it or just after).
 * - evaluating: the final evaluation sent and `hold` frozen before it answered.
 * Throws if the phase was missed (e.g. `hold` answered before it was frozen).
 */
export async function reachPhase(fed: TestFederation, phase: Phase, hold: string, opts: { coordinatorPhase?: boolean } = {}): Promise<AtPhase> {
  const coordinator = await fed.startCoordinator();
  const sites = new Map<string, RoleProcess>();
  const start = (name: string) => sites.set(name, fed.startSite(name));
  const others = fed.opts.sites.filter((s) => s !== hold);
  const signal = (names: string[], sig: NodeJS.Signals) => () => names.forEach((n) => sites.get(n)?.kill(sig));
  const state = (s: string, round?: number) =>
    coordinator.waitForLog((l) => l.message === 'federation state' && l.state === s && (round === undefined || l.round === round), 120_000, `state ${s}${round ? ` of round ${round}` : ''}`);
  const status = async () => {
    const st = await fed.status();
    return { round: st.round, state: st.state, answers: st.sites.find((s) => s.name === hold)?.roundsCompleted ?? 0 };
  };
  const joined = async () => {
    start(hold);
    await fed.waitSiteOnline(hold, true, 60_000, sites.get(hold));
  };

  if (phase === 'waiting') {
    await joined();
    return { coordinator, sites, release: () => others.forEach(start) };
  }
  if (phase === 'statistics') {
    await joined();
    signal([hold], 'SIGSTOP')();
    others.forEach(start);
    await state('stats');
    return { coordinator, sites, release: signal([hold], 'SIGCONT') };
  }
  fed.opts.sites.forEach(start);
  if (phase === 'aggregating' && opts.coordinatorPhase) {
    await state('aggregating', 2);
    return { coordinator, sites, release: () => {} };
  }
  const round = phase === 'evaluating' ? fed.opts.rounds : 2;
  await state('training', round);
  if (phase === 'collecting') {
    signal([hold], 'SIGSTOP')();
    const s = await status();
    if (s.answers >= STATS_STAGES + round) throw new Error(`phase missed: ${hold} had already answered round ${round} when it was frozen`);
    return { coordinator, sites, release: signal([hold], 'SIGCONT') };
  }
  // aggregating (site side) and evaluating: hold's update of the round goes in while the others are frozen.
  signal(others, 'SIGSTOP')();
  const s = await until(
    async () => {
      const now = await status();
      return now.answers >= STATS_STAGES + round ? now : undefined;
    },
    30_000,
    `${hold}'s round-${round} update`,
  );
  if (s.round !== round || s.state !== 'training') throw new Error(`phase missed: round ${round} closed (now round ${s.round}, ${s.state}) before ${hold}'s update was counted`);
  if (phase === 'aggregating') return { coordinator, sites, release: signal(others, 'SIGCONT') };
  signal([hold], 'SIGSTOP')();
  signal(others, 'SIGCONT')();
  await state('evaluating');
  return { coordinator, sites, release: signal([hold], 'SIGCONT') };
}

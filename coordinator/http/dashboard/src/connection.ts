/**
 * What the page can say about the coordinator, from the last poll and what it saw before:
 * live, finished (the status said so, or it stopped answering after saying so), unreachable
 * (then nothing it showed is current), or a token is needed.
 */
import type { Poll } from './api.ts';
import type { FederationStatus } from './types.ts';

export type Connection =
  | { kind: 'connecting' }
  | { kind: 'live'; at: number }
  | { kind: 'finished'; at: number; serving: boolean; state: string; outcome?: string }
  | { kind: 'unreachable'; since: number; error: string; lastOk: number | null }
  | { kind: 'unauthorized'; hadToken: boolean };

/** Coordinator states after which no round will run. */
export const FINAL_STATES = new Set(['finished', 'done', 'failed', 'stopped']);

export function isFinal(s: FederationStatus | undefined): boolean {
  return !!s && FINAL_STATES.has(s.state);
}

export function nextConnection(prev: Connection, poll: Poll, last: FederationStatus | undefined, now: number): Connection {
  switch (poll.kind) {
    case 'ok':
      return isFinal(poll.status) ? { kind: 'finished', at: now, serving: true, ...ending(poll.status) } : { kind: 'live', at: now };
    case 'unauthorized':
      return { kind: 'unauthorized', hadToken: poll.hadToken };
    case 'unreachable': {
      // A coordinator that said it finished and then went away ended normally: say so, not "unreachable".
      if (isFinal(last)) return { kind: 'finished', at: prev.kind === 'finished' ? prev.at : now, serving: false, ...ending(last!) };
      const lastOk = prev.kind === 'live' ? prev.at : prev.kind === 'unreachable' ? prev.lastOk : null;
      return { kind: 'unreachable', since: prev.kind === 'unreachable' ? prev.since : now, error: poll.error, lastOk };
    }
  }
}

/** The state, and how the run ended once it did (a run that ended incomplete is "finished" too). */
function ending(s: FederationStatus): { state: string; outcome?: string } {
  return { state: s.state, ...(s.outcome ? { outcome: s.outcome } : {}) };
}

export function describe(c: Connection): { text: string; cls: 'ok' | 'bad' | 'done' | 'wait' } {
  const time = (t: number) => new Date(t).toLocaleTimeString();
  switch (c.kind) {
    case 'connecting':
      return { text: 'connecting…', cls: 'wait' };
    case 'live':
      return { text: `live · updated ${time(c.at)}`, cls: 'ok' };
    case 'finished': {
      // An incomplete or failed run must not read as a success (an outside try: "run finished (finished)").
      const how = c.outcome ?? c.state;
      const cls = c.outcome === 'incomplete' || c.state === 'failed' ? 'bad' : 'done';
      return c.serving
        ? { text: `run finished (${how}) · the coordinator still serves its results`, cls }
        : { text: `run finished (${how}) · the coordinator has stopped; showing its last status`, cls };
    }
    case 'unreachable':
      return {
        text: `coordinator unreachable since ${time(c.since)} (${c.error})${c.lastOk ? ` · last answer ${time(c.lastOk)}` : ''} · what is shown below is not current`,
        cls: 'bad',
      };
    case 'unauthorized':
      return {
        text: c.hadToken
          ? 'token refused (HTTP 401): open the dashboard again with a valid #token=… from the coordinator kit'
          : 'token required (HTTP 401): open this page as …/#token=TOKEN, with the token from the coordinator kit',
        cls: 'bad',
      };
  }
}

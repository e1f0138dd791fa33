/**
 * What a run did, read from outside as an operator would: each process's exit code
 * (or signal) and how long it took to go, the one-line reason the CLI printed, and the
 * coordinator's results file (complete, problems, accepted rounds) where it wrote one.
 */
import type { ResultsFile } from '../../cli/results.ts';
import type { RoleProcess, TestFederation } from '../../tests/e2e/helpers/federation.ts';
import { within } from '../../tests/e2e/helpers/wait.ts';
import type { Observed } from './scenario.ts';

export interface ExitFact {
  name: string;
  code: number | null;
  signal: string | null;
  /** Milliseconds from the fault (or the start) to the exit; null if it had not exited. */
  ms: number | null;
  /** The CLI's one-line reason on stderr ("fedcausal site: ..."), if it printed one. */
  reason?: string;
}

export interface RunFacts {
  rounds: number;
  coordinator: ExitFact;
  sites: ExitFact[];
  /** Rounds the coordinator logged as committed (accepted or not). */
  committed: number;
  results?: {
    complete: boolean;
    problems: string[];
    accepted: number;
    /** Per round: participants, and who failed and why. */
    history: { round: number; participants: number; accepted: boolean; failed: { site: string; reason: string }[] }[];
  };
}

/** The last line a `fedcausal` command printed as its reason for exiting. */
export function cliReason(p: RoleProcess): string | undefined {
  return [...p.otherStderr].reverse().find((l) => l.startsWith('fedcausal '));
}

/** Waits up to `timeoutMs` for `p` to exit (killing it after that) and says how it went. */
export async function exitOf(p: RoleProcess, timeoutMs: number, since: number): Promise<ExitFact> {
  const done = await within(p.exited, timeoutMs, `${p.name} to exit`).catch(() => undefined);
  if (!done) p.kill('SIGKILL');
  const reason = cliReason(p);
  return {
    name: p.name,
    code: done ? done.code : null,
    signal: done ? done.signal : 'still running',
    ms: done && p.exitedAt !== undefined ? p.exitedAt - since : null,
    ...(reason ? { reason } : {}),
  };
}

/** Waits for every process of the run to end and gathers the facts. */
export async function settle(fed: TestFederation, coordinator: RoleProcess, sites: RoleProcess[], timeoutMs: number, since: number): Promise<RunFacts> {
  const [c, ...s] = await Promise.all([coordinator, ...sites].map((p) => exitOf(p, timeoutMs, since)));
  const facts: RunFacts = {
    rounds: fed.opts.rounds,
    coordinator: c!,
    sites: s,
    committed: coordinator.logs.filter((l) => l.message === 'round committed').length,
  };
  if (/results: /.test(coordinator.stdout)) {
    const r = fed.results<ResultsFile>(coordinator);
    facts.results = {
      complete: r.complete,
      problems: r.problems ?? [],
      accepted: r.history.filter((h) => h.accepted).length,
      history: r.history.map((h) => ({ round: h.round, participants: h.participants, accepted: h.accepted, failed: h.failed })),
    };
  }
  return facts;
}

/**
 * Rounds not accepted or not run. Without a results file (a stopped or lost coordinator)
 * the rounds it committed are in its state file and a restart resumes from them: the
 * rest are lost.
 */
export function roundsLost(f: RunFacts): NonNullable<Observed['roundsLost']> {
  if (f.results) return { lost: f.rounds - f.results.accepted, of: f.rounds };
  return { lost: f.rounds - f.committed, of: f.rounds, note: `no results written; ${f.committed} committed to the state file, which a restart resumes from` };
}

const clip = (s: string, n = 220) => (s.length > n ? `${s.slice(0, n - 1)}…` : s);

/** "exit 1 after 2.3 s" / "SIGKILL" / "still running after the wait". */
export function exitText(e: ExitFact): string {
  if (e.signal === 'still running') return 'still running (killed by the harness)';
  const how = e.code !== null ? `exit ${e.code}` : `${e.signal}`;
  return e.ms !== null ? `${how} after ${(e.ms / 1000).toFixed(1)} s` : how;
}

/** Drops the command prefix of a CLI reason ("fedcausal site: "), leaving the message itself. */
export const reasonText = (reason: string | undefined): string => (reason ?? '').replace(/^fedcausal [\w-]+: /, '');

/** A sentence for the report: how each process ended and what the results say. */
export function describeRun(f: RunFacts): string {
  const c = f.coordinator;
  const parts = [`coordinator ${exitText(c)}${c.reason ? ` ("${clip(reasonText(c.reason))}")` : ''}`];
  parts.push(`sites: ${f.sites.map((s) => `${s.name.replace(/^site /, '')} ${exitText(s).replace(/ after .*/, '')}`).join(', ')}`);
  if (f.results) {
    const failed = f.results.history.flatMap((h) => h.failed.map((x) => `r${h.round} ${x.site}: ${clip(x.reason, 80)}`));
    parts.push(`${f.results.accepted} of ${f.rounds} rounds accepted${failed.length ? ` (failures: ${failed.join('; ')})` : ''}`);
    parts.push(`results complete: ${f.results.complete}`);
  } else parts.push(`no results file (${f.committed} rounds committed)`);
  return parts.join('; ');
}

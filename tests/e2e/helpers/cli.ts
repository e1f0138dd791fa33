/** Runs `node bin/fedcausal.js ...` as a child process, as a user would, with a hard timeout. */
import { execFile } from 'node:child_process';
import { BIN, REPO } from './federation.ts';

export interface CliRun {
  /** Exit code; null if it was killed (e.g. by the timeout). */
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** stderr lines that are not JSON log lines: where the one-line reason of a failure goes. */
  messages: string[];
}

export function runCli(args: string[], timeoutMs = 60_000): Promise<CliRun> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [BIN, ...args],
      { cwd: REPO, env: { ...process.env, FEDCAUSAL_LOG: 'json' }, timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: 64 * 1024 * 1024 },
      (err, stdout, stderr) => {
        const e = err as (Error & { code?: number | string; signal?: NodeJS.Signals }) | null;
        const messages = stderr.split('\n').filter((l) => l.trim() !== '' && !l.startsWith('{'));
        resolve({
          code: e ? (typeof e.code === 'number' ? e.code : null) : 0,
          signal: e?.signal ?? null,
          stdout,
          stderr,
          messages,
        });
      },
    );
  });
}

/** A readable summary of a run, for assertion messages. */
export function describeRun(r: CliRun): string {
  return `exit ${r.code}${r.signal ? ` (signal ${r.signal})` : ''}\nstdout: ${r.stdout.slice(-2000)}\nstderr: ${r.stderr.slice(-2000)}`;
}

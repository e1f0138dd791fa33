// One `fedcausal` child process of an end-to-end test, with its parsed JSON log lines.
import type { ChildProcess } from 'node:child_process';
import { within } from './wait.ts';

export interface LogLine {
  level: string;
  message: string;
  [field: string]: unknown;
}


/** One `fedcausal` child process with its collected output. */
export class RoleProcess {
  readonly logs: LogLine[] = [];
  /** stderr lines that were not JSON (e.g. the CLI's one-line error), and all of stdout. */
  readonly otherStderr: string[] = [];
  stdout = '';
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** When it exited (Date.now()), for how long a signal took to end it. */
  exitedAt: number | undefined;
  private readonly waiters = new Set<{ pred: (l: LogLine) => boolean; resolve: (l: LogLine) => void }>();
  private buf = '';

  constructor(
    readonly name: string,
    readonly child: ChildProcess,
  ) {
    this.exited = new Promise((r) =>
      child.once('exit', (code, signal) => {
        this.exitedAt = Date.now();
        r({ code, signal });
      }),
    );
    child.stdout!.setEncoding('utf8').on('data', (s: string) => (this.stdout += s));
    child.stderr!.setEncoding('utf8').on('data', (s: string) => this.onStderr(s));
  }

  get alive(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  private onStderr(s: string): void {
    this.buf += s;
    const lines = this.buf.split('\n');
    this.buf = lines.pop()!;
    for (const l of lines) {
      if (!l.trim()) continue;
      let e: LogLine;
      try {
        e = JSON.parse(l) as LogLine;
      } catch {
        this.otherStderr.push(l);
        continue;
      }
      this.logs.push(e);
      for (const w of this.waiters)
        if (w.pred(e)) {
          this.waiters.delete(w);
          w.resolve(e);
        }
    }
  }

  /** The first log line (already seen or still to come) matching `pred`; fails if the process exits first. */
  waitForLog(pred: (l: LogLine) => boolean, timeoutMs: number, what: string): Promise<LogLine> {
    const seen = this.logs.find(pred);
    if (seen) return Promise.resolve(seen);
    let waiter!: { pred: (l: LogLine) => boolean; resolve: (l: LogLine) => void };
    const found = new Promise<LogLine>((resolve) => this.waiters.add((waiter = { pred, resolve })));
    const died = this.exited.then(({ code, signal }) => {
      // The line may have been the process's last words: stderr can drain after 'exit'.
      const late = this.logs.find(pred);
      if (late) return late;
      throw new Error(`${this.name} exited (code ${code}, signal ${signal}) before logging ${what}`);
    });
    return within(Promise.race([found, died]), timeoutMs, `${this.name} to log ${what}`).finally(() => this.waiters.delete(waiter));
  }

  /** Resolves with the exit code; fails after `timeoutMs`. */
  async exitCode(timeoutMs: number): Promise<number | null> {
    return (await within(this.exited, timeoutMs, `${this.name} to exit`)).code;
  }

  kill(signal: NodeJS.Signals = 'SIGTERM'): void {
    if (this.alive) this.child.kill(signal);
  }

  /** The last lines of its output, for failure messages. */
  tail(n = 25): string {
    const lines = [...this.logs.map((l) => JSON.stringify(l)), ...this.otherStderr].slice(-n);
    return `--- ${this.name} (${this.alive ? 'running' : `exit ${this.child.exitCode ?? this.child.signalCode}`}) ---\n${lines.join('\n')}\n${this.stdout ? `stdout: ${this.stdout}` : ''}`;
  }
}

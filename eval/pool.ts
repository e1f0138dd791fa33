/**
 * Runs simulations in child processes (worker.ts), `size` at a time. tfjs trains on
 * one thread per process, so on a two-core machine two children halve the wall time
 * where one in-process run could not. Jobs queue in the order given; each finished
 * job prints a progress line.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { JobReply, SimJob, SimOutcome } from './jobs.ts';

const WORKER = fileURLToPath(new URL('./worker.ts', import.meta.url));

interface Pending {
  id: number;
  job: SimJob;
  resolve: (o: SimOutcome) => void;
  reject: (e: Error) => void;
}

interface Slot {
  child: ChildProcess;
  busy?: Pending;
  /** Live tensors after this worker's first run, to notice a leak across runs. */
  baseTensors?: number;
  warned?: boolean;
}

/** Live tensors a worker may gain over its first run before the pool warns of a leak. */
const LEAK_WARNING = 10_000;

export interface PoolOptions {
  size: number;
  /** Where progress lines go (default: stdout). */
  progress?: (line: string) => void;
}

export function formatElapsed(seconds: number): string {
  const s = Math.round(seconds);
  const m = Math.floor(s / 60);
  return m > 0 ? `${m}m${String(s % 60).padStart(2, '0')}s` : `${s}s`;
}

export class SimulationPool {
  private readonly slots: Slot[] = [];
  private readonly queue: Pending[] = [];
  private nextId = 1;
  private done = 0;
  private total = 0;
  private closed = false;
  private readonly t0 = performance.now();
  private readonly progress: (line: string) => void;

  constructor(private readonly opts: PoolOptions) {
    if (!Number.isInteger(opts.size) || opts.size < 1) throw new Error(`pool size must be a positive integer, got ${opts.size}`);
    this.progress = opts.progress ?? ((l) => void process.stdout.write(l + '\n'));
  }

  /** Seconds since the pool was made. */
  elapsed(): number {
    return (performance.now() - this.t0) / 1000;
  }

  run(job: SimJob): Promise<SimOutcome> {
    if (this.closed) return Promise.reject(new Error(`pool is closed; cannot run "${job.label}"`));
    this.total++;
    return new Promise((resolve, reject) => {
      this.queue.push({ id: this.nextId++, job, resolve, reject });
      this.pump();
    });
  }

  private spawn(): Slot {
    const child = fork(WORKER, [], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    const slot: Slot = { child };
    child.on('message', (m: JobReply) => this.onReply(slot, m));
    child.on('exit', (code, signal) => {
      const i = this.slots.indexOf(slot);
      if (i >= 0) this.slots.splice(i, 1);
      const p = slot.busy;
      slot.busy = undefined;
      if (p) p.reject(new Error(`${p.job.label}: worker exited (code ${code}, signal ${signal}) during the run`));
      this.pump();
    });
    this.slots.push(slot);
    return slot;
  }

  private onReply(slot: Slot, m: JobReply): void {
    const p = slot.busy;
    if (!p || p.id !== m.id) return;
    slot.busy = undefined;
    this.done++;
    if (m.ok) {
      slot.baseTensors ??= m.outcome.tensors;
      if (!slot.warned && m.outcome.tensors > slot.baseTensors + LEAK_WARNING) {
        slot.warned = true;
        this.progress(`warning: a worker holds ${m.outcome.tensors} live tensors after "${p.job.label}" (${slot.baseTensors} after its first run): tensors leak across runs`);
      }
      this.progress(
        `[${this.done}/${this.total}] ${p.job.label}  ${m.outcome.seconds.toFixed(1)}s  (elapsed ${formatElapsed(this.elapsed())})`,
      );
      p.resolve(m.outcome);
    } else {
      this.progress(`[${this.done}/${this.total}] ${p.job.label}  FAILED`);
      p.reject(new Error(`${p.job.label}: ${m.error}`));
    }
    this.pump();
  }

  private pump(): void {
    while (this.queue.length > 0) {
      let slot = this.slots.find((s) => !s.busy && s.child.connected);
      if (!slot && this.slots.length < this.opts.size && !this.closed) slot = this.spawn();
      if (!slot) return;
      const p = this.queue.shift()!;
      slot.busy = p;
      slot.child.send({ id: p.id, options: p.job.options });
    }
  }

  /** Ends the children once the queue is empty; jobs still queued are rejected. */
  async close(): Promise<void> {
    this.closed = true;
    for (const p of this.queue.splice(0)) p.reject(new Error(`${p.job.label}: pool closed before the run started`));
    await Promise.all(
      this.slots.map(
        (s) =>
          new Promise<void>((resolve) => {
            if (s.child.exitCode !== null || s.child.signalCode !== null) return resolve();
            s.child.once('exit', () => resolve());
            s.child.disconnect();
          }),
      ),
    );
  }
}

/**
 * The site's model in a worker thread (model-worker.ts), seen from the agent as a
 * ModelRunner. Yielding between batches keeps one thread responsive only as long as a
 * single batch is short; on a machine with more busy processes than cores, one step
 * of a large model (or its model creation) can hold a thread for longer than keepalive
 * waits for a ping's answer (5 s). The agent's thread, which holds the gRPC connection,
 * then only waits on messages from the worker, so pings are answered whatever the
 * model does. The numbers are the same: the worker runs the same SiteModelRunner.
 */
import { Worker } from 'node:worker_threads';
import type { HealthSums } from '../shared/data/debias-health.ts';
import type { EncodedData } from '../shared/data/encode.ts';
import type { Logger } from '../shared/logger.ts';
import type { LocalTrainSummary } from '../shared/model/trainer.ts';
import type { EvalMetrics } from '../shared/protocol/messages.ts';
import type { RunnerContext } from './model-runner.ts';
import type { DataRef, RunnerMethod, WorkerReply, WorkerRequest } from './model-worker.ts';
import type { ModelRunner, RunnerFactory } from './runner-api.ts';
import { RUNS_COMPILED } from '../shared/package-root.ts';

/** A request before it is numbered (Omit on each member of the union). */
type Unnumbered<T> = T extends unknown ? Omit<T, 'id'> : never;
type Request = Unnumbered<WorkerRequest>;

/** The worker and its pending requests. */
class ModelWorker {
  private readonly worker: Worker;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private nextId = 1;
  private failure: Error | undefined;

  constructor(log: Logger, signal?: AbortSignal) {
    // Compiled (an installed package), the worker loads its JavaScript directly; from the
    // checkout, a boot file registers tsx in the worker's own loader first.
    this.worker = new Worker(new URL(RUNS_COMPILED ? './model-worker.js' : './model-worker-boot.mjs', import.meta.url));
    // Held only while a request is pending: an idle worker must not keep the process alive.
    this.worker.unref();
    this.worker.on('message', (m: WorkerReply) => {
      if ('log' in m) return void log[m.log.level](m.log.message, m.log.fields);
      const p = this.pending.get(m.id);
      if (!p) return;
      this.settled(m.id);
      if (m.ok) p.resolve(m.value);
      else p.reject(Object.assign(new Error(m.error.message), { name: m.error.name }));
    });
    this.worker.on('error', (e) => this.fail(new Error(`the model worker failed: ${e.message}`, { cause: e })));
    this.worker.on('exit', (code) => this.fail(new Error(`the model worker stopped (exit code ${code})`)));
    // A stop request ends the model's work at once, mid-step: nothing in it is worth keeping.
    signal?.addEventListener('abort', () => this.stop(signal.reason as Error), { once: true });
  }

  request(r: Request, transfer: ArrayBuffer[] = []): Promise<unknown> {
    if (this.failure) return Promise.reject(this.failure);
    const id = this.nextId++;
    if (this.pending.size === 0) this.worker.ref();
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ ...r, id }, transfer);
    });
  }

  private settled(id: number): void {
    this.pending.delete(id);
    if (this.pending.size === 0) this.worker.unref();
  }

  private fail(e: Error): void {
    this.failure ??= e;
    for (const [id, p] of this.pending) {
      this.settled(id);
      p.reject(this.failure);
    }
  }

  stop(reason?: Error): void {
    this.fail(reason ?? new Error('the model worker was stopped'));
    void this.worker.terminate();
  }
}

class WorkerRunner implements ModelRunner {
  private readonly refs = new WeakMap<EncodedData, number>();
  private nextRef = 1;

  constructor(private readonly worker: ModelWorker) {}

  /** The set's number; the set itself goes along the first time only. */
  private ref(d: EncodedData): DataRef {
    const known = this.refs.get(d);
    if (known !== undefined) return { ref: known };
    const ref = this.nextRef++;
    this.refs.set(d, ref);
    return { ref, data: d };
  }

  private call<T>(method: RunnerMethod, ...args: unknown[]): Promise<T> {
    return this.worker.request({ op: 'call', method, args }) as Promise<T>;
  }

  async setWeights(w: Float32Array): Promise<void> {
    await this.call('setWeights', w);
  }
  getWeights(): Promise<Float32Array> {
    return this.call('getWeights');
  }
  evaluate(data: EncodedData, c: RunnerContext): Promise<EvalMetrics> {
    return this.call('evaluate', this.ref(data), c);
  }
  train(data: EncodedData, c: RunnerContext, config: Record<string, unknown>, anchor: Float32Array): Promise<LocalTrainSummary> {
    return this.call('train', this.ref(data), c, config, anchor);
  }
  health(data: EncodedData, c: RunnerContext): Promise<HealthSums | undefined> {
    return this.call('health', this.ref(data), c);
  }
  predict(data: EncodedData, c: RunnerContext): Promise<Float32Array> {
    return this.call('predict', this.ref(data), c);
  }
  trainAlone(enc: { train: EncodedData; test: EncodedData }, c: RunnerContext, rounds: number): Promise<EvalMetrics> {
    return this.call('trainAlone', this.ref(enc.train), this.ref(enc.test), c, rounds);
  }
  dispose(): void {
    this.worker.stop();
  }
}

/** Starts a worker thread holding the site's model (its own tfjs backend, loaded there). */
export const workerRunner: RunnerFactory = async (spec, space, siteSeed, log, opts) => {
  const w = new ModelWorker(log, opts.signal);
  try {
    await w.request({ op: 'create', spec, space, siteSeed, yieldEveryMs: opts.yieldEveryMs });
  } catch (e) {
    w.stop();
    throw e;
  }
  return new WorkerRunner(w);
};

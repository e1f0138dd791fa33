/**
 * The site's model in a worker thread: a SiteModelRunner driven by requests from
 * worker-runner.ts. Its training steps can take as long as they take (a first step of a
 * 1M-parameter model is half a second of CPU, and many seconds of wall time on a
 * crowded machine) without delaying the agent's thread, which answers keepalive.
 */
import { parentPort } from 'node:worker_threads';
import type { EncodedData } from '../shared/data/encode.ts';
import type { FeatureSpace } from '../shared/data/feature-space.ts';
import type { LogFields, Logger } from '../shared/logger.ts';
import type { ModelSpecMsg } from '../shared/protocol/messages.ts';
import { SiteModelRunner, type RunnerContext } from './model-runner.ts';

/** A data set sent once (with `data`) and named by `ref` afterwards, so the runner's per-set caches keep working. */
export interface DataRef {
  ref: number;
  data?: EncodedData;
}

export type RunnerMethod = 'setWeights' | 'getWeights' | 'evaluate' | 'train' | 'health' | 'predict' | 'trainAlone';

export type WorkerRequest =
  | { id: number; op: 'create'; spec: ModelSpecMsg; space: FeatureSpace; siteSeed: number; yieldEveryMs?: number }
  | { id: number; op: 'call'; method: RunnerMethod; args: unknown[] };

export type WorkerReply =
  | { id: number; ok: true; value: unknown }
  | { id: number; ok: false; error: { name: string; message: string } }
  | { log: { level: 'debug' | 'info' | 'warn' | 'error'; message: string; fields: LogFields } };

const port = parentPort!;

/** Log lines go to the agent's thread and its logger. */
function portLogger(base: LogFields): Logger {
  const at = (level: 'debug' | 'info' | 'warn' | 'error') => (message: string, fields?: LogFields) =>
    port.postMessage({ log: { level, message, fields: { ...base, ...fields } } } satisfies WorkerReply);
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error'), child: (f) => portLogger({ ...base, ...f }) };
}

// A site encodes its rows once per feature space, so a process sees a handful of sets.
const sets = new Map<number, EncodedData>();
function data(r: unknown): EncodedData {
  const { ref, data: d } = r as DataRef;
  if (d) sets.set(ref, d);
  const got = sets.get(ref);
  if (!got) throw new Error(`model worker: data set ${ref} was never sent`);
  return got;
}

type Call = (r: SiteModelRunner, a: unknown[]) => unknown;
const CALLS: Record<RunnerMethod, Call> = {
  setWeights: (r, [w]) => r.setWeights(w as Float32Array),
  getWeights: (r) => r.getWeights(),
  evaluate: (r, [d, c]) => r.evaluate(data(d), c as RunnerContext),
  train: (r, [d, c, config, anchor]) => r.train(data(d), c as RunnerContext, config as Record<string, unknown>, anchor as Float32Array),
  health: (r, [d, c]) => r.health(data(d), c as RunnerContext),
  predict: (r, [d, c]) => r.predict(data(d), c as RunnerContext),
  trainAlone: (r, [train, test, c, rounds]) => r.trainAlone({ train: data(train), test: data(test) }, c as RunnerContext, rounds as number),
};

let runner: SiteModelRunner | undefined;

async function handle(req: WorkerRequest): Promise<unknown> {
  if (req.op === 'create') {
    runner?.dispose();
    runner = await SiteModelRunner.create(req.spec, req.space, req.siteSeed, portLogger({}), { yieldEveryMs: req.yieldEveryMs });
    return undefined;
  }
  if (!runner) throw new Error('model worker: no model yet (create comes first)');
  return CALLS[req.method](runner, req.args);
}

// One request at a time, in order: the agent awaits each, and the model is not reentrant.
let queue: Promise<void> = Promise.resolve();
port.on('message', (req: WorkerRequest) => {
  queue = queue.then(async () => {
    try {
      const value = await handle(req);
      // Weights leave by transfer (no copy of a large model) when they own their buffer.
      const own = value instanceof Float32Array && value.byteOffset === 0 && value.byteLength === value.buffer.byteLength;
      port.postMessage({ id: req.id, ok: true, value } satisfies WorkerReply, own ? [value.buffer as ArrayBuffer] : []);
    } catch (e) {
      const err = e as Partial<Error>; // anything can be thrown
      port.postMessage({ id: req.id, ok: false, error: { name: err.name ?? 'Error', message: err.message ?? String(e) } } satisfies WorkerReply);
    }
  });
});

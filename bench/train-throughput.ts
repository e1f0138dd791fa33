/**
 * Child process of bench/run.ts: local-training throughput of the baseline backbone
 * on one tfjs backend (a backend is chosen once per process, hence one child each).
 *
 *   node --import tsx bench/train-throughput.ts --backend wasm [--dump DIR] [--debiased]
 *   node --import tsx bench/train-throughput.ts --probe
 *
 * Prints progress on stderr and one JSON object on the last stdout line.
 * Protocol (mirrored by bench/torch_reference.py on the same batches): one 1-epoch
 * "check" call from the seeded initial weights (its loss validates the PyTorch port),
 * one warm-up call, then `repeats` timed calls of `epochs` epochs, each a real
 * trainLocal call (fresh Adam, batches built from the encoded arrays, loss read back).
 */
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import { derivePrior } from '../coordinator/priors.ts';
import { countPatternLabels } from '../shared/data/patterns.ts';
import { BACKEND_PREFERENCE, loadBackend, type BackendChoice } from '../shared/model/backend.ts';
import { compileModelConfig, type ModelConfig } from '../shared/model/config.ts';
import { createModel } from '../shared/model/factory.ts';
import type { FedModel } from '../shared/model/model.ts';
import { trainLocal } from '../shared/model/trainer.ts';
import { Rng } from '../shared/rng.ts';
import { loadHeartWorkload, median, trainingOrders, writeDump, type HeartWorkload } from './workload.ts';

export const TRAIN_SEED = 1;
export const MODEL_SEED = 1;

export interface TrainCall {
  label: 'check' | 'warmup' | 'timed';
  epochs: number;
}

/** The call sequence both sides run; the warm-up has 2 epochs so debiasing's swap warm-up is over when timing starts. */
export function callPlan(epochs: number, repeats: number): TrainCall[] {
  return [
    { label: 'check', epochs: 1 },
    { label: 'warmup', epochs: 2 },
    ...Array.from({ length: repeats }, () => ({ label: 'timed' as const, epochs })),
  ];
}

/** Which debiased configuration a run stands for in the report. */
export type DebiasedRole = 'default' | 'dual-branch';

/**
 * The debiased configurations timed against the baseline, as a site trains them once
 * a reading is flagged (mode 'on'): the default weighting ('drop': the flagged
 * columns leave the inputs, no dual branch; the step is the backbone plus Part 1's
 * confounder head and pattern balancing), and the dual branch ('adaptive'; bias
 * encoder, swap, penalty, on top of Part 1).
 */
export const DEBIASED_VARIANTS: { role: DebiasedRole; raw: Record<string, unknown> }[] = [
  { role: 'default', raw: { debiasing: { mode: 'on' } } },
  { role: 'dual-branch', raw: { debiasing: { mode: 'on', weighting: 'adaptive' } } },
];

export interface ModelRun {
  kind: string;
  /** Debiased runs: which configuration (DEBIASED_VARIANTS). */
  role?: DebiasedRole;
  raw: Record<string, unknown>;
  params: number;
  usesBalancing: boolean;
  /** The variant's own summary (debiased: mode and whether the dual branch is on). */
  describe?: Record<string, unknown>;
  /** Loss reported by trainLocal after each call (last epoch's mean batch loss incl. weight decay). */
  losses: number[];
  /** Wall seconds of each timed call. */
  seconds: number[];
  /** CPU seconds (user + system, this process) of each timed call: what load from other processes does not inflate. */
  cpuSeconds: number[];
  samplesPerSec: number;
  msPerStep: number;
}

export interface ThroughputResult {
  backend: string;
  choice: string;
  available: boolean;
  error?: string;
  tfjsVersion: string;
  n: number;
  dim: number;
  modalities: number;
  config: ModelConfig;
  epochsPerRepeat: number;
  repeats: number;
  stepsPerRepeat: number;
  /** wasm only: whether the SIMD and multi-threaded builds are in use. */
  wasm?: { simd: boolean; threads: boolean };
  baseline?: ModelRun;
  /** Debiased variants on the same batches, or why they could not be built. */
  debiased?: { registered: boolean; error?: string; runs: ModelRun[] };
}

const log = (m: string) => process.stderr.write(`  [train ${process.pid}] ${m}\n`);

/** One model through the whole call plan, calls interleaved with its peers by the caller. */
class Runner {
  readonly rng = new Rng(TRAIN_SEED);
  readonly losses: number[] = [];
  readonly seconds: number[] = [];
  readonly cpuSeconds: number[] = [];
  private epochsDone = 0;
  constructor(
    readonly kind: string,
    readonly raw: Record<string, unknown>,
    readonly model: FedModel,
    readonly role?: DebiasedRole,
  ) {}

  async call(w: HeartWorkload, cfg: ModelConfig, c: TrainCall, prior: ReturnType<typeof derivePrior>): Promise<void> {
    this.model.attachTrainingSet?.(w.data.n);
    const t0 = performance.now();
    const c0 = process.cpuUsage();
    const s = await trainLocal(this.model, w.data, { round: 1, prior }, {
      config: { ...cfg, localEpochs: c.epochs },
      rng: this.rng,
      globalEpochOffset: this.epochsDone,
    });
    const dt = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(c0);
    this.epochsDone += c.epochs;
    this.losses.push(s.loss);
    if (c.label === 'timed') {
      this.seconds.push(dt);
      this.cpuSeconds.push((cpu.user + cpu.system) / 1e6);
    }
  }

  result(n: number, steps: number, epochs: number): ModelRun {
    const sec = median(this.seconds);
    return {
      kind: this.kind,
      ...(this.role ? { role: this.role } : {}),
      raw: this.raw,
      params: this.model.params.size,
      usesBalancing: this.model.usesBalancing,
      ...(this.model.describe ? { describe: this.model.describe() } : {}),
      losses: this.losses,
      seconds: this.seconds,
      cpuSeconds: this.cpuSeconds,
      samplesPerSec: (n * epochs) / sec,
      msPerStep: (sec * 1000) / steps,
    };
  }
}

/** Which backends load in this process, trying each the way loadBackend would (native first). */
async function probe(): Promise<Record<string, boolean>> {
  const out: Record<string, boolean> = {};
  for (const c of BACKEND_PREFERENCE) {
    try {
      if (c === 'node-gpu') await import('@tensorflow/tfjs-node-gpu' as string);
      else if (c === 'node') await import('@tensorflow/tfjs-node' as string);
      else if (c === 'wasm') {
        await import('@tensorflow/tfjs-backend-wasm');
        if (!(await tf.setBackend('wasm'))) throw new Error('setBackend(wasm) failed');
      } else if (!(await tf.setBackend('cpu'))) throw new Error('setBackend(cpu) failed');
      out[c] = true;
    } catch {
      out[c] = false;
    }
  }
  return out;
}

async function main(): Promise<void> {
  const { values: v } = parseArgs({
    options: {
      backend: { type: 'string' },
      dump: { type: 'string' },
      epochs: { type: 'string', default: '3' },
      repeats: { type: 'string', default: '3' },
      debiased: { type: 'boolean', default: false },
      probe: { type: 'boolean', default: false },
    },
  });
  if (v.probe) {
    console.log(JSON.stringify({ probe: await probe(), tfjsVersion: tf.version.tfjs }));
    return;
  }
  const choice = (v.backend ?? 'auto') as BackendChoice;
  const epochs = Number(v.epochs);
  const repeats = Number(v.repeats);
  if (!(Number.isInteger(epochs) && epochs > 0 && Number.isInteger(repeats) && repeats > 0))
    throw new Error(`--epochs and --repeats must be positive integers, got ${v.epochs} and ${v.repeats}`);

  const w = loadHeartWorkload();
  const cfg = compileModelConfig({});
  const stepsPerRepeat = Math.ceil(w.data.n / cfg.batchSize) * epochs;
  const base = {
    choice,
    tfjsVersion: tf.version.tfjs,
    n: w.data.n,
    dim: w.data.dim,
    modalities: w.space.modalities.length,
    config: cfg,
    epochsPerRepeat: epochs,
    repeats,
    stepsPerRepeat,
  };
  let backend: string;
  try {
    backend = await loadBackend(choice);
  } catch (e) {
    console.log(JSON.stringify({ ...base, backend: choice, available: false, error: (e as Error).message } satisfies ThroughputResult));
    return;
  }
  const wasm =
    backend === 'wasm'
      ? { simd: Boolean(await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT')), threads: Boolean(await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT')) }
      : undefined;
  log(`backend ${backend}: ${w.data.n} rows x ${w.data.dim} columns, ${w.space.modalities.length} modalities`);

  const plan = callPlan(epochs, repeats);
  const prior = derivePrior(countPatternLabels(w.data.patterns, w.data.y), 5, 1);
  const runners = [new Runner('baseline', {}, createModel('baseline', w.space, {}, MODEL_SEED))];

  if (v.dump) {
    const orders = trainingOrders(TRAIN_SEED, w.data.n, plan);
    writeDump(v.dump, {
      data: w.data,
      space: w.space,
      initWeights: runners[0]!.model.params.getFlat(),
      specs: runners[0]!.model.params.specs,
      orders,
      meta: { config: cfg, plan, trainSeed: TRAIN_SEED },
    });
    log(`dumped encoded data, initial weights and ${orders.length} epoch orders to ${v.dump}`);
  }

  let debiased: ThroughputResult['debiased'];
  if (v.debiased) {
    try {
      for (const { role, raw } of DEBIASED_VARIANTS) runners.push(new Runner('debiased', raw, createModel('debiased', w.space, raw, MODEL_SEED), role));
      debiased = { registered: true, runs: [] };
    } catch (e) {
      debiased = { registered: false, error: (e as Error).message, runs: [] };
      for (const r of runners.splice(1)) r.model.dispose();
    }
  }

  // Calls interleaved across models, so a burst of load from other work hits them alike.
  for (const c of plan) {
    for (const r of runners) await r.call(w, cfg, c, prior);
    if (c.label === 'timed') log(`${c.label} ${runners.map((r) => `${r.role ?? r.kind}: ${r.seconds.at(-1)!.toFixed(2)}s`).join(', ')}`);
  }
  const runs = runners.map((r) => r.result(w.data.n, stepsPerRepeat, epochs));
  if (debiased?.registered) debiased.runs = runs.slice(1);
  for (const r of runners) r.model.dispose();
  console.log(JSON.stringify({ ...base, backend, available: true, ...(wasm ? { wasm } : {}), baseline: runs[0], ...(debiased ? { debiased } : {}) } satisfies ThroughputResult));
}

main().catch((e: Error) => {
  console.error(e.stack ?? e.message);
  process.exit(1);
});

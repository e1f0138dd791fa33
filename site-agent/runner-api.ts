/**
 * What the site agent needs from its model, wherever the model runs: in the agent's own
 * thread (simulate, tests) or in a worker thread (a deployed site, so that no training
 * step, however long, holds the thread that answers gRPC keepalive).
 */
import type { EncodedData } from '../shared/data/encode.ts';
import type { FeatureSpace } from '../shared/data/feature-space.ts';
import type { HealthSums } from '../shared/data/debias-health.ts';
import type { Logger } from '../shared/logger.ts';
import type { LocalTrainSummary } from '../shared/model/trainer.ts';
import type { EvalMetrics, ModelSpecMsg } from '../shared/protocol/messages.ts';
import type { RunnerContext, RunnerOptions } from './model-runner.ts';

export type Awaitable<T> = T | Promise<T>;

/** SiteModelRunner's surface; a worker-backed runner answers every call asynchronously. */
export interface ModelRunner {
  setWeights(w: Float32Array): Awaitable<void>;
  getWeights(): Awaitable<Float32Array>;
  evaluate(data: EncodedData, c: RunnerContext): Awaitable<EvalMetrics>;
  train(data: EncodedData, c: RunnerContext, config: Record<string, unknown>, anchor: Float32Array): Promise<LocalTrainSummary>;
  health(data: EncodedData, c: RunnerContext): Awaitable<HealthSums | undefined>;
  predict(data: EncodedData, c: RunnerContext): Awaitable<Float32Array>;
  trainAlone(enc: { train: EncodedData; test: EncodedData }, c: RunnerContext, rounds: number): Promise<EvalMetrics>;
  dispose(): void;
}

export type RunnerFactory = (spec: ModelSpecMsg, space: FeatureSpace, siteSeed: number, log: Logger, opts: RunnerOptions) => Promise<ModelRunner>;

/** The model in the calling thread. Imported on first use, so a process whose model runs elsewhere never loads tfjs here. */
export const inProcessRunner: RunnerFactory = async (spec, space, siteSeed, log, opts) => {
  const { SiteModelRunner } = await import('./model-runner.ts');
  return SiteModelRunner.create(spec, space, siteSeed, log, opts);
};

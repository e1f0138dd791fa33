/** What the evaluation asks of one simulation, and what comes back (shared by pool.ts and worker.ts). */
import type { Prediction, SimulateOptions } from '../cli/simulate.ts';
import type { ResultsFile } from '../cli/results.ts';

export interface SimJob {
  /** Progress label, e.g. "s3 loso va debiased-on seed 2". */
  label: string;
  options: SimulateOptions;
}

export interface SimOutcome {
  results: ResultsFile;
  predictions: Prediction[];
  /** The tfjs backend the run trained on. */
  backend: string;
  seconds: number;
  /** Live tensors in the worker after the run: a growing count means a leak across runs. */
  tensors: number;
}

export interface JobRequest {
  id: number;
  options: SimulateOptions;
}

export type JobReply = { id: number; ok: true; outcome: SimOutcome } | { id: number; ok: false; error: string };

/** The options simulate would take from its flags' defaults, overridden by `o`. */
export function simOptions(
  o: Pick<SimulateOptions, 'schema' | 'sites' | 'model' | 'rounds' | 'seed'> & Partial<SimulateOptions>,
): SimulateOptions {
  return {
    testSites: [],
    holdouts: [],
    modelSettings: {},
    strategy: 'fedavg',
    testFraction: 0.3,
    localBaseline: false,
    secureAggregation: false,
    ...o,
  };
}

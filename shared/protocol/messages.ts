import type { z } from 'zod';
import type { PatternLabelCounts } from '../data/patterns.ts';
import type { FeatureStats } from '../data/stats.ts';
import type { CellCounts } from '../data/outcome-balance.ts';
import type { HealthSums } from '../data/debias-health.ts';
import type { CalibrationSums } from '../metrics/calibration.ts';
import type { TaskKindSchema } from './task-meta.ts';
import type { SiteCalibrationReport } from '../metrics/site-calibration.ts';

/**
 * Protocol version carried in every join; bumped on incompatible changes (2: stats stage 2
 * carries site-centred class moments, and its secure sum their parts; 3: their column sums
 * are centred on the site's column means too, with the label's scatter per column).
 */
export const PROTOCOL_VERSION = 3;

/**
 * Task kinds, coordinator -> site:
 * - 'stats': contribute sums (feature stats, (pattern, label) counts, class moments), no weights.
 * - 'fit': evaluate the incoming global model on the held-out split, then train locally and return weights.
 * - 'evaluate': evaluate the global model only (optionally also train a local-only model for comparison).
 * - 'end': the federation is over.
 * - 'secagg': one phase (its stage) of a secure fit round's aggregation (docs/secagg.md).
 */
export type TaskKind = z.output<typeof TaskKindSchema>;

/** Everything a site needs for a round besides the weights: declared once, as TaskMetaSchema (./task-meta.ts). */
export type { ModelSpecMsg, TaskMeta } from './task-meta.ts';

export interface EvalMetrics {
  n: number;
  auroc: number;
  accuracy: number;
  balancedAccuracy: number;
  ece: number;
  loss?: number;
}

/** A site's evaluation as the results file carries it: without `n` where the run is securely aggregated (docs/secagg.md). */
export type SiteEvaluation = Omit<EvalMetrics, 'n'> & { n?: number };

/** What a site reports by itself in a secure final evaluation: rates, no row counts. */
export interface SiteReport {
  evaluation?: SiteEvaluation;
  localEvaluation?: SiteEvaluation;
  siteCalibration?: Pick<SiteCalibrationReport, 'a' | 'b' | 'eceBefore' | 'eceAfter'>;
}

/** What a site returns. Never a record: only sums, counts, metrics and weights. */
export interface ResultMeta {
  round: number;
  kind: TaskKind;
  numExamples: number;
  /** Training summary (loss, steps) for fit; empty otherwise. */
  metrics: Record<string, number>;
  /** The held-out evaluation of the global model received with the task. */
  evaluation?: EvalMetrics;
  /** A model trained on this site's data alone, evaluated on the same held-out rows (final evaluation). */
  localEvaluation?: EvalMetrics;
  featureStats?: FeatureStats;
  patternCounts?: PatternLabelCounts;
  classMoments?: unknown;
  /** Stage 2: the same sums centred on this site's own means (centreWithinSite; protocol 3). */
  classMomentsWithinSite?: unknown;
  /** Stage 3: counts of (cell, label) over the training rows. */
  cellCounts?: CellCounts;
  /** Final evaluation: calibration sums over the held-out rows (shared/metrics/calibration.ts). */
  calibration?: CalibrationSums;
  /** Final evaluation: the site's own recalibration, fitted on its training rows, with ECE of its held-out rows before and after (shared/metrics/site-calibration.ts). */
  siteCalibration?: SiteCalibrationReport;
  /** The site could not produce a sound answer (e.g. its training diverged to a non-finite loss): it sends this instead. */
  error?: string;
  /** With `error`: the site takes no further part in this run (its privacy floor refused the federation's settings): nobody need wait for it. */
  withdraws?: boolean;
  /** A secure final evaluation: the site's own report (rates, no row counts; shared/secagg/eval-parts.ts). */
  report?: SiteReport;
  /** Secure aggregation (shared/secagg/wire.ts): the fit result's key advertisement, or a 'secagg' phase's answer. */
  secagg?: Record<string, unknown>;
  /** Fit rounds of a debiased model: the debiasing health sums over the training rows. */
  health?: HealthSums;
  /** SCAFFOLD fit rounds: the site's control variate, its loss gradient at the global model it received (one number per parameter). */
  controlVariate?: number[];
  weights: number;
}

const RESULT_KIND: Record<TaskKind, string> = {
  stats: 'stats-result',
  fit: 'fit-result',
  evaluate: 'eval-result',
  end: 'end-ack',
  secagg: 'secagg-result',
};

/** The envelope kind of a result: unique per round, since the replay guard accepts one of each. */
export function resultKind(kind: TaskKind, stage?: number): string {
  return stage ? `${RESULT_KIND[kind]}-${stage}` : RESULT_KIND[kind];
}

/** The envelope kind of a task (`task-fit`, `task-stats-2`): what its header says it is. */
export function taskKind(kind: TaskKind, stage?: number): string {
  return `task-${kind}${stage ? `-${stage}` : ''}`;
}

/** A task envelope kind read back (taskKind's inverse); undefined for any other kind. */
export function parseTaskKind(envelopeKind: string): { kind: TaskKind; stage?: number } | undefined {
  const m = /^task-(stats|fit|evaluate|end|secagg)(?:-(\d+))?$/.exec(envelopeKind);
  if (!m) return undefined;
  return { kind: m[1] as TaskKind, ...(m[2] === undefined ? {} : { stage: Number(m[2]) }) };
}

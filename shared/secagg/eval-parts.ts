/**
 * The final evaluation as a secure sum (docs/secagg.md, "Final evaluation"): each site's
 * held-out row count, its example-weighted metrics and its calibration sums go into one
 * vector, so the coordinator learns the federation's pooled evaluation and fits the
 * recalibration from totals. What a site still says by itself is its report: its metrics
 * on its held-out rows (rates, no row count) and its own recalibration, the run's output.
 */
import { BIN_FIELDS, CALIBRATION_GRID, ECE_BINS, type CalibrationSums } from '../metrics/calibration.ts';
import type { SiteCalibrationReport } from '../metrics/site-calibration.ts';
import type { EvalMetrics, SiteEvaluation, SiteReport } from '../protocol/messages.ts';
import type { SecAggConfig } from './config.ts';
import { SecAggRefusal } from './errors.ts';
import { VectorLayout, type PartSpec } from './layout.ts';

/** The tens digit of the final evaluation's 'secagg' stages (fit rounds use 0, statistics stages 1-5). */
export const EVALUATION_SUM = 9;

/** The pooled metrics, each with the bound of its values (larger ones are clipped, as in the fit vector). */
export const EVALUATION_METRICS = [
  { name: 'auroc', bound: 1 },
  { name: 'accuracy', bound: 1 },
  { name: 'balancedAccuracy', bound: 1 },
  { name: 'ece', bound: 1 },
  { name: 'loss', bound: 100 },
] as const;

/** Decimals of a site's own report when the settings give none (secureAggregation.reportDecimals). */
export const REPORT_DECIMALS = 2;
/**
 * A scope of fewer sites is not summed: one site's "pooled" figures would be its own, and
 * with two, the exact count-weighted means beside both sites' rounded reports pinned down
 * one site's held-out count in 20% of random pairs (within 2 rows in 45%; attack probe).
 */
export const MIN_SCOPE_SITES = 3;

/** A row's log-loss on any grid cell stays below this (scores clamped at 1e-7, slopes up to 4). */
const MAX_ROW_NLL = 100;
const CELLS = CALIBRATION_GRID.slopes.length * CALIBRATION_GRID.intercepts.length;
/** Calibration sums of the training sites (the recalibration is fitted on them) and of the test-only sites, apart. */
const SCOPES = ['training', 'test'] as const;
export type Scope = (typeof SCOPES)[number];

export function evaluationLayout(c: SecAggConfig, maxSites: number): VectorLayout {
  const parts: PartSpec[] = [];
  for (const s of SCOPES)
    parts.push(
      { name: `${s}.n`, length: 1, kind: 'count', bound: c.maxExamples },
      { name: `${s}.metricWeights`, length: EVALUATION_METRICS.length, kind: 'count', bound: c.maxExamples },
      ...EVALUATION_METRICS.map((m) => ({ name: `${s}.eval.${m.name}`, length: 1, kind: 'real' as const, bound: m.bound * c.maxExamples })),
      { name: `cal.${s}.n`, length: 1, kind: 'count', bound: c.maxExamples },
      { name: `cal.${s}.nll`, length: CELLS, kind: 'wide', bound: MAX_ROW_NLL * c.maxExamples },
      { name: `cal.${s}.bins`, length: CELLS * ECE_BINS * BIN_FIELDS, kind: 'wide', bound: c.maxExamples },
    );
  return new VectorLayout(parts, maxSites);
}

/**
 * A site's vector: its held-out count, weighted metrics and calibration sums under its
 * scope (zeros in the other), or zeros throughout when its scope has fewer than
 * MIN_SCOPE_SITES sites (`scopeSites`).
 */
export function evaluationValues(evaluation: EvalMetrics | undefined, calibration: CalibrationSums | undefined, scope: Scope, scopeSites: number, maxExamples: number): Record<string, number[]> {
  const out: Record<string, number[]> = {};
  const mineSummed = scopeSites >= MIN_SCOPE_SITES;
  for (const s of SCOPES) {
    const mine = s === scope && mineSummed;
    const n = mine ? Math.min(evaluation?.n ?? 0, maxExamples) : 0;
    putMetrics(out, s, evaluation, n);
    putCalibration(out, s, mine ? calibration : undefined);
  }
  return out;
}

/** One scope's held-out count and its metrics weighted by it; a metric that is not a finite number weighs 0. */
function putMetrics(out: Record<string, number[]>, s: Scope, evaluation: EvalMetrics | undefined, n: number): void {
  const metricWeights: number[] = [];
  for (const { name } of EVALUATION_METRICS) {
    const v = evaluation?.[name];
    const ok = typeof v === 'number' && Number.isFinite(v) && n > 0;
    metricWeights.push(ok ? n : 0);
    out[`${s}.eval.${name}`] = [ok ? n * v : 0];
  }
  out[`${s}.n`] = [n];
  out[`${s}.metricWeights`] = metricWeights;
}

/** One scope's calibration sums: this site's where it is summed in that scope (`mine`), zeros otherwise. */
function putCalibration(out: Record<string, number[]>, s: Scope, mine: CalibrationSums | undefined): void {
  out[`cal.${s}.n`] = [mine ? mine.n : 0];
  out[`cal.${s}.nll`] = mine ? mine.nll : new Array<number>(CELLS).fill(0);
  out[`cal.${s}.bins`] = mine ? mine.bins : new Array<number>(CELLS * ECE_BINS * BIN_FIELDS).fill(0);
}

/**
 * A site's check of the final evaluation's survivor list, before it signs it: a scope whose
 * sites are summed (at least MIN_SCOPE_SITES in the roster) must keep none or at least
 * MIN_SCOPE_SITES survivors; after dropouts one survivor's "pooled" figures would be its own
 * exact row count, metrics and calibration sums. Every site checks every scope: a lone
 * survivor's self-mask is revealed by the others' shares, not by itself.
 */
export function checkScopeSurvivors(roster: readonly string[], testSites: readonly string[], survivors: readonly string[]): void {
  for (const scope of SCOPES) {
    const inScope = (s: string) => testSites.includes(s) === (scope === 'test');
    const invited = roster.filter(inScope).length;
    const left = survivors.filter(inScope);
    if (invited >= MIN_SCOPE_SITES && left.length > 0 && left.length < MIN_SCOPE_SITES)
      throw new SecAggRefusal(
        `the final evaluation's survivor list keeps ${left.length} of the ${invited} ${scope === 'test' ? 'test-only' : 'training'} sites (${left.join(', ')}); a scope is summed over at least ${MIN_SCOPE_SITES} or none, so the list is not signed`,
        'malformed',
      );
  }
}

/** The held-out rows of one scope's sites in the sum, and the example-weighted means of their metrics. */
export type PooledEvaluation = { n: number } & Partial<Record<(typeof EVALUATION_METRICS)[number]['name'], number>>;

export interface SummedEvaluation {
  /** Over the training sites' held-out rows, and over the test-only sites' rows (absent without any). */
  pooled: Partial<Record<Scope, PooledEvaluation>>;
  /** Calibration sums per scope, absent where no site of it sent any. */
  calibration: Partial<Record<Scope, CalibrationSums>>;
  /** The sites in the sum (set by the coordinator). */
  sites?: string[];
}

/** The pooled figures per scope; a scope with fewer than MIN_SCOPE_SITES sites in the sum (`included`) is left out. */
export function evaluationFromSum(sums: Record<string, Float64Array>, included: Record<Scope, number>): SummedEvaluation {
  const pooled: SummedEvaluation['pooled'] = {};
  for (const s of SCOPES) {
    const n = sums[`${s}.n`]![0]!;
    if (n === 0 || included[s] < MIN_SCOPE_SITES) continue;
    const p: PooledEvaluation = { n };
    EVALUATION_METRICS.forEach(({ name }, i) => {
      const w = sums[`${s}.metricWeights`]![i]!;
      if (w > 0) p[name] = sums[`${s}.eval.${name}`]![0]! / w;
    });
    pooled[s] = p;
  }
  const calibration: SummedEvaluation['calibration'] = {};
  for (const s of SCOPES) {
    const n = sums[`cal.${s}.n`]![0]!;
    if (n > 0 && included[s] >= MIN_SCOPE_SITES)
      calibration[s] = {
        grid: { slopes: [...CALIBRATION_GRID.slopes], intercepts: [...CALIBRATION_GRID.intercepts] },
        n,
        nll: [...sums[`cal.${s}.nll`]!].map((x) => Math.max(0, x)),
        bins: [...sums[`cal.${s}.bins`]!].map((x) => Math.max(0, x)),
      };
  }
  return { pooled, calibration };
}


/** A site's report: its figures rounded to `decimals`, no row count (exact rates are fractions whose denominators give it away). */
export function siteReport(evaluation: EvalMetrics | undefined, local: EvalMetrics | undefined, own: SiteCalibrationReport | undefined, decimals = REPORT_DECIMALS): SiteReport {
  const round = (x: number) => Number(x.toFixed(decimals));
  const rates = (m: EvalMetrics): SiteEvaluation => {
    const { n: _n, ...rest } = m;
    return Object.fromEntries(Object.entries(rest).map(([k, v]) => [k, typeof v === 'number' && Number.isFinite(v) ? round(v) : v])) as SiteEvaluation;
  };
  return {
    ...(evaluation ? { evaluation: rates(evaluation) } : {}),
    ...(local ? { localEvaluation: rates(local) } : {}),
    ...(own ? { siteCalibration: { a: round(own.a), b: round(own.b), eceBefore: round(own.eceBefore), eceAfter: round(own.eceAfter) } } : {}),
  };
}

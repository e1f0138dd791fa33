/**
 * What every section receives (settings, the simulation runner, a temp folder) and
 * the record each run leaves in results.json.
 */
import type { ClassificationReport, MeanAndSpread } from '../shared/metrics/classification.ts';
import type { SimJob, SimOutcome } from './jobs.ts';
import type { EvalSettings, ModelSpec } from './settings.ts';
import { METRICS, reportsBySite, spread, type Metric } from './summary.ts';

export interface Runner {
  run(job: SimJob): Promise<SimOutcome>;
}

export interface EvalContext {
  settings: EvalSettings;
  runner: Runner;
  /** A private temp folder for this section's files (removed by run.ts). */
  tmp: string;
  heartDir: string;
  /** The setting the tuning picked (tuning.ts), when it is not the shipped default: sections 3 and 4 add it as a row. */
  candidate?: ModelSpec;
  /** --only-configs: the configuration ids to re-run, and the stored section whose other runs are kept. */
  only?: { ids: ReadonlySet<string>; stored: unknown };
}

/** Whether a configuration runs: always without --only-configs. */
export function wanted(ctx: Pick<EvalContext, 'only'>, id: string): boolean {
  return !ctx.only || ctx.only.ids.has(id);
}

/** Fresh runs replace the stored runs of the same configuration and seed; the others are kept. */
export function mergeRuns<R extends { config: string; seed: number }>(fresh: readonly R[], stored: readonly R[] | undefined): R[] {
  const key = (r: R) => `${r.config}\u0000${r.seed}`;
  const have = new Set(fresh.map(key));
  return [...(stored ?? []).filter((r) => !have.has(key(r))), ...fresh];
}

/** What auto decided in one run (the debiasing block of the results file, trimmed). */
export interface DecisionRecord {
  mode: string;
  decision: string;
  flagged: { feature: string; labelCorr: number; withinClassCorr: number }[];
  reason: string;
}

/**
 * One scored site's calibration: ECE raw and after the federation's recalibration; with
 * `own`, after the site's own recalibration (Platt: slope a, intercept b; a absent in
 * records stored before it had a slope), with what it was fitted from (its training
 * rows' prevalence and mean score).
 */
export interface SiteCalibrationRecord {
  eceBefore: number;
  eceAfter: number;
  own?: { eceAfter: number; a?: number; b: number; prevalence: number; meanScore: number };
}

/** One configuration, one seed: per-site held-out reports (computed from the predictions). */
export interface RunRecord {
  config: string;
  seed: number;
  sites: Record<string, ClassificationReport>;
  debiasing?: DecisionRecord;
  /** Per scored site: ECE of the raw scores and after the federation's recalibration (results `calibration`). */
  calibration?: Record<string, SiteCalibrationRecord>;
  seconds: number;
}

/** Settings a section ran under, stated in the report. */
export interface SectionSettings {
  rounds: number;
  localEpochs: number;
  seeds: number[];
  strategy: string;
  backends: string[];
  quick: boolean;
}

export function decisionOf(o: SimOutcome): DecisionRecord | undefined {
  const d = o.results.debiasing as Partial<DecisionRecord> | undefined;
  if (!d) return undefined;
  return { mode: String(d.mode), decision: String(d.decision), flagged: d.flagged ?? [], reason: String(d.reason ?? '') };
}

/** A run's record; `only` keeps the listed sites (e.g. the held-out ones), all when absent. */
export function toRecord(config: string, seed: number, o: SimOutcome, only?: readonly string[]): RunRecord {
  const all = reportsBySite(o.predictions);
  const pick = (s: string) => {
    const r = all[s];
    if (!r) throw new Error(`run ${config} seed ${seed} has no predictions for site "${s}"`);
    return [s, r] as const;
  };
  const sites = only ? Object.fromEntries(only.map(pick)) : all;
  const d = decisionOf(o);
  const cal = o.results.calibration;
  const calibration = cal
    ? Object.fromEntries(
        Object.entries({ ...cal.sites, ...cal.testSites })
          .filter(([s]) => s in sites)
          .map(([s, c]): [string, SiteCalibrationRecord] => {
            const own = 'own' in c ? c.own : undefined;
            return [s, { eceBefore: c.eceBefore, eceAfter: c.eceAfter, ...(own ? { own: { eceAfter: own.eceAfter, a: own.a, b: own.b, prevalence: own.prevalence, meanScore: own.meanScore } } : {}) }];
          }),
      )
    : undefined;
  return { config, seed, sites, ...(d ? { debiasing: d } : {}), ...(calibration ? { calibration } : {}), seconds: o.seconds };
}

/** Several one-site runs (each site alone) as one record per seed. */
export function mergeRecords(config: string, seed: number, parts: readonly RunRecord[]): RunRecord {
  return {
    config,
    seed,
    sites: Object.assign({}, ...parts.map((p) => p.sites)) as Record<string, ClassificationReport>,
    seconds: parts.reduce((a, p) => a + p.seconds, 0),
  };
}

export function sectionSettings(s: EvalSettings, outcomes: readonly SimOutcome[]): SectionSettings {
  return {
    rounds: s.rounds,
    localEpochs: s.localEpochs,
    seeds: s.seeds,
    strategy: s.strategy,
    backends: [...new Set(outcomes.map((o) => o.backend))].sort(),
    quick: s.quick,
  };
}

/** Per config, per site (and 'mean' over the sites, taken per seed first): each metric's mean and spread over seeds. */
export type SiteSummary = Record<string, Record<string, Record<Metric, MeanAndSpread>>>;

export function summarizeBySite(runs: readonly RunRecord[], configs: readonly string[], sites: readonly string[]): SiteSummary {
  const out: SiteSummary = {};
  for (const c of configs) {
    const mine = runs.filter((r) => r.config === c);
    out[c] = {};
    for (const site of [...sites, 'mean']) {
      const per = {} as Record<Metric, MeanAndSpread>;
      for (const m of METRICS) {
        const values = mine.map((r) =>
          site === 'mean' ? sites.reduce((a, s) => a + (r.sites[s]?.[m] ?? NaN), 0) / sites.length : (r.sites[site]?.[m] ?? NaN),
        );
        per[m] = spread(values);
      }
      out[c][site] = per;
    }
  }
  return out;
}

/** The configs as { id, label } for the JSON file. */
export function specList(specs: readonly ModelSpec[]): { id: string; label: string; model: string; debiasing?: Record<string, unknown>; strategy?: string }[] {
  return specs.map((s) => ({ id: s.id, label: s.label, model: s.model, ...(s.debiasing ? { debiasing: s.debiasing } : {}), ...(s.strategy ? { strategy: s.strategy } : {}) }));
}

import { closeSync, fsyncSync, mkdirSync, openSync, renameSync, rmSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { asStorageError } from '../shared/errors.ts';
import { writeDurably } from '../shared/output-path.ts';
import type { EvalMetrics } from '../shared/protocol/messages.ts';
import { smallMultiplesSvg, type LineSeries } from '../shared/report/svg-plot.ts';
import type { FederationOutcome } from './round-loop.ts';
import type { Schema } from '../shared/data/schema.ts';
import { bundleText } from '../shared/model/bundle.ts';

/**
 * Per-round curves: each site's held-out AUROC of the global model after r rounds
 * (round r's fit evaluates the model from round r-1; the final evaluation gives
 * round R), and the mean training loss.
 */
export function metricsPlotSvg(o: FederationOutcome): string {
  const sites = Object.keys(o.sites);
  // The final evaluation's round less one: the rounds the final model had (past `rounds` where it was lowered at a restart).
  const trained = o.scoring.round - 1;
  const auroc: LineSeries[] = sites.map((site) => ({
    name: site,
    points: [
      ...o.history.filter((h) => h.siteEvaluations[site]).map((h) => [h.round - 1, h.siteEvaluations[site]!.auroc] as [number, number]),
      [trained, o.sites[site]!.auroc] as [number, number],
    ],
  }));
  // 0.4 keeps the usual range readable; a lower AUROC (a first round, a site's bad start) widens it rather than falling off the plot.
  const lowest = Math.min(...auroc.flatMap((s) => s.points.map(([, y]) => y)).filter((y) => Number.isFinite(y)));
  const yMin = Number.isFinite(lowest) ? Math.min(0.4, Math.floor(lowest * 10) / 10) : 0.4;
  const loss: LineSeries[] = [
    { name: 'mean training loss', points: o.history.map((h) => [h.round, h.metrics.train_loss ?? NaN] as [number, number]) },
  ];
  return smallMultiplesSvg(
    [
      { title: `Held-out AUROC per site (${o.model}, ${o.strategy})`, xLabel: 'rounds trained', yLabel: 'AUROC', series: auroc, yMin, yMax: 1 },
      { title: 'Training loss', xLabel: 'round', yLabel: 'loss', series: loss },
    ],
    2,
  );
}

/**
 * Writes results.json, metrics.svg and the final model (model.f32: float32 little-endian,
 * canonical order; model.json: the same with what scoring needs, for fedcausal predict) into a fresh run folder, whole or not at all: they are written into a
 * hidden folder beside it and renamed into place (on a full disk an outside try found a run
 * folder with a complete-looking results.json, a cut-off plot and no model, listed as a
 * finished run). A failure is a StorageError: the run's rounds stay in the state, and a
 * restart runs the final evaluation again and writes the report.
 */
export function writeRunReport(
  dir: string,
  results: unknown,
  outcome: FederationOutcome,
  run?: { federation: string; schema: Schema },
): { results: string; plot: string; model: string; scoring?: string } {
  const partial = join(dirname(dir), `.${basename(dir)}.partial`);
  // The model for predict, of a complete run only: a site saves none otherwise, and predict could not tell.
  const scoring = run && outcome.problems.length === 0 ? run : undefined;
  try {
    // The report holds each site's row counts and figures: the run's folder and files are the
    // coordinator account's alone (0700, 0600), whatever the umask (a DPO review found 0644 under start.sh).
    mkdirSync(partial, { recursive: true, mode: 0o700 });
    writeDurably(join(partial, 'results.json'), JSON.stringify(results, null, 2) + '\n', 0o600);
    writeDurably(join(partial, 'metrics.svg'), metricsPlotSvg(outcome), 0o600);
    const g = outcome.globalModel;
    writeDurably(join(partial, 'model.f32'), new Uint8Array(g.buffer, g.byteOffset, g.byteLength), 0o600);
    // The same model with what its scores depend on, for fedcausal predict (without any site's recalibration);
    // trained on the hospitals' rows, it is kept like them (0600).
    if (scoring) writeDurably(join(partial, 'model.json'), scoringBundle(outcome, scoring), 0o600);
    // On disk before the rename, and the rename before the state is marked finished (the caller's
    // next step): after a power cut a finished state never points at an empty report.
    syncFolder(partial);
    renameSync(partial, dir);
    syncFolder(dirname(dir));
  } catch (e) {
    try {
      rmSync(partial, { recursive: true, force: true });
    } catch {
      // What is left is hidden, and never read as a run.
    }
    throw asStorageError(
      e,
      `cannot write the run report into ${dir}`,
      'free space on (or repair) the disk that holds runDir (coordinator.yaml); the rounds are kept in the coordinator state, and a restart runs the final evaluation again and writes the report',
    );
  }
  return { results: join(dir, 'results.json'), plot: join(dir, 'metrics.svg'), model: join(dir, 'model.f32'), ...(scoring ? { scoring: join(dir, 'model.json') } : {}) };
}

function scoringBundle(o: FederationOutcome, run: { federation: string; schema: Schema }): string {
  const { spec, prior, balance, round } = o.scoring;
  return bundleText({ federation: run.federation, round, schema: run.schema, model: spec, featureSpace: o.featureSpace, prior, ...(balance ? { balance } : {}), temper: 1, weights: o.globalModel });
}


/** A folder's entries (a new file, a rename) flushed to the disk. */
function syncFolder(path: string): void {
  const fd = openSync(path, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

export type { EvalMetrics };

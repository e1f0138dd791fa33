import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { EvalMetrics } from '../shared/protocol/messages.ts';
import { smallMultiplesSvg, type LineSeries } from '../shared/report/svg-plot.ts';
import type { FederationOutcome } from './round-loop.ts';

/**
 * Per-round curves: each site's held-out AUROC of the global model after r rounds
 * (round r's fit evaluates the model from round r-1; the final evaluation gives
 * round R), and the mean training loss.
 */
export function metricsPlotSvg(o: FederationOutcome): string {
  const sites = Object.keys(o.sites);
  const auroc: LineSeries[] = sites.map((site) => ({
    name: site,
    points: [
      ...o.history.filter((h) => h.siteEvaluations[site]).map((h) => [h.round - 1, h.siteEvaluations[site]!.auroc] as [number, number]),
      [o.rounds, o.sites[site]!.auroc] as [number, number],
    ],
  }));
  const loss: LineSeries[] = [
    { name: 'mean training loss', points: o.history.map((h) => [h.round, h.metrics.train_loss ?? NaN] as [number, number]) },
  ];
  return smallMultiplesSvg(
    [
      { title: `Held-out AUROC per site (${o.model}, ${o.strategy})`, xLabel: 'round', yLabel: 'AUROC', series: auroc, yMin: 0.4, yMax: 1 },
      { title: 'Training loss', xLabel: 'round', yLabel: 'loss', series: loss },
    ],
    2,
  );
}

/** Writes results.json, metrics.svg and the final model (model.f32: float32 little-endian, canonical order) into a fresh run folder. */
export function writeRunReport(dir: string, results: unknown, outcome: FederationOutcome): { results: string; plot: string; model: string } {
  mkdirSync(dir, { recursive: true });
  const paths = { results: join(dir, 'results.json'), plot: join(dir, 'metrics.svg'), model: join(dir, 'model.f32') };
  writeFileSync(paths.results, JSON.stringify(results, null, 2) + '\n');
  writeFileSync(paths.plot, metricsPlotSvg(outcome));
  const g = outcome.globalModel;
  writeFileSync(paths.model, new Uint8Array(g.buffer, g.byteOffset, g.byteLength));
  return paths;
}

export type { EvalMetrics };

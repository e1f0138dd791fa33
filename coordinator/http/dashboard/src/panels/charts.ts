/**
 * Loss and AUROC per round, for the federation and per site, drawn with uPlot. A chart is
 * rebuilt only when its series change (a site appears); otherwise its data is replaced.
 *
 * Round r's fit evaluates the global model the round started from, so the per-site AUROC
 * and the federation's eval_auroc of round r describe the model after r - 1 rounds: the
 * AUROC chart's x axis is rounds trained (as the run folder's metrics.svg), and the final
 * evaluation adds the model after the last round. The loss chart stays by round.
 */
import uPlot from 'uplot';
import { byId, el } from '../dom.ts';
import type { FederationStatus } from '../types.ts';

/** Okabe-Ito: distinguishable with the common colour-vision deficiencies. */
const PALETTE = ['#0072B2', '#E69F00', '#009E73', '#CC79A7', '#56B4E9', '#D55E00', '#F0E442', '#000000'];

interface Series {
  label: string;
  values: (number | null)[];
  dash?: boolean;
}

interface ChartSpec {
  id: string;
  rounds: number[];
  series: Series[];
  xLabel: string;
  yLabel: string;
}

/** 1, 2, 5 x 10^k round steps for the x axis, up to 500,000. */
const ROUND_STEPS = Array.from({ length: 6 }, (_, k) => [1, 2, 5].map((m) => m * 10 ** k)).flat();

const charts = new Map<string, { plot: uPlot; key: string }>();

function value(x: number | undefined): number | null {
  return typeof x === 'number' && Number.isFinite(x) ? x : null;
}

export function chartSpecs(s: FederationStatus): ChartSpec[] {
  const rounds = s.history.map((h) => h.round);
  const curves = new Map((s.siteCurves ?? []).map((c) => [c.round, c.sites]));
  const sites = [...new Set((s.siteCurves ?? []).flatMap((c) => Object.keys(c.sites)))].sort();
  const perSite = (metric: 'auroc' | 'loss'): Series[] =>
    sites.map((site) => ({ label: site, values: rounds.map((r) => value(curves.get(r)?.[site]?.[metric])) }));
  const lossSites = perSite('loss').filter((x) => x.values.some((v) => v !== null));
  return [
    aurocChart(s, rounds, sites, perSite('auroc')),
    {
      id: 'chart-loss',
      rounds,
      xLabel: 'round',
      yLabel: 'loss',
      series: [
        { label: 'federation (training)', values: s.history.map((h) => value(h.metrics.train_loss)), dash: true },
        ...(s.history.some((h) => value(h.metrics.eval_loss) !== null) ? [{ label: 'federation (held-out)', values: s.history.map((h) => value(h.metrics.eval_loss)) }] : []),
        ...lossSites.map((x) => ({ ...x, label: `${x.label} (held-out)` })),
      ],
    },
  ];
}

/** AUROC by rounds trained: round r's figures at r - 1, then the final evaluation's at the rounds it had. */
function aurocChart(s: FederationStatus, rounds: number[], sites: string[], perSite: Series[]): ChartSpec {
  const f = s.final;
  // The history holds fit rounds only: the final evaluation's point is always new.
  const last = f ? [f.trainingRounds] : [];
  const finalOf = (site: string) => value(f?.sites[site]?.auroc ?? f?.testSites[site]?.auroc);
  return {
    id: 'chart-auroc',
    rounds: [...rounds.map((r) => r - 1), ...last],
    xLabel: 'rounds trained',
    yLabel: 'held-out AUROC',
    series: [
      { label: 'federation', values: [...s.history.map((h) => value(h.metrics.eval_auroc)), ...last.map(() => value(f?.auroc))], dash: true },
      ...perSite.map((x, i) => ({ ...x, values: [...x.values, ...last.map(() => finalOf(sites[i]!))] })),
    ],
  };
}

function options(spec: ChartSpec, width: number): uPlot.Options {
  return {
    width,
    height: 240,
    scales: { x: { time: false } },
    // Whole rounds only, in steps that still fit a 30,000-round run (steps stopped at 100: no numbers past ~1,000 rounds).
    axes: [{ label: spec.xLabel, incrs: ROUND_STEPS }, { label: spec.yLabel, size: 60 }],
    series: [
      { label: spec.xLabel },
      ...spec.series.map((x, i) => ({
        label: x.label,
        stroke: PALETTE[i % PALETTE.length],
        width: x.dash ? 2.5 : 1.5,
        ...(x.dash ? { dash: [6, 4] } : {}),
        points: { show: spec.rounds.length < 40 },
        spanGaps: true,
      })),
    ],
    legend: { show: true },
  };
}

function renderChart(spec: ChartSpec): void {
  const box = byId(spec.id);
  const data: uPlot.AlignedData = [spec.rounds, ...spec.series.map((x) => x.values)];
  const hasData = spec.series.some((x) => x.values.some((v) => v !== null));
  const old = charts.get(spec.id);
  if (!hasData) {
    old?.plot.destroy();
    charts.delete(spec.id);
    box.replaceChildren(el('span', 'no rounds yet', 'empty'));
    return;
  }
  const key = spec.series.map((x) => x.label).join('|');
  if (old && old.key === key) return void old.plot.setData(data);
  old?.plot.destroy();
  box.replaceChildren();
  const width = Math.max(320, Math.min(box.clientWidth || 600, 900));
  charts.set(spec.id, { plot: new uPlot(options(spec, width), data, box), key });
}

export function renderCharts(s: FederationStatus): void {
  for (const spec of chartSpecs(s)) renderChart(spec);
}

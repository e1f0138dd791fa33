/**
 * Loss and AUROC per round, for the federation and per site, drawn with uPlot (what is drawn:
 * chart-specs.ts). A chart is rebuilt only when its series change (a site appears); otherwise
 * its data is replaced.
 */
import uPlot from 'uplot';
import { byId, el } from '../dom.ts';
import type { FederationStatus } from '../types.ts';
import { chartSpecs, type ChartSpec, type Series } from './chart-specs.ts';

/** Okabe-Ito: distinguishable with the common colour-vision deficiencies. */
const PALETTE = ['#0072B2', '#E69F00', '#009E73', '#CC79A7', '#56B4E9', '#D55E00', '#F0E442', '#000000'];
/** Rounds with fewer sites: a red no line uses. */
const MARK_COLOUR = '#c0392b';

/** 1, 2, 5 x 10^k round steps for the x axis, up to 500,000. */
const ROUND_STEPS = Array.from({ length: 6 }, (_, k) => [1, 2, 5].map((m) => m * 10 ** k)).flat();

const charts = new Map<string, { plot: uPlot; key: string }>();

/** A ring around each marked point, no line; its own colour, so the sites' colours stay put when marks appear. */
function marks(label: string): uPlot.Series {
  return { label, stroke: MARK_COLOUR, fill: '#ffffff', width: 2, paths: () => null, points: { show: true, size: 11, width: 2, stroke: MARK_COLOUR, fill: '#ffffff00' } };
}

function line(x: Series, rounds: number, i: number): uPlot.Series {
  return {
    label: x.label,
    stroke: PALETTE[i % PALETTE.length],
    width: x.dash ? 2.5 : 1.5,
    ...(x.dash ? { dash: [6, 4] } : {}),
    points: { show: rounds < 40 },
    spanGaps: true,
  };
}

function options(spec: ChartSpec, width: number): uPlot.Options {
  let lines = 0;
  return {
    width,
    height: 240,
    scales: { x: { time: false } },
    // Whole rounds only, in steps that still fit a 30,000-round run (steps stopped at 100: no numbers past ~1,000 rounds).
    axes: [{ label: spec.xLabel, incrs: ROUND_STEPS }, { label: spec.yLabel, size: 60 }],
    series: [
      { label: spec.xLabel },
      ...spec.series.map((x) => (x.marks ? marks(x.label) : line(x, spec.rounds.length, lines++))),
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

/**
 * What the charts show, from a status document: rounds and series, no drawing (charts.ts draws
 * them with uPlot), so it can be checked without a browser.
 *
 * Round r's fit evaluates the global model the round started from, so the per-site AUROC
 * and the federation's eval_auroc of round r describe the model after r - 1 rounds: the
 * AUROC chart's x axis is rounds trained (as the run folder's metrics.svg), and the final
 * evaluation adds the model after the last round. The loss chart stays by round.
 */
import type { FederationStatus } from '../types.ts';

export interface Series {
  label: string;
  values: (number | null)[];
  dash?: boolean;
  /** Drawn as marks on points, no line: rounds to tell apart on the line they sit on. */
  marks?: boolean;
}

export interface ChartSpec {
  id: string;
  rounds: number[];
  series: Series[];
  xLabel: string;
  yLabel: string;
}

type Round = FederationStatus['history'][number];

function value(x: number | undefined): number | null {
  return typeof x === 'number' && Number.isFinite(x) ? x : null;
}

/**
 * The federation's figures of rounds that fewer sites took part in than the most any round had:
 * a figure over other hospitals' rows, not like for like with its neighbours (a dip there can be
 * who was missing, not the model). Absent where every round had as many.
 */
function fewerSites(history: readonly Round[], figure: (h: Round) => number | null): Series[] {
  const most = Math.max(0, ...history.map((h) => h.participants));
  const fewer = history.map((h) => (h.participants < most ? figure(h) : null));
  return fewer.some((v) => v !== null) ? [{ label: `federation: a round with fewer than ${most} sites`, values: fewer, marks: true }] : [];
}

export function chartSpecs(s: FederationStatus): ChartSpec[] {
  const rounds = s.history.map((h) => h.round);
  const curves = new Map((s.siteCurves ?? []).map((c) => [c.round, c.sites]));
  const sites = [...new Set((s.siteCurves ?? []).flatMap((c) => Object.keys(c.sites)))].sort();
  const perSite = (metric: 'auroc' | 'loss'): Series[] =>
    sites.map((site) => ({ label: site, values: rounds.map((r) => value(curves.get(r)?.[site]?.[metric])) }));
  const lossSites = perSite('loss').filter((x) => x.values.some((v) => v !== null));
  const trainLoss = (h: Round) => value(h.metrics.train_loss);
  return [
    aurocChart(s, rounds, sites, perSite('auroc')),
    {
      id: 'chart-loss',
      rounds,
      xLabel: 'round',
      yLabel: 'loss',
      series: [
        { label: 'federation (training)', values: s.history.map(trainLoss), dash: true },
        ...fewerSites(s.history, trainLoss),
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
  const auroc = (h: Round) => value(h.metrics.eval_auroc);
  // The final evaluation's own left-out sites are named in its panel; its point is not marked.
  const withFinal = (x: Series): Series => ({ ...x, values: [...x.values, ...last.map(() => null)] });
  return {
    id: 'chart-auroc',
    rounds: [...rounds.map((r) => r - 1), ...last],
    xLabel: 'rounds trained',
    yLabel: 'held-out AUROC',
    series: [
      { label: 'federation', values: [...s.history.map(auroc), ...last.map(() => value(f?.auroc))], dash: true },
      ...fewerSites(s.history, auroc).map(withFinal),
      ...perSite.map((x, i) => ({ ...x, values: [...x.values, ...last.map(() => finalOf(sites[i]!))] })),
    ],
  };
}

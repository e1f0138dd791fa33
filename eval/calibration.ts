/**
 * ECE before and after recalibration, per configuration: the mean over the scored
 * sites, taken per seed, then mean ± std over seeds. Two recalibrations (results
 * `calibration`): the federation's one (p' = sigmoid(a logit(p) + b) fitted on the
 * training sites' held-out rows; a training site's "after" uses parameters fitted on
 * the OTHER training sites' rows, a held-out site's the fit on the training sites), and
 * each training site's own recalibration (shared/metrics/site-calibration.ts: Platt's
 * slope and intercept fitted on its own training rows, scored on its held-out rows).
 */
import { markdownTable } from '../shared/report/table.ts';
import type { RunRecord } from './context.ts';
import { fmtMeanStd, spread } from './summary.ts';

type Pick = (c: NonNullable<RunRecord['calibration']>[string]) => number | undefined;

const meanOver = (r: RunRecord, pick: Pick, sites?: readonly string[]) => {
  const v = Object.entries(r.calibration!)
    .filter(([s]) => !sites || sites.includes(s))
    .map(([, c]) => pick(c))
    .filter((x): x is number => x !== undefined && Number.isFinite(x));
  return v.length ? v.reduce((a, b) => a + b, 0) / v.length : NaN;
};

/** Mean ± std over seeds of a per-site figure, averaged over `sites` (all scored sites when absent) per seed. */
export function calibrationCell(runs: readonly RunRecord[], pick: Pick, sites?: readonly string[]): string {
  const xs = runs.map((r) => meanOver(r, pick, sites)).filter(Number.isFinite);
  return xs.length ? fmtMeanStd(spread(xs)) : '-';
}

/** Per seed, debiased minus baseline of a per-site mean: the paired difference, so a split's effect on both cancels. */
export function pairedDifference(runs: readonly RunRecord[], a: string, b: string, pick: Pick): string {
  const d = pairedDifferences(runs, a, b, pick);
  if (d.length === 0) return '-';
  const m = spread(d);
  return `${m.mean >= 0 ? '+' : ''}${fmtMeanStd(m)}`;
}

/** Per seed: a's mean over the sites minus b's, for the seeds both ran. */
function pairedDifferences(runs: readonly RunRecord[], a: string, b: string, pick: Pick): number[] {
  return runs
    .filter((r) => r.config === a)
    .flatMap((ra) => {
      const rb = runs.find((r) => r.config === b && r.seed === ra.seed);
      return rb ? [meanOver(ra, pick) - meanOver(rb, pick)] : [];
    })
    .filter(Number.isFinite);
}

/** The standard error of the mean paired difference (std / sqrt(seeds)); NaN below two seeds. */
export function pairedStandardError(runs: readonly RunRecord[], a: string, b: string, pick: Pick): { seeds: number; mean: number; se: number } {
  const d = pairedDifferences(runs, a, b, pick);
  const m = spread(d);
  return { seeds: d.length, mean: m.mean, se: d.length > 1 ? m.std / Math.sqrt(d.length) : NaN };
}

export function renderCalibration(runs: readonly RunRecord[], configs: readonly { id: string; label: string }[]): string {
  const withCal = (id: string) => runs.filter((r) => r.config === id && r.calibration && Object.keys(r.calibration).length > 0);
  const hasOwn = runs.some((r) => r.calibration && Object.values(r.calibration).some((c) => c.own));
  const rows = configs.flatMap((c) => {
    const mine = withCal(c.id);
    if (mine.length === 0) return [];
    const row = [c.label, calibrationCell(mine, (x) => x.eceBefore), calibrationCell(mine, (x) => x.eceAfter)];
    return [hasOwn ? [...row, calibrationCell(mine, (x) => x.own?.eceAfter)] : row];
  });
  if (rows.length === 0) return '';
  const out = [
    '\n**Calibration** (ECE, 10 bins, mean over the scored sites): the raw scores; after the recalibration ' +
      'p\' = sigmoid(a logit(p) + b) fitted by the federation from the training sites\' held-out rows (sums only), ' +
      'each training site scored with parameters fitted on the other sites\' rows' +
      (hasOwn
        ? '; and after each site\'s own recalibration, p\' = sigmoid(a logit(p) + b), (a, b) fitted by the site on its own ' +
          'training rows by maximum likelihood with Platt\'s targets (what a deployment applies to its own scores; the ' +
          'held-out rows scored here are never the rows it was fitted on; a site whose training rows hold one class fits none).'
        : '.'),
    '',
    markdownTable(['model', 'ECE, raw scores', 'ECE, federation\'s recalibration', ...(hasOwn ? ['ECE, own recalibration'] : [])], rows),
  ];
  if (hasOwn) out.push(renderWhy(runs, configs));
  return out.join('\n') + '\n';
}

/** Per site: the prevalence of its training rows against the model's mean score on them, and ECE raw and shifted. */
function renderWhy(runs: readonly RunRecord[], configs: readonly { id: string; label: string }[]): string {
  const shown = configs.filter((c) => ['baseline', 'debiased'].includes(c.id) && withOwn(runs, c.id).length > 0);
  if (shown.length === 0) return '';
  const sites = [...new Set(withOwn(runs, shown[0]!.id).flatMap((r) => Object.keys(r.calibration!)))];
  const rows = shown.flatMap((c) =>
    sites.map((s) => {
      const mine = withOwn(runs, c.id);
      const one = (pick: Pick) => calibrationCell(mine, pick, [s]);
      return [s, c.id, one((x) => x.own?.prevalence), one((x) => x.own?.meanScore), one((x) => (x.own ? (x.own.a ?? 1) : undefined)), one((x) => x.own?.b), one((x) => x.eceBefore), one((x) => x.own?.eceAfter)];
    }),
  );
  const diff = (pick: Pick) => pairedDifference(runs, 'debiased', 'baseline', pick);
  // Mean score minus prevalence per site and model, from the records (the text below states only what they show).
  const gap = (id: string, s: string) => {
    const xs = withOwn(runs, id).map((r) => r.calibration![s]?.own).filter((o) => o !== undefined).map((o) => o.meanScore - o.prevalence);
    return xs.length ? xs.reduce((x, y) => x + y, 0) / xs.length : NaN;
  };
  const list = (xs: string[]) => (xs.length ? xs.join(', ') : 'no site');
  const first = shown[0]!.id;
  const above = sites.filter((s) => gap(first, s) > 0.02);
  const below = sites.filter((s) => gap(first, s) < -0.02);
  const worse = shown.length > 1 ? sites.filter((s) => Math.abs(gap('debiased', s)) > Math.abs(gap('baseline', s))) : [];
  return [
    '',
    '*Why one recalibration does not fit every site*: on its own training rows, each hospital\'s prevalence against the ' +
      `model's mean score there (mean ± std over seeds). The ${first} model's mean score is above the prevalence at ` +
      `${list(above)} and below it at ${list(below)} (by more than 0.02), so no single (a, b) shared by the sites corrects both` +
      (shown.length > 1 ? `; the debiased model misses by more at ${list(worse)}` : '') +
      '. The site\'s slope a and intercept b are fitted on those training rows; ECE is on its held-out rows.',
    '',
    markdownTable(['site', 'model', 'prevalence (train rows)', 'mean score (train rows)', 'slope a', 'intercept b', 'ECE raw', 'ECE recalibrated'], rows),
    `Debiased minus baseline, mean ECE over the sites, paired by seed: raw ${diff((x) => x.eceBefore)}, ` +
      `federation's recalibration ${diff((x) => x.eceAfter)}, own recalibration ${diff((x) => x.own?.eceAfter)}.`,
    '',
  ].join('\n');
}

function withOwn(runs: readonly RunRecord[], id: string): RunRecord[] {
  return runs.filter((r) => r.config === id && r.calibration && Object.values(r.calibration).some((c) => c.own));
}

/** Mean over seeds of the per-seed mean over sites, for one configuration (NaN when nothing was recorded). */
export function meanEce(runs: readonly RunRecord[], config: string, pick: Pick): number {
  const xs = runs.filter((r) => r.config === config && r.calibration).map((r) => meanOver(r, pick)).filter(Number.isFinite);
  return xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN;
}

/**
 * The calibration target, judged on what a deployment applies at its own site
 * (each site's own recalibration): debiased mean ECE at or below the baseline's. Undefined
 * when the runs hold no own shift.
 */
export function calibrationTarget(runs: readonly RunRecord[]): { debiased: number; baseline: number; rawDebiased: number; rawBaseline: number; met: boolean } | undefined {
  const own: Pick = (c) => c.own?.eceAfter;
  const debiased = meanEce(runs, 'debiased', own);
  const baseline = meanEce(runs, 'baseline', own);
  if (!Number.isFinite(debiased) || !Number.isFinite(baseline)) return undefined;
  const raw: Pick = (c) => c.eceBefore;
  return { debiased, baseline, rawDebiased: meanEce(runs, 'debiased', raw), rawBaseline: meanEce(runs, 'baseline', raw), met: debiased <= baseline + 1e-12 };
}

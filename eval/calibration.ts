/**
 * ECE before and after the federation's recalibration (coordinator/calibration.ts),
 * per configuration: the mean over the scored sites, taken per seed, then mean ± std
 * over seeds. A training site's "after" uses parameters fitted on the other training
 * sites' held-out rows; a held-out site's uses the fit on the training sites.
 */
import { markdownTable } from '../shared/report/table.ts';
import type { RunRecord } from './context.ts';
import { fmtMeanStd, spread } from './summary.ts';

export function renderCalibration(runs: readonly RunRecord[], configs: readonly { id: string; label: string }[]): string {
  const rows = configs.flatMap((c) => {
    const mine = runs.filter((r) => r.config === c.id && r.calibration && Object.keys(r.calibration).length > 0);
    if (mine.length === 0) return [];
    const mean = (r: RunRecord, k: 'eceBefore' | 'eceAfter') => {
      const v = Object.values(r.calibration!).map((x) => x[k]).filter(Number.isFinite);
      return v.reduce((a, b) => a + b, 0) / v.length;
    };
    return [[c.label, fmtMeanStd(spread(mine.map((r) => mean(r, 'eceBefore')))), fmtMeanStd(spread(mine.map((r) => mean(r, 'eceAfter'))))]];
  });
  if (rows.length === 0) return '';
  return (
    '\n**Calibration** (ECE, 10 bins, mean over the scored sites): the raw scores, and after the recalibration ' +
    'p\' = sigmoid(a logit(p) + b) fitted by the federation from the training sites\' held-out rows (sums only); ' +
    'each training site is scored with parameters fitted on the other sites\' rows.\n\n' +
    markdownTable(['model', 'ECE, raw scores', 'ECE, recalibrated'], rows) +
    '\n'
  );
}

/**
 * The final evaluation: the model after the last round on each site's held-out rows, once it
 * is in. The rounds' figures score the model each round started from; this is the only
 * figure of the final model before results.json is read (an outside try found it nowhere live).
 */
import { byId, emptyRow, fmt, row, td } from '../dom.ts';
import type { FederationStatus } from '../types.ts';
import { FINAL_AUROC_MEANING } from '../../../../../shared/federation/final-evaluation.ts';

export function renderFinal(s: FederationStatus): void {
  const f = s.final;
  byId('final-words').textContent = f
    ? `The model after ${f.trainingRounds} round${f.trainingRounds === 1 ? '' : 's'}: AUROC ${fmt(f.auroc)} (${FINAL_AUROC_MEANING}).`
    : 'Not in yet: the final model is scored at every site after the last round.';
  const rows = f
    ? [
        ...Object.entries(f.sites).map(([site, e]) => row([td(site), td('training'), td(fmt(e.n, 0), 'num'), td(fmt(e.auroc), 'num'), td(fmt(e.accuracy), 'num'), td(fmt(e.ece), 'num')])),
        ...Object.entries(f.testSites).map(([site, e]) => row([td(site), td('test only'), td(fmt(e.n, 0), 'num'), td(fmt(e.auroc), 'num'), td(fmt(e.accuracy), 'num'), td(fmt(e.ece), 'num')])),
      ]
    : [];
  byId('final').replaceChildren(...(rows.length ? rows : [emptyRow(f ? 'no site evaluated' : 'no final evaluation yet', 6)]));
}

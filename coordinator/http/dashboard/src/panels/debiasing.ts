/** The debiasing decision in words, and its health figures per round (METHOD.md, INTERFACES.md `debiasing`). */
import { byId, el, emptyRow, fmt, row, td } from '../dom.ts';
import type { DebiasingReport, FederationStatus } from '../types.ts';
import { decisionInWords } from '../../../../../shared/federation/debiasing-words.ts';

function mapText(m: Record<string, number> | undefined): string {
  return Object.entries(m ?? {}).map(([k, v]) => `${k} ${fmt(v)}`).join(', ') || '–';
}

export function renderDebiasing(s: FederationStatus): void {
  const d = s.debiasing as DebiasingReport | undefined;
  const words = byId('debias-words');
  const reason = byId('debias-reason');
  if (!d) {
    words.textContent = s.model === 'debiased' ? 'No decision yet: it is taken after the statistics rounds.' : `Not a debiased model (${s.model}): no debiasing decision.`;
    reason.textContent = '';
    byId('health').replaceChildren(emptyRow('no health figures', 7));
    return;
  }
  words.textContent = decisionInWords(d);
  reason.textContent = d.reason ? `Why: ${d.reason}` : '';
  const flagged = byId('flagged');
  flagged.replaceChildren(...(d.flagged ?? []).map((f) => el('li', `${f.feature}: label correlation ${fmt(f.labelCorr)}, within-class ${fmt(f.withinClassCorr)}${f.source ? ` (${f.source})` : ''}`)));
  const rows = (d.health ?? []).map((h) => {
    const reversed = Object.values(h.weightedAssociation ?? {}).some((v) => v < 0.5);
    return row([
      td(h.round, 'num'),
      td(mapText(h.weightedAssociation), reversed ? 'warn' : undefined, 'weighted AUROC of the flagged reading against the label (0.5 balanced, below reversed)'),
      td(mapText(h.reliance), undefined, 'within-class correlation of the score with the flagged reading (0 = unused)'),
      td(fmt(h.conflictingShare), 'num', 'share of the training weight on up-weighted rows (those the weighting favours)'),
      td(fmt(h.effectiveSampleSize), 'num', 'effective sample size of the weights, as a share of the training rows (1 = unweighted)'),
      td(fmt(h.priorDrift), 'num'),
      td(h.tempered ? `tempered (×${fmt(h.temper)})` : fmt(h.temper), h.tempered ? 'warn' : 'num'),
    ]);
  });
  byId('health').replaceChildren(...(rows.length ? rows : [emptyRow('no training round yet', 7)]));
}

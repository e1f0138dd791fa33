/** The debiasing decision in words, and its health figures per round (METHOD.md, INTERFACES.md `debiasing`). */
import { byId, el, emptyRow, fmt, row, td } from '../dom.ts';
import type { DebiasingReport, FederationStatus } from '../types.ts';

export function decisionInWords(d: DebiasingReport): string {
  const flagged = d.flagged ?? [];
  const names = flagged.map((f) => f.feature).join(', ');
  if (d.decision === 'on')
    return `Debiasing is ON${d.mode ? ` (mode ${d.mode})` : ''}: ${flagged.length} reading${flagged.length === 1 ? '' : 's'} flagged as a shortcut (${names || 'none named'})` +
      `${typeof d.share === 'number' ? `, ${fmt(d.share * 100, 0)}% of the training weight on bias-conflicting rows` : ''}.`;
  if (d.decision === 'off') return `Debiasing is OFF${d.mode ? ` (mode ${d.mode})` : ''}: the model trains without reweighting${names ? ` (checked: ${names})` : ''}.`;
  return `Debiasing decision: ${d.decision ?? 'not made yet'}.`;
}

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
      td(fmt(h.conflictingShare), 'num'),
      td(fmt(h.effectiveSampleSize), 'num'),
      td(fmt(h.priorDrift), 'num'),
      td(h.tempered ? `tempered (×${fmt(h.temper)})` : fmt(h.temper), h.tempered ? 'warn' : 'num'),
    ]);
  });
  byId('health').replaceChildren(...(rows.length ? rows : [emptyRow('no training round yet', 7)]));
}

/** The missingness-pattern prior: each pattern with its share, and the suppressed cells marked. */
import { byId, el, emptyRow, fmt, row, td } from '../dom.ts';
import type { FederationStatus } from '../types.ts';

function barCell(p: number): HTMLTableCellElement {
  const bar = el('span', null, 'bar');
  // CSSOM, not a style attribute: the page's CSP allows no inline styles.
  bar.style.width = `${Math.round(Math.max(0, Math.min(1, p)) * 100)}%`;
  const c = td(null, 'barcell');
  c.appendChild(bar);
  return c;
}

export function renderPrior(s: FederationStatus): void {
  const p = s.prior;
  const d = s.priorDetail;
  byId('prior-version').textContent = p
    ? `version ${p.version} · ${p.patterns.length} patterns · one character per modality${d ? ` (${d.modalities.join(', ')})` : ''}, 1 = present` +
      (d ? ` · patterns with fewer than ${d.minCount} rows are suppressed` : '')
    : '';
  const rows = (p?.patterns ?? []).map((x) => row([td(x.pattern, 'pattern'), td(fmt(x.p), 'num'), barCell(x.p), td('')]));
  for (const pattern of d?.suppressed ?? []) {
    const tr = row([td(pattern, 'pattern suppressed'), td('–', 'num'), td(''), td(`suppressed: fewer than ${d!.minCount} rows, left out of the prior`, 'suppressed-note')]);
    tr.className = 'suppressed';
    rows.push(tr);
  }
  byId('prior').replaceChildren(...(rows.length ? rows : [emptyRow('no pattern prior yet (agreed in the statistics round)', 4)]));
}

/** The event log (newest first): joins, drops, refusals and failures with their reasons. */
import { byId, emptyRow, row, td } from '../dom.ts';
import type { FederationStatus } from '../types.ts';

const SHOWN = 60;

export function renderEvents(s: FederationStatus): void {
  const events = (s.events ?? []).slice(-SHOWN).reverse();
  const rows = events.map((e) => {
    const tr = row([td(new Date(e.at).toLocaleTimeString(), undefined, e.at), td(e.kind, `kind ${e.kind}`), td(e.site ?? ''), td(e.message), td(e.reason ?? '', 'err')]);
    tr.dataset.kind = e.kind;
    return tr;
  });
  byId('events').replaceChildren(...(rows.length ? rows : [emptyRow('no events yet', 5)]));
}

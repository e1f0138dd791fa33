/** Past runs from the coordinator's run folder, and the rounds table of this one. */
import { byId, emptyRow, fmt, row, td } from '../dom.ts';
import type { FederationStatus } from '../types.ts';
import { STATUS_RECENT_ROUNDS } from '../../../../../shared/federation/dashboard-status.ts';

export function renderRuns(s: FederationStatus): void {
  const runs = s.pastRuns;
  const rows = (runs ?? []).map((r) =>
    row([
      td(r.name),
      td(r.complete === undefined ? 'no results' : r.complete ? 'complete' : 'incomplete'),
      td(r.model ?? ''),
      td(fmt(r.rounds), 'num'),
      // A figure that leaves a site out says so: beside the others it is not like for like (an outside try).
      td(`${fmt(r.finalAuroc)}${r.missing?.length ? ` (without ${r.missing.join(', ')})` : ''}`, 'num'),
    ]),
  );
  byId('runs').replaceChildren(...(rows.length ? rows : [emptyRow(runs ? 'no finished runs in the run folder yet' : 'not reported by this coordinator', 5)]));
}

export function renderRounds(s: FederationStatus): void {
  // A map, not a find per row: the table was quadratic in the rounds and froze the page on a long run (an outside try).
  const failures = new Map((s.siteCurves ?? []).map((c) => [c.round, c.failed]));
  const shown = s.history.slice(-STATUS_RECENT_ROUNDS);
  const rows = [...shown].reverse().map((h) => {
    const failed = (failures.get(h.round) ?? []).map((f) => `${f.site}: ${f.reason}`);
    // A refused round left the model as it was: said first, where it read like an accepted one.
    if (h.accepted === false) failed.unshift(`not accepted: ${h.reason ?? 'no reason given'}`);
    return row([
      td(h.round, 'num'),
      td(h.participants, 'num'),
      td(h.failures, 'num', failed.join('\n') || undefined),
      td(fmt(h.metrics.train_loss), 'num'),
      td(fmt(h.metrics.eval_auroc), 'num'),
      td(fmt(h.durationMs / 1000, 1), 'num'),
      td(failed.join('; '), 'err'),
    ]);
  });
  const total = s.historyRounds ?? s.history.length;
  if (total > shown.length) rows.push(emptyRow(`the newest ${shown.length} of ${total} rounds; the run's results.json has every round`, 7));
  byId('rounds').replaceChildren(...(rows.length ? rows : [emptyRow('no finished rounds yet', 7)]));
}

/** The sites table: state, last seen, rows, rounds answered, fedcausal version, readiness and the last error with its reason. */
import { ago, byId, el, emptyRow, fmt, row, td } from '../dom.ts';
import type { FederationStatus, SiteStatus } from '../types.ts';
import { siteProblem } from '../../../../../shared/federation/dashboard-status.ts';

/** A site's state in the sites table, in words (without a browser: tests read it). */
export function siteStateText(s: SiteStatus, current: FederationStatus['current'], stale: boolean): string {
  const text = s.online ? 'online' : 'offline';
  if (stale) return `unknown (last: ${text})`;
  if (current?.reported.includes(s.name)) return `${text} · reported`;
  if (current?.failed.some((f) => f.site === s.name)) return `${text} · failed this round`;
  if (!current?.expected.includes(s.name) || !s.online) return text;
  // A slow link's upload reads otherwise like a site still training.
  const u = current.uploading?.find((v) => v.site === s.name);
  if (u) return `${text} · sending its result (${Math.floor((100 * u.receivedBytes) / Math.max(1, u.totalBytes))}%)`;
  return `${text} · ${current.receivingTask?.includes(s.name) ? 'receiving its task' : 'working'}`;
}

function stateCell(s: SiteStatus, current: FederationStatus['current'], stale: boolean): HTMLTableCellElement {
  const text = siteStateText(s, current, stale);
  const c = td(null, stale ? 'state stale' : 'state');
  const dot = el('span', null, s.online && !stale ? 'dot on' : 'dot');
  c.append(dot, ' ', text);
  c.dataset.site = s.name;
  c.dataset.online = String(s.online);
  return c;
}

export function renderSites(s: FederationStatus, stale: boolean): void {
  const body = byId('sites');
  const now = Date.now();
  const rows = s.sites.map((site) => {
    const detail = s.siteDetails?.[site.name];
    const failure = detail?.lastFailure;
    // A refusal says when: it stays until the site next completes a training round.
    const refusal = site.lastError ? `${site.lastError}${site.lastErrorAt ? ` (${ago(site.lastErrorAt, now)})` : ''}` : '';
    const readiness = site.readiness ? `${site.readiness.verdict}${site.readiness.reasons.length ? ` (${site.readiness.reasons.length})` : ''}` : '–';
    const tr = row([
      td(site.name),
      stateCell(site, s.current, stale),
      td(ago(site.lastSeen, now), undefined, site.lastSeen ?? undefined),
      td(fmt(detail?.rows), 'num'),
      td(site.roundsCompleted, 'num'),
      td(site.version ?? '–', 'version'),
      td(readiness, undefined, site.readiness?.reasons.map((r) => JSON.stringify(r)).join('\n')),
      td(siteProblem(failure, s.rounds, site.lastError, refusal, ' · last refusal: '), 'err'),
    ]);
    tr.dataset.site = site.name;
    return tr;
  });
  body.replaceChildren(...(rows.length ? rows : [emptyRow('no sites', 8)]));
}

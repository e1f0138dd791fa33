/** The header cards and the round being collected now: who was asked, who answered, the deadline. */
import { byId, el } from '../dom.ts';
import type { FederationStatus } from '../types.ts';

export function renderCards(s: FederationStatus, stale: boolean): void {
  byId('federation').textContent = s.federation;
  byId('meta').textContent = `model ${s.model} · strategy ${s.strategy}`;
  const shown = Math.min(s.round, s.rounds);
  byId('round').textContent = s.round > s.rounds ? `final evaluation (${s.rounds} rounds)` : `${shown} / ${s.rounds}`;
  // When the coordinator stopped answering, its last state and the sites it counted online are history.
  byId('state').textContent = stale ? `unknown (last: ${s.state})` : s.state;
  const online = s.sites.filter((x) => x.online).length;
  byId('online').textContent = stale ? `unknown (last: ${online} / ${s.sites.length})` : `${online} / ${s.sites.length}`;
}

let deadline: number | undefined;

export function renderCurrent(s: FederationStatus, stale: boolean): void {
  const box = byId('current');
  const c = s.current;
  if (!c || stale) {
    deadline = undefined;
    box.replaceChildren(el('span', stale ? 'not known while the coordinator is unreachable' : 'no round is being collected', 'empty'));
    byId('countdown').textContent = '';
    return;
  }
  deadline = Date.parse(c.deadline);
  const what = c.kind === 'fit' ? `training round ${c.round}` : c.kind === 'evaluate' ? 'final evaluation' : `statistics round ${c.stage ?? ''}`.trim();
  const list = el('ul', null, 'reporters');
  for (const site of c.expected) {
    const failed = c.failed.find((f) => f.site === site);
    const state = c.reported.includes(site) ? 'reported' : failed ? `failed: ${failed.reason}` : 'waiting';
    const li = el('li', `${site}: ${state}`, c.reported.includes(site) ? 'ok' : failed ? 'bad' : 'wait');
    li.dataset.site = site;
    list.appendChild(li);
  }
  const done = c.reported.length + c.failed.length;
  box.replaceChildren(el('div', `${what}: ${c.reported.length} of ${c.expected.length} reported${c.failed.length ? `, ${c.failed.length} failed` : ''}`, 'sub'), progress(done, c.expected.length), list);
  tickCountdown();
}

function progress(done: number, of: number): HTMLElement {
  const p = el('progress');
  p.max = Math.max(of, 1);
  p.value = done;
  return p;
}

/** Redrawn every second between polls, so the countdown moves smoothly. */
export function tickCountdown(now = Date.now()): void {
  const out = byId('countdown');
  if (deadline === undefined) return void (out.textContent = '');
  const s = Math.max(0, Math.round((deadline - now) / 1000));
  out.textContent = `deadline in ${s >= 60 ? `${Math.floor(s / 60)} min ${s % 60} s` : `${s} s`} (${new Date(deadline).toLocaleTimeString()})`;
}


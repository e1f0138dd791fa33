/**
 * The coordinator's dashboard: polls api/status every 2 s and redraws each panel. Served as
 * /dashboard.js and /dashboard.css (no inline script or style: the page's CSP forbids them).
 */
import 'uplot/dist/uPlot.min.css';
import './style.css';
import { fetchStatus, takeTokenFromUrl } from './api.ts';
import { describe, nextConnection, type Connection } from './connection.ts';
import { byId } from './dom.ts';
import { renderCharts } from './panels/charts.ts';
import { renderDebiasing } from './panels/debiasing.ts';
import { renderEvents } from './panels/events.ts';
import { renderFinal } from './panels/final.ts';
import { renderPrior } from './panels/prior.ts';
import { renderPrivacy } from './panels/privacy.ts';
import { renderCards, renderCurrent, tickCountdown } from './panels/round.ts';
import { renderRounds, renderRuns } from './panels/runs.ts';
import { renderSites } from './panels/sites.ts';
import type { FederationStatus } from './types.ts';

const POLL_MS = 2000;
const TIMEOUT_MS = 5000;

let connection: Connection = { kind: 'connecting' };
let last: FederationStatus | undefined;

function render(s: FederationStatus, stale: boolean): void {
  renderCards(s, stale);
  renderCurrent(s, stale);
  renderSites(s, stale);
  renderCharts(s);
  renderRounds(s);
  renderFinal(s);
  renderPrior(s);
  renderDebiasing(s);
  renderPrivacy(s);
  renderEvents(s);
  renderRuns(s);
}

function showConnection(): void {
  const d = describe(connection);
  const banner = byId('conn');
  banner.textContent = d.text;
  banner.className = `conn ${d.cls}`;
  document.body.dataset.connection = connection.kind;
}

async function poll(): Promise<void> {
  const result = await fetchStatus(TIMEOUT_MS);
  connection = nextConnection(connection, result, last, Date.now());
  if (result.kind === 'ok') last = result.status;
  try {
    // Unreachable: the last status stays on screen, marked stale; it is never shown as live.
    if (last) render(last, connection.kind === 'unreachable' || connection.kind === 'unauthorized');
  } finally {
    showConnection();
  }
}

async function loop(): Promise<void> {
  await poll().catch((e: unknown) => console.error('dashboard render failed', e));
  // A finished coordinator that has stopped serving will not come back with this run: poll slowly.
  setTimeout(() => void loop(), connection.kind === 'finished' && !connection.serving ? POLL_MS * 5 : POLL_MS);
}

takeTokenFromUrl();
showConnection();
setInterval(() => tickCountdown(), 1000);
void loop();

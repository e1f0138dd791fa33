/**
 * The coordinator's dashboard: one self-contained HTML page (inline CSS and
 * script, no external assets, nothing from a CDN, so it works on an air-gapped
 * hospital network) that polls api/status every 2 s and redraws.
 *
 * The script builds the DOM with textContent only, never innerHTML: site errors
 * are free text that must not become markup. The server sends a
 * Content-Security-Policy allowing exactly this script and style (by hash).
 */
import { createHash } from 'node:crypto';

export const POLL_INTERVAL_MS = 2000;

export const DASHBOARD_STYLE = `
body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5rem; color: #222; background: #fafafa; }
h1 { font-size: 1.3rem; margin: 0 0 .2rem; }
h2 { font-size: 1.05rem; margin: 1.5rem 0 .4rem; }
.sub { color: #666; }
.cards { display: flex; gap: 1rem; flex-wrap: wrap; margin-top: 1rem; }
.card { background: #fff; border: 1px solid #ddd; border-radius: 6px; padding: .6rem 1rem; min-width: 8rem; }
.card .v { font-size: 1.4rem; font-weight: 600; }
table { border-collapse: collapse; background: #fff; }
th, td { border: 1px solid #ddd; padding: .25rem .6rem; text-align: left; }
th { background: #f0f0f0; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
td.err { color: #b00020; max-width: 30rem; overflow-wrap: anywhere; }
.dot { display: inline-block; width: .7rem; height: .7rem; border-radius: 50%; background: #bbb; }
.dot.on { background: #1a9850; }
#conn.bad { color: #b00020; }
#conn.ok { color: #1a9850; }
.empty { color: #888; font-style: italic; }
svg text { font: 11px sans-serif; fill: #555; }
pre { background: #fff; border: 1px solid #ddd; padding: .5rem; overflow: auto; }
`;

export const DASHBOARD_SCRIPT = `
'use strict';
(function () {
  var POLL_MS = ${POLL_INTERVAL_MS};
  var SVG_NS = 'http://www.w3.org/2000/svg';
  function $(id) { return document.getElementById(id); }
  function el(tag, text, cls) {
    var e = document.createElement(tag);
    if (text !== undefined && text !== null) e.textContent = String(text);
    if (cls) e.className = cls;
    return e;
  }
  function svg(tag, attrs) {
    var e = document.createElementNS(SVG_NS, tag);
    for (var k in attrs) e.setAttribute(k, String(attrs[k]));
    return e;
  }
  function fmt(x) {
    if (typeof x !== 'number' || !isFinite(x)) return String(x);
    return Number.isInteger(x) ? String(x) : x.toFixed(3);
  }
  function ago(iso) {
    if (!iso) return 'never';
    var s = Math.round((Date.now() - Date.parse(iso)) / 1000);
    if (!isFinite(s)) return iso;
    if (s < 60) return Math.max(s, 0) + ' s ago';
    if (s < 3600) return Math.round(s / 60) + ' min ago';
    return Math.round(s / 3600) + ' h ago';
  }
  /** The history's AUROC metric: "auroc" if present, else the first key that mentions it. */
  function aurocKey(history) {
    var keys = metricKeys(history);
    if (keys.indexOf('auroc') >= 0) return 'auroc';
    for (var i = 0; i < keys.length; i++) if (/auroc/i.test(keys[i])) return keys[i];
    return null;
  }
  function metricKeys(history) {
    var seen = {};
    history.forEach(function (h) { Object.keys(h.metrics || {}).forEach(function (k) { seen[k] = true; }); });
    return Object.keys(seen).sort();
  }

  function renderSites(sites) {
    var body = $('sites');
    var rows = sites.map(function (s) {
      var tr = el('tr');
      var dot = el('span', null, s.online ? 'dot on' : 'dot');
      dot.title = s.online ? 'online' : 'offline';
      var c0 = el('td'); c0.appendChild(dot); tr.appendChild(c0);
      tr.appendChild(el('td', s.name));
      var seen = el('td', ago(s.lastSeen)); if (s.lastSeen) seen.title = s.lastSeen; tr.appendChild(seen);
      tr.appendChild(el('td', s.roundsCompleted, 'num'));
      tr.appendChild(el('td', s.lastError || '', 'err'));
      return tr;
    });
    if (!rows.length) { var tr = el('tr'); var td = el('td', 'no sites', 'empty'); td.setAttribute('colspan', '5'); tr.appendChild(td); rows.push(tr); }
    body.replaceChildren.apply(body, rows);
  }

  function renderHistory(history) {
    var keys = metricKeys(history);
    var head = el('tr');
    ['round', 'participants', 'failures', 'duration (s)'].concat(keys).forEach(function (k) { head.appendChild(el('th', k)); });
    $('history-head').replaceChildren(head);
    var rows = history.map(function (h) {
      var tr = el('tr');
      tr.appendChild(el('td', h.round, 'num'));
      tr.appendChild(el('td', h.participants, 'num'));
      tr.appendChild(el('td', h.failures, 'num'));
      tr.appendChild(el('td', fmt(h.durationMs / 1000), 'num'));
      keys.forEach(function (k) { tr.appendChild(el('td', k in (h.metrics || {}) ? fmt(h.metrics[k]) : '', 'num')); });
      return tr;
    });
    if (!rows.length) { var tr = el('tr'); var td = el('td', 'no finished rounds yet', 'empty'); td.setAttribute('colspan', String(4 + keys.length)); tr.appendChild(td); rows.push(tr); }
    var body = $('history');
    body.replaceChildren.apply(body, rows);
  }

  /** A small line of mean AUROC per round, y from the data's range (within 0..1). */
  function renderChart(history) {
    var box = $('chart');
    var key = aurocKey(history);
    var pts = key ? history.filter(function (h) { return typeof (h.metrics || {})[key] === 'number' && isFinite(h.metrics[key]); })
      .map(function (h) { return [h.round, h.metrics[key]]; }) : [];
    if (!pts.length) { box.replaceChildren(el('span', 'no AUROC yet', 'empty')); return; }
    var W = 360, H = 140, L = 40, R = 10, T = 10, B = 24;
    var ys = pts.map(function (p) { return p[1]; });
    var lo = Math.max(0, Math.min.apply(null, ys) - 0.05), hi = Math.min(1, Math.max.apply(null, ys) + 0.05);
    if (hi - lo < 0.1) { lo = Math.max(0, hi - 0.1); hi = Math.min(1, lo + 0.1); }
    var x0 = pts[0][0], x1 = pts[pts.length - 1][0];
    function X(r) { return L + (x1 === x0 ? (W - L - R) / 2 : (r - x0) / (x1 - x0) * (W - L - R)); }
    function Y(v) { return T + (hi - v) / (hi - lo) * (H - T - B); }
    var s = svg('svg', { width: W, height: H, viewBox: '0 0 ' + W + ' ' + H, role: 'img', 'aria-label': key + ' per round' });
    s.appendChild(svg('line', { x1: L, y1: T, x2: L, y2: H - B, stroke: '#999' }));
    s.appendChild(svg('line', { x1: L, y1: H - B, x2: W - R, y2: H - B, stroke: '#999' }));
    [[hi, T + 4], [lo, H - B]].forEach(function (t) { var tx = svg('text', { x: L - 4, y: t[1], 'text-anchor': 'end' }); tx.textContent = t[0].toFixed(2); s.appendChild(tx); });
    [[x0, 'start'], [x1, 'end']].forEach(function (t) { var tx = svg('text', { x: X(t[0]), y: H - 6, 'text-anchor': t[1] }); tx.textContent = 'round ' + t[0]; s.appendChild(tx); });
    s.appendChild(svg('polyline', { points: pts.map(function (p) { return X(p[0]).toFixed(1) + ',' + Y(p[1]).toFixed(1); }).join(' '), fill: 'none', stroke: '#0072B2', 'stroke-width': 2 }));
    pts.forEach(function (p) {
      var c = svg('circle', { cx: X(p[0]).toFixed(1), cy: Y(p[1]).toFixed(1), r: 3, fill: '#0072B2' });
      var title = svg('title', {}); title.textContent = 'round ' + p[0] + ': ' + fmt(p[1]); c.appendChild(title);
      s.appendChild(c);
    });
    box.replaceChildren(s);
    $('chart-title').textContent = 'Mean ' + key + ' per round';
  }

  function renderPrior(prior) {
    var box = $('prior');
    if (!prior || !prior.patterns || !prior.patterns.length) { box.replaceChildren(el('span', 'no pattern prior yet', 'empty')); return; }
    var t = el('table'); var head = el('tr'); head.appendChild(el('th', 'pattern')); head.appendChild(el('th', 'p')); t.appendChild(head);
    prior.patterns.forEach(function (p) { var tr = el('tr'); tr.appendChild(el('td', p.pattern)); tr.appendChild(el('td', fmt(p.p), 'num')); t.appendChild(tr); });
    box.replaceChildren(el('div', 'version ' + prior.version, 'sub'), t);
  }

  function render(s) {
    $('federation').textContent = s.federation;
    $('meta').textContent = 'model ' + s.model + ' \\u00b7 strategy ' + s.strategy;
    $('round').textContent = s.round + ' / ' + s.rounds;
    $('state').textContent = s.state;
    // Why the federation is in this state (e.g. what made it fail), from its last transition.
    $('state-why').textContent = s.stateChange ? s.stateChange.reason : '';
    var sites = s.sites || [];
    $('online').textContent = sites.filter(function (x) { return x.online; }).length + ' / ' + sites.length;
    renderSites(sites);
    renderHistory(s.history || []);
    renderChart(s.history || []);
    renderPrior(s.prior);
    $('debiasing').textContent = s.debiasing === undefined ? 'not reported' : JSON.stringify(s.debiasing, null, 2);
  }

  function poll() {
    fetch('api/status', { cache: 'no-store', headers: { accept: 'application/json' } })
      .then(function (r) { if (!r.ok) throw new Error('HTTP ' + r.status); return r.json(); })
      .then(function (s) {
        render(s);
        var c = $('conn'); c.textContent = 'live, updated ' + new Date().toLocaleTimeString(); c.className = 'ok';
      })
      .catch(function (e) { var c = $('conn'); c.textContent = 'coordinator unreachable (' + e.message + ')'; c.className = 'bad'; })
      .then(function () { setTimeout(poll, POLL_MS); });
  }
  poll();
})();
`;

export const DASHBOARD_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>fedcausal coordinator</title>
<style>${DASHBOARD_STYLE}</style>
</head>
<body>
<h1>fedcausal &middot; <span id="federation">&hellip;</span></h1>
<div class="sub"><span id="meta"></span> &middot; <span id="conn">connecting&hellip;</span></div>
<div class="cards">
  <div class="card"><div class="sub">round</div><div class="v" id="round">&ndash;</div></div>
  <div class="card"><div class="sub">state</div><div class="v" id="state">&ndash;</div><div class="sub" id="state-why"></div></div>
  <div class="card"><div class="sub">sites online</div><div class="v" id="online">&ndash;</div></div>
</div>
<h2>Sites</h2>
<table>
  <thead><tr><th></th><th>site</th><th>last seen</th><th>rounds done</th><th>last error</th></tr></thead>
  <tbody id="sites"></tbody>
</table>
<h2 id="chart-title">Mean AUROC per round</h2>
<div id="chart"></div>
<h2>Rounds</h2>
<table>
  <thead id="history-head"></thead>
  <tbody id="history"></tbody>
</table>
<h2>Missingness-pattern prior</h2>
<div id="prior"></div>
<h2>Debiasing</h2>
<pre id="debiasing">not reported</pre>
<script>${DASHBOARD_SCRIPT}</script>
</body>
</html>
`;

function sha256(s: string): string {
  return `'sha256-${createHash('sha256').update(s, 'utf8').digest('base64')}'`;
}

/** Allows this page's own inline script and style and requests to this origin, nothing else. */
export const DASHBOARD_CSP = [
  "default-src 'none'",
  `script-src ${sha256(DASHBOARD_SCRIPT)}`,
  `style-src ${sha256(DASHBOARD_STYLE)}`,
  "connect-src 'self'",
  "img-src 'self' data:",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

/**
 * The coordinator's dashboard page: static markup only. Its script and stylesheet are a
 * typed front-end (dashboard/src/) bundled by esbuild (dashboard-assets.ts) and served as
 * /dashboard.js and /dashboard.css from this origin: nothing inline, nothing from a CDN, so
 * it works on an air-gapped hospital network under a strict Content-Security-Policy.
 */

export const DASHBOARD_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>fedcausal coordinator</title>
<link rel="stylesheet" href="dashboard.css">
<script src="dashboard.js" defer></script>
</head>
<body data-connection="connecting">
<header>
<h1>fedcausal &middot; <span id="federation">&hellip;</span></h1>
<div class="sub" id="meta"></div>
<div id="conn" class="conn wait" role="status" aria-live="polite">connecting&hellip;</div>
<div class="cards">
  <div class="card"><div class="sub">round</div><div class="v" id="round">&ndash;</div></div>
  <div class="card"><div class="sub">state</div><div class="v" id="state">&ndash;</div></div>
  <div class="card"><div class="sub">sites online</div><div class="v" id="online">&ndash;</div></div>
</div>
</header>
<main class="grid">
<section id="current-panel"><h2>Current round <span class="sub" id="countdown"></span></h2><div id="current"></div></section>
<section id="sites-panel"><h2>Sites</h2>
<table><thead><tr><th>site</th><th>state</th><th>last seen</th><th title="the rows this site trains on (its held-out rows are apart)">training rows</th><th title="training rounds this site answered, accepted or not">rounds answered</th><th>version</th><th>readiness</th><th>last error</th></tr></thead><tbody id="sites"></tbody></table></section>
<section><h2>Held-out AUROC by rounds trained</h2><div id="chart-auroc"></div></section>
<section><h2>Loss per round</h2><div id="chart-loss"></div></section>
<section><h2>Final evaluation</h2><p id="final-words"></p>
<table><thead><tr><th>site</th><th>scope</th><th>held-out rows</th><th>AUROC</th><th>accuracy</th><th>ECE</th></tr></thead><tbody id="final"></tbody></table></section>
<section><h2>Debiasing</h2><p id="debias-words"></p><p class="sub" id="debias-reason"></p><ul id="flagged"></ul>
<table><thead><tr><th>round</th><th>weighted association</th><th>reliance</th><th title="share of the training weight on up-weighted rows">weight on up-weighted rows</th><th title="effective sample size of the weights, as a share of the training rows">effective sample (share of rows)</th><th>prior drift</th><th>temper</th></tr></thead><tbody id="health"></tbody></table></section>
<section><h2>Missingness-pattern prior</h2><div class="sub" id="prior-version"></div>
<table><thead><tr><th>pattern</th><th>share</th><th></th><th></th></tr></thead><tbody id="prior"></tbody></table></section>
<section id="privacy-panel" hidden><h2>Privacy spent</h2><p id="privacy"></p></section>
<section><h2>Rounds</h2>
<table><thead><tr><th>round</th><th>sites</th><th>failed</th><th>train loss</th><th title="held-out AUROC of the model the round started from (round r: after r - 1 rounds); the final model: Final evaluation">AUROC at its start</th><th>duration (s)</th><th>who failed, why</th></tr></thead><tbody id="rounds"></tbody></table></section>
<section class="wide"><h2>Events</h2>
<table><thead><tr><th>time</th><th>kind</th><th>site</th><th>what</th><th>reason</th></tr></thead><tbody id="events"></tbody></table></section>
<section class="wide"><h2>Past runs</h2>
<table><thead><tr><th>run</th><th>result</th><th>model</th><th>rounds</th><th title="the final model's AUROC, the training sites' weighted by their held-out rows (a secure run: its pooled figure)">final AUROC</th></tr></thead><tbody id="runs"></tbody></table></section>
</main>
</body>
</html>
`;

/** Scripts and styles from this origin only (the bundle), requests to this origin, nothing else. */
export const DASHBOARD_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "connect-src 'self'",
  "img-src 'self' data:",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

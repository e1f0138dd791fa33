// The dashboard in headless Chromium against a real federation (separate processes on
// loopback): sites, rounds, per-site curves, the prior and the debiasing health appear and
// update; a killed site shows offline with the reason its round failed; a killed coordinator
// shows "unreachable" (never "training, 3/3 online"), then live again after its restart;
// the end shows "run finished", while it still serves and after it stopped. Screenshots are
// kept in a temp folder whose paths are printed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { closeChromium, launchChromium, noBrowser } from './helpers/browser.ts';
import { until, withFederation } from './helpers/federation.ts';
import type { ResultsFile } from '../../cli/results.ts';
import { FINAL_AUROC_MEANING, finalAuroc } from '../../shared/federation/final-evaluation.ts';

const SITES = ['cleveland', 'hungary', 'va'];
const VICTIM = 'va';
// Enough rounds that the killed site and the killed coordinator land mid-run even when rounds are quick.
const ROUNDS = 20;

const text = (page: Page, sel: string) => page.locator(sel).innerText();

/** Waits until the page's text at `sel` satisfies `ok`; the failure names what was last shown. */
async function seen(page: Page, sel: string, ok: (t: string) => boolean, timeoutMs: number, what: string): Promise<string> {
  let last = '';
  try {
    return await until(async () => ((last = await text(page, sel)), ok(last) ? last : undefined), timeoutMs, what, 250);
  } catch (e) {
    throw new Error(`${(e as Error).message}; ${sel} showed: ${last.slice(0, 500)}`);
  }
}

test('the dashboard follows a real federation in Chromium', { skip: noBrowser(), timeout: 240_000 }, async () => {
  const shots = mkdtempSync(join(tmpdir(), 'fedcausal-dashboard-e2e-'));
  const model = { kind: 'debiased', localEpochs: 20, debiasing: { suspect: ['oldpeak'], weighting: 'outcome' } };
  const chromium = await launchChromium();
  const browser = chromium.context;
  // The screenshots are for a person looking into a failure (or who sets FEDCAUSAL_KEEP_SCREENSHOTS):
  // kept after every run, each CI run left 2 MB in /tmp.
  let passed = false;
  try {
    await withFederation(
      {
        sites: SITES,
        rounds: ROUNDS,
        model,
        fixedPorts: true,
        quorum: { minSitesToStart: 2, minSitesToAccept: 2, roundDeadlineSeconds: 60, rejoinGraceSeconds: 1, waitForAllSeconds: 60 },
        coordinatorExtra: {},
        hardTimeoutMs: 220_000,
      },
      async (fed) => {
        fed.editYaml(fed.coordinatorYaml, (c) => ({ ...c, listen: { ...(c.listen as object), httpLingerSeconds: 60 } }));
        let coordinator = await fed.startCoordinator();
        const page = await browser.newPage();
        const problems: string[] = [];
        page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
        page.on('console', (m) => {
          if (m.type() === 'error' && !/Failed to load resource|ERR_CONNECTION_REFUSED|fetch/.test(m.text())) problems.push(`console: ${m.text()}`);
        });
        const auth: (string | undefined)[] = [];
        page.on('request', (r) => r.url().endsWith('/api/status') && auth.push(r.headers().authorization));

        const TOKEN = fed.httpToken;
        // A wrong token: the server's bearer check answers 401 and the page says so.
        const stranger = await browser.newPage();
        await stranger.goto(`${fed.httpUrl}/#token=not-the-token`);
        await seen(stranger, '#conn', (t) => t.startsWith('token refused (HTTP 401)'), 20_000, 'token refused');
        await stranger.close();
        await page.goto(`${fed.httpUrl}/#token=${TOKEN}`);
        // The token moved from the address bar into this tab's storage, and every poll sends it.
        await seen(page, '#federation', (t) => t === 'e2e', 10_000, 'the federation name');
        assert.equal(new URL(page.url()).hash, '', 'the token is gone from the URL');
        assert.equal(await page.evaluate(() => sessionStorage.getItem('fedcausal.token')), TOKEN);
        assert.ok(auth.length > 0 && auth.every((a) => a === `Bearer ${TOKEN}`), `authorization headers: ${auth.join(', ')}`);
        await seen(page, '#online', (t) => t === '0 / 3', 10_000, 'no site online yet');

        const sites = Object.fromEntries(SITES.map((s) => [s, fed.startSite(s)]));
        await seen(page, '#online', (t) => t === '3 / 3', 60_000, 'three sites online');
        // Statistics agreed: the prior and the debiasing decision, in words.
        await seen(page, '#prior', (t) => /[01]{3,}\s+0\.\d+/.test(t), 60_000, 'the pattern prior');
        assert.match(await text(page, '#prior-version'), /version 1 · \d+ patterns/);
        await seen(page, '#debias-words', (t) => /^Debiasing is ON .*oldpeak/.test(t), 60_000, 'the debiasing decision in words');
        // The current round live: who has reported, the deadline counting down.
        const current = await seen(page, '#current', (t) => /training round \d+: \d of 3 reported/.test(t), 60_000, 'a training round under way');
        assert.match(current, /cleveland: (reported|waiting)/);
        assert.match(await text(page, '#countdown'), /^deadline in \d+/);
        // Rows per site come with the first fit update.
        await seen(page, '#sites', (t) => SITES.every((s) => new RegExp(`${s}\\s+online.*\\s+\\d+ s ago\\s+\\d{2,}`).test(t)), 60_000, 'site rows');

        // Committed rounds: the rounds table, the health figures and per-site curves (uPlot).
        await seen(page, '#rounds', (t) => /^1\s+3\s+0\s/m.test(t), 90_000, 'a committed round');
        assert.match(await text(page, '#health'), /^1\s+oldpeak 0\.\d+/m);
        const legend = await text(page, '#chart-auroc .u-legend');
        for (const name of ['federation', ...SITES]) assert.ok(legend.includes(name), `AUROC legend has ${name}: ${legend}`);
        assert.equal(await page.locator('#chart-auroc canvas').count(), 1);
        assert.equal(await page.locator('#chart-loss canvas').count(), 1);
        const roundsBefore = (await text(page, '#rounds')).trim().split('\n').length;
        await page.screenshot({ path: join(shots, '1-live.png'), fullPage: true });

        // A site killed: offline at once, its drop in the event log. (Rounds of 20 local epochs
        // leave the run far from its end.)
        sites[VICTIM]!.kill('SIGKILL');
        await seen(page, `#sites tr[data-site="${VICTIM}"]`, (t) => /offline/.test(t), 30_000, `${VICTIM} offline`);
        await seen(page, '#events', (t) => new RegExp(`drop\\s+${VICTIM}\\s+${VICTIM} disconnected`).test(t), 10_000, 'the drop in the event log');
        assert.match(await text(page, '#online'), /^2 \/ 3$/);

        // The coordinator killed mid-run: "unreachable", and its last state is not claimed as current.
        assert.ok(!coordinator.logs.some((l) => l.message === 'federation state' && l.state === 'evaluating'), 'the kill lands before the final evaluation');
        coordinator.kill('SIGKILL');
        await coordinator.exited;
        await seen(page, '#conn', (t) => t.startsWith('coordinator unreachable since'), 15_000, 'the unreachable banner');
        assert.match(await text(page, '#state'), /^unknown \(last: /);
        assert.match(await text(page, '#online'), /^unknown \(last: 2 \/ 3\)$/);
        assert.equal(await page.locator('#sites .dot.on').count(), 0, 'no site drawn online');
        await page.screenshot({ path: join(shots, '3-unreachable.png'), fullPage: true });

        assert.doesNotMatch(await text(page, '#sites'), /\tonline/, 'no site claimed online');

        // Restarted (same ports, resumes from its state; it need not wait long for the dead site): live again.
        fed.editYaml(fed.coordinatorYaml, (c) => ({ ...c, quorum: { ...(c.quorum as object), waitForAllSeconds: 2 } }));
        coordinator = await fed.startCoordinator();
        await seen(page, '#conn', (t) => t.startsWith('live'), 30_000, 'live again');
        // The killed site's row says why its round failed; so do the event log and the rounds table.
        await seen(page, `#sites tr[data-site="${VICTIM}"]`, (t) => /offline/.test(t) && /(round \d+|final evaluation): .*offline/.test(t), 90_000, `${VICTIM}'s failure reason`);
        await seen(page, '#events', (t) => new RegExp(`failure\\s+${VICTIM}\\s+${VICTIM} failed (round \\d+|the final evaluation)\\s+.*offline`).test(t), 30_000, 'the failure in the event log');
        await seen(page, '#rounds', (t) => t.trim().split('\n').length > roundsBefore && new RegExp(`${VICTIM}: .*offline`).test(t), 60_000, 'the rounds table grew, naming who failed');
        // Rounds the killed site missed are marked on the federation's curve (its figure is over fewer hospitals' rows).
        await seen(page, '#chart-auroc .u-legend', (t) => t.includes('federation: a round with fewer than 3 sites'), 30_000, 'fewer-site rounds marked');
        await page.screenshot({ path: join(shots, '2-site-killed.png'), fullPage: true });

        await seen(page, '#conn', (t) => t.startsWith('run finished (complete) · the coordinator still serves'), 150_000, 'run finished while serving');
        assert.match(await text(page, '#round'), new RegExp(`^(final evaluation \\(${ROUNDS} rounds\\)|${ROUNDS} / ${ROUNDS})$`));
        assert.equal((await text(page, '#rounds')).trim().split('\n').length, ROUNDS);
        assert.match(await text(page, '#health'), new RegExp(`^${ROUNDS}\\s+oldpeak`, 'm'));
        // The final model's figures, live: the panel, /api/status and /metrics say the same as the results file below.
        const finalWords = await seen(page, '#final-words', (t) => t.startsWith('The model after'), 10_000, 'the final evaluation');
        const live = await fed.status();
        assert.ok(live.final, 'final on /api/status');
        assert.equal(live.final.trainingRounds, ROUNDS);
        // The killed site sent no final evaluation: named as left out of the figure, in the panel's words and table.
        assert.deepEqual(live.final.missing, [VICTIM]);
        assert.equal(finalWords, `The model after ${ROUNDS} rounds: AUROC ${live.final.auroc!.toFixed(3)} (${FINAL_AUROC_MEANING}; ${VICTIM} sent no final evaluation and is not in it).`);
        const finalTable = await text(page, '#final');
        // The killed site is not in the final evaluation, and the table says why.
        assert.match(finalTable, new RegExp(`^${VICTIM}\\s+–\\s+sent no final evaluation \\(.+\\): not in the figure above`, 'm'), finalTable);
        for (const s of SITES.filter((x) => x !== VICTIM)) assert.match(finalTable, new RegExp(`^${s}\\s+training\\s+\\d+\\s+0\\.\\d{3}`, 'm'), finalTable);
        assert.match(await fed.getText('/metrics'), new RegExp(`^fedcausal_final_auroc ${live.final.auroc}$`, 'm'));
        await page.screenshot({ path: join(shots, '4-finished.png'), fullPage: true });
        for (const s of SITES.filter((x) => x !== VICTIM)) assert.equal(await sites[s]!.exitCode(30_000), 0, sites[s]!.tail());

        // The operator stops it: the page says the run finished and the coordinator stopped.
        coordinator.kill('SIGTERM');
        assert.equal(await coordinator.exitCode(30_000), 0, coordinator.tail());
        await seen(page, '#conn', (t) => t.startsWith('run finished (complete) · the coordinator has stopped'), 15_000, 'finished and stopped');
        const results = fed.results<ResultsFile>(coordinator);
        assert.deepEqual(Object.keys(live.final.sites).sort(), Object.keys(results.sites).sort());
        for (const s of Object.keys(results.sites)) assert.equal(live.final.sites[s]?.auroc, results.sites[s]!.auroc, `${s}: the live final AUROC is the results file's`);
        assert.equal(live.final.auroc, finalAuroc(results.sites));
        await page.screenshot({ path: join(shots, '5-finished-stopped.png'), fullPage: true });

        assert.deepEqual(problems, [], 'no script errors or CSP violations');
        passed = true;
      },
    );
  } finally {
    await closeChromium(chromium);
    if (passed && !process.env.FEDCAUSAL_KEEP_SCREENSHOTS) rmSync(shots, { recursive: true, force: true });
    else console.log(`dashboard screenshots: ${readdirSync(shots).map((n) => join(shots, n)).join(' ')}`);
  }
});

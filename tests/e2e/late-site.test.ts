// A site that joins after the statistics rounds (its host came up late, past the start
// quorum's wait): the federation's statistics were agreed without its rows, so it trains in
// no round. It used to be sent every training task and have every update refused in
// silence, the run "complete" with no word of it. Now it is sent none; the coordinator says
// so when it joins, and the results' warnings and the end message every site prints name it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { withFederation } from './helpers/federation.ts';

interface Results {
  complete: boolean;
  warnings?: string[];
  sites: Record<string, unknown>;
  history: { round: number; accepted: boolean; participants: number; failed: { site: string }[] }[];
}

test('a site that joins after the statistics rounds trains in no round, and every report says so', { timeout: 150_000 }, async () => {
  const quorum = { minSitesToStart: 2, minSitesToAccept: 2, waitForAllSeconds: 1, rejoinGraceSeconds: 1 };
  await withFederation({ sites: ['cleveland', 'hungary', 'va'], rounds: 12, quorum, hardTimeoutMs: 140_000 }, async (fed) => {
    const coordinator = await fed.startCoordinator();
    for (const s of ['cleveland', 'hungary']) fed.startSite(s);
    await coordinator.waitForLog((l) => l.message === 'site left out of training in this run' && l.site === 'va', 60_000, 'va left out');
    const late = fed.startSite('va');
    await coordinator.waitForLog((l) => l.message === 'a site left out of training in this run joined: it is scored at the final evaluation only', 60_000, 'va joining late');
    assert.equal(await coordinator.exitCode(120_000), 0, fed.describe());
    assert.equal(await late.exitCode(20_000), 0, late.tail());
    const r = fed.results<Results>(coordinator);
    assert.equal(r.complete, true);
    assert.ok(r.history.every((h) => h.accepted && h.participants === 2 && h.failed.length === 0), JSON.stringify(r.history));
    const warning = r.warnings?.find((w) => w.startsWith('site "va" trained in no round: its statistics were not counted ('));
    assert.ok(warning, JSON.stringify(r.warnings));
    assert.ok(r.sites.va, 'va is scored at the final evaluation');
    assert.match(late.stdout, /site finished: federation complete; warning: site "va" trained in no round: its statistics were not counted/);
  });
});

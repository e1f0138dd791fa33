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
    // Its end reason, which status and watch show, names who was left out ("complete" alone read as every hospital in it).
    await coordinator.waitForLog((l) => l.message === 'federation state' && l.state === 'finished' && l.reason === "federation complete, without va (left out of training; the results' warnings say why)", 1000, 'the end reason names va');
    const r = fed.results<Results>(coordinator);
    assert.equal(r.complete, true);
    assert.ok(r.history.every((h) => h.accepted && h.participants === 2 && h.failed.length === 0), JSON.stringify(r.history));
    const warning = r.warnings?.find((w) => w.startsWith('site "va" trained in no round: its statistics were not counted ('));
    assert.ok(warning, JSON.stringify(r.warnings));
    assert.ok(r.sites.va, 'va is scored at the final evaluation');
    assert.match(late.stdout, /site finished: federation complete; warning: site "va" trained in no round: its statistics were not counted/);
  });
});

// A site away when the federation ended (killed just after its final evaluation, restarted by
// its supervisor) used to find the coordinator gone, retry for connectTimeoutSeconds and exit
// 1. The coordinator now waits, for the site's rejoin grace, for every site that has not
// acknowledged the end, and tells it when it is back.
test('a site killed as the federation ends is told how it ended when it is restarted, and exits 0', { timeout: 150_000 }, async () => {
  await withFederation({ sites: ['cleveland', 'hungary', 'va'], rounds: 2, hardTimeoutMs: 140_000 }, async (fed) => {
    const coordinator = await fed.startCoordinator();
    const away = fed.startSite('hungary', { env: { FEDCAUSAL_CRASH_AT: 'answered-evaluate:3' } });
    const others = ['cleveland', 'va'].map((s) => fed.startSite(s));
    assert.equal((await away.exited).signal, 'SIGKILL', away.tail());
    const back = fed.startSite('hungary');
    assert.equal(await back.exitCode(40_000), 0, back.tail());
    assert.match(back.stdout, /site finished: federation complete/);
    assert.equal(await coordinator.exitCode(20_000), 0, coordinator.tail());
    for (const s of others) assert.equal(await s.exitCode(5_000), 0, s.tail());
    assert.equal(fed.results<Results>(coordinator).complete, true);
  });
});

// While the coordinator lingers after the end (listen.httpLingerSeconds), gRPC serves too, and a
// site that joins then is told how it ended.
test('a site that joins while the coordinator lingers after the end is told how it ended and exits 0', { timeout: 150_000 }, async () => {
  const listen = { host: '127.0.0.1', httpHost: '127.0.0.1', grpcPort: 0, httpPort: 0, httpLingerSeconds: 60 };
  // A rejoin grace of 1 s: the wait for the unacknowledged site is over before the restart.
  await withFederation({ sites: ['cleveland', 'hungary', 'va'], rounds: 2, quorum: { rejoinGraceSeconds: 1 }, coordinatorExtra: { listen }, hardTimeoutMs: 140_000 }, async (fed) => {
    const coordinator = await fed.startCoordinator();
    const away = fed.startSite('hungary', { env: { FEDCAUSAL_CRASH_AT: 'answered-evaluate:3' } });
    for (const s of ['cleveland', 'va']) fed.startSite(s);
    assert.equal((await away.exited).signal, 'SIGKILL', away.tail());
    await coordinator.waitForLog((l) => l.message === 'run finished; gRPC and HTTP keep serving', 60_000, 'the coordinator lingering after the end');
    const back = fed.startSite('hungary');
    assert.equal(await back.exitCode(30_000), 0, back.tail());
    assert.match(back.stdout, /site finished: federation complete/);
    // It answered no task: said, for both readings (restarted after its evaluation, or meant for the next run).
    assert.match(back.stdout, /this site process joined federation "e2e" after its run had ended and answered no task: .* start this site again once the next run's coordinator is up/);
    // A stop ends the linger; the run had finished, so it exits 0 with its results.
    coordinator.kill('SIGTERM');
    assert.equal(await coordinator.exitCode(20_000), 0, coordinator.tail());
    assert.equal(fed.results<Results>(coordinator).complete, true);
  });
});

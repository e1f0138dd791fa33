// A second copy of a site kit started while the site is connected is refused with a
// clear message and exits non-zero (it used to take the site's stream over silently);
// the first copy keeps the site and the federation completes with it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ResultsFile } from '../../cli/results.ts';
import { ALREADY_CONNECTED_GRACE_MS } from '../../site-agent/connection-retry.ts';
import { withFederation } from './helpers/federation.ts';

const SITES = ['cleveland', 'hungary'];

test('a second copy of a connected site is refused, exits 1 saying so, and the first carries on', { timeout: 120_000 }, async () => {
  await withFederation({ sites: SITES, rounds: 2, hardTimeoutMs: 110_000 }, async (fed) => {
    const coordinator = await fed.startCoordinator();
    const first = fed.startSite('cleveland');
    await fed.waitSiteOnline('cleveland', true, 30_000, first);

    // The federation waits for hungary meanwhile, so nothing moves while the copy knocks.
    const copy = fed.startSite('cleveland');
    await copy.waitForLog((l) => String(l.message).includes('already connected'), 30_000, 'the refusal');
    // It keeps trying while a dead connection of its own would be dropped by keepalive, then gives up.
    const code = await copy.exitCode(ALREADY_CONNECTED_GRACE_MS + 30_000);
    assert.equal(code, 2, 'the second copy exits 2 (a supervisor does not restart it)');
    assert.match(copy.otherStderr.join('\n'), /site "cleveland" is already connected to the coordinator from another process/);
    assert.ok(!copy.logs.some((l) => l.message === 'joined federation'), 'the copy never joined');

    const refused = coordinator.logs.filter((l) => l.message === 'message refused');
    assert.ok(refused.length > 0 && refused.every((l) => l.reason === 'already-connected' && l.site === 'cleveland'), JSON.stringify(refused));
    assert.ok(!coordinator.logs.some((l) => l.message === 'site disconnected'), 'the first copy was never displaced');
    assert.equal((await fed.status()).sites.find((s) => s.name === 'cleveland')?.online, true);

    const other = fed.startSite('hungary');
    assert.equal(await coordinator.exitCode(60_000), 0, 'coordinator exit code');
    for (const p of [first, other]) assert.equal(await p.exitCode(10_000), 0, `${p.name} exit code`);
    const r = fed.results<ResultsFile>(coordinator);
    assert.deepEqual(r.history.map((h) => h.participants), [2, 2]);
    assert.deepEqual(first.logs.filter((l) => l.message === 'round trained').map((l) => l.round), [1, 2], 'the first copy trained every round');
  });
});

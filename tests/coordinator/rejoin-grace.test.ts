import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { RoundCollector } from '../../coordinator/collector.ts';
import { RejoinGrace } from '../../coordinator/rejoin-grace.ts';
import { silentLogger } from '../../shared/logger.ts';

/** A collector as the grace sees it: its kind and round, and who it failed with what reason. */
function collector(kind: string) {
  const failed: [string, string][] = [];
  const c = { kind, round: 3, fail: (site: string, reason: string) => void failed.push([site, reason]) } as unknown as RoundCollector;
  return { c, failed };
}

test('training rounds and secure phases fail an offline site at once: no grace, no timer', async () => {
  // A restarted site has lost its secure round's keys, and a training round has its quorum (an audit's mutant survived here).
  const grace = new RejoinGrace(20, silentLogger);
  for (const kind of ['fit', 'secagg']) {
    const { c, failed } = collector(kind);
    let gaveUp = false;
    assert.equal(grace.wait(c, 'va', 'offline', false, () => (gaveUp = true)), false, kind);
    await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual([gaveUp, failed], [false, []], `${kind}: the caller fails it; the grace set no timer`);
  }
});

test('a statistics or evaluation round keeps the task for the grace, then fails the site with the reason of that moment', async () => {
  for (const kind of ['stats', 'evaluate']) {
    const grace = new RejoinGrace(30, silentLogger);
    const { c, failed } = collector(kind);
    let gaveUp = 0;
    let reason = 'offline';
    assert.equal(grace.wait(c, 'va', () => reason, false, () => gaveUp++), true, kind);
    assert.equal(grace.wait(c, 'va', () => reason, false, () => gaveUp++), true, 'asked again: one timer');
    reason = 'refused as another release';
    await new Promise((r) => setTimeout(r, 80));
    assert.equal(gaveUp, 1);
    assert.deepEqual(failed, [['va', 'refused as another release, and was not back within 0.03s']]);
  }
});

test('a site back in time, a stopped run or no grace: nothing fails', async () => {
  const grace = new RejoinGrace(30, silentLogger);
  const { c, failed } = collector('evaluate');
  assert.equal(grace.wait(c, 'va', 'offline', false, () => {}), true);
  grace.cancel('va');
  assert.equal(grace.wait(c, 'hu', 'offline', false, () => {}), true);
  grace.clear();
  assert.equal(grace.wait(c, 'ch', 'offline', true, () => {}), false, 'stopped');
  assert.equal(new RejoinGrace(0, silentLogger).wait(c, 'ch', 'offline', false, () => {}), false, 'no grace configured');
  await new Promise((r) => setTimeout(r, 80));
  assert.deepEqual(failed, []);
});

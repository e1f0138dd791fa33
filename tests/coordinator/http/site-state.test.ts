// The sites table's state column (coordinator/http/dashboard/src/panels/sites.ts), without a browser.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { siteStateText } from '../../../coordinator/http/dashboard/src/panels/sites.ts';
import type { CurrentRound } from '../../../shared/federation/dashboard-status.ts';

const site = (name: string, online = true) => ({ name, online, lastSeen: null, roundsCompleted: 0 });
const current: CurrentRound = { round: 2, kind: 'fit', expected: ['a', 'b', 'c', 'd', 'f'], reported: ['a'], failed: [{ site: 'b', reason: 'x' }], deadline: '', uploading: [{ site: 'c', receivedBytes: 460, totalBytes: 1000 }], receivingTask: ['f'] };

test("a site's state: reported, failed, its result arriving (a slow link), working, or not asked", () => {
  assert.equal(siteStateText(site('a'), current, false), 'online · reported');
  assert.equal(siteStateText(site('b'), current, false), 'online · failed this round');
  assert.equal(siteStateText(site('c'), current, false), 'online · sending its result (46%)');
  assert.equal(siteStateText(site('d'), current, false), 'online · working');
  assert.equal(siteStateText(site('f'), current, false), 'online · receiving its task');
  assert.equal(siteStateText(site('e'), current, false), 'online');
  assert.equal(siteStateText(site('d', false), current, false), 'offline');
  assert.equal(siteStateText(site('c'), current, true), 'unknown (last: online)');
});

// The dashboard's final-evaluation table (coordinator/http/dashboard/src/panels/final.ts), without a browser.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { missingText } from '../../../coordinator/http/dashboard/src/panels/final.ts';

const site = (name: string, leftOut?: string) => ({ name, online: false, lastSeen: null, roundsCompleted: 0, ...(leftOut ? { leftOut } : {}) });

test('a site that sent no final evaluation is listed with why, where the status knows it', () => {
  const s = {
    rounds: 5,
    sites: [site('a'), site('b', 'offline when the statistics rounds ran (never connected)'), site('c')],
    siteDetails: { a: { lastFailure: { round: 6, reason: 'no answer within the 60s round deadline' } }, c: { lastFailure: { round: 3, reason: 'site went offline during the round' } } },
  };
  assert.equal(missingText(s, 'a'), 'sent no final evaluation (no answer within the 60s round deadline): not in the figure above');
  assert.equal(missingText(s, 'b'), 'sent no final evaluation (offline when the statistics rounds ran (never connected)): not in the figure above');
  assert.equal(missingText(s, 'c'), 'sent no final evaluation: not in the figure above', "a training round's failure is not the final evaluation's");
});

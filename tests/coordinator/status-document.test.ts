// /api/status's document (coordinator/status-document.ts): a long run's history is a bounded window.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SiteDirectory } from '../../coordinator/directory.ts';
import { EventLog } from '../../coordinator/events.ts';
import type { RoundRecord } from '../../coordinator/round-outcome.ts';
import { statusDocument, type StatusSources } from '../../coordinator/status-document.ts';
import { STATUS_RECENT_ROUNDS, STATUS_ROUNDS } from '../../shared/federation/dashboard-status.ts';

const record = (round: number, accepted = true): RoundRecord => ({
  round, participants: 2, failures: 0, failed: [], accepted, ...(accepted ? {} : { reason: 'too few sites' }), metrics: { eval_auroc: 0.7 }, slowestTrainMs: 1, durationMs: 10, siteEvaluations: {},
});

function status(history: RoundRecord[]) {
  const directory = new SiteDirectory([{ name: 'a', signingPublicKey: new Uint8Array(32) }]);
  const loop = { round: history.length + 1, state: 'training', history, current: undefined, outcome: undefined, stateChange: undefined, agreed: {} };
  const fed = { loop, directory, secure: undefined, privacy: () => undefined } as unknown as StatusSources['fed'];
  const cfg = { federation: 'f', rounds: 50_000, model: { kind: 'logreg' } } as unknown as StatusSources['cfg'];
  return statusDocument({ cfg, fed, strategy: 'fedavg', events: new EventLog() })();
}

test('/api/status: every round of a short run; a long one in a window, with the count of all and each round saying whether it was accepted', () => {
  const short = status([record(1), record(2, false)]);
  assert.equal(short.historyRounds, 2);
  assert.deepEqual(short.history.map((h) => [h.round, h.accepted, h.reason]), [[1, true, undefined], [2, false, 'too few sites']]);
  const long = status(Array.from({ length: 30_000 }, (_, i) => record(i + 1)));
  assert.equal(long.historyRounds, 30_000);
  assert.equal(long.history.length, STATUS_ROUNDS);
  assert.equal(long.history.at(-1)!.round, 30_000);
  assert.equal(long.history.at(-STATUS_RECENT_ROUNDS)!.round, 30_000 - STATUS_RECENT_ROUNDS + 1);
  assert.equal(long.siteCurves!.length, STATUS_ROUNDS);
});

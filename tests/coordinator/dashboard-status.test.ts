import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RoundCollector } from '../../coordinator/collector.ts';
import { dashboardStatus, pastRuns } from '../../coordinator/dashboard-status.ts';
import { SiteDirectory } from '../../coordinator/directory.ts';
import { EventLog } from '../../coordinator/events.ts';
import type { RoundRecord } from '../../coordinator/round-outcome.ts';
import type { ResultMeta } from '../../shared/protocol/messages.ts';
import { STATUS_RECENT_ROUNDS, STATUS_ROUNDS, statusWindow } from '../../shared/federation/dashboard-status.ts';

const record = (round: number, failed: { site: string; reason: string }[]): RoundRecord => ({
  round, participants: 2, failures: failed.length, failed, accepted: true, metrics: { eval_auroc: 0.7 }, slowestTrainMs: 1, durationMs: 10,
  siteEvaluations: { a: { n: 10, auroc: 0.6, accuracy: 0.5, balancedAccuracy: 0.5, ece: 0.1, loss: 0.7 }, b: { n: 10, auroc: 0.8, accuracy: 0.5, balancedAccuracy: 0.5, ece: 0.1 } },
});

test('the current round, per-site curves, rows and the latest failure per site', (t) => {
  const dir = new SiteDirectory([{ name: 'a', signingPublicKey: new Uint8Array(32) }, { name: 'b', signingPublicKey: new Uint8Array(32) }, { name: 'c', signingPublicKey: new Uint8Array(32) }]);
  dir.recordCompleted('a', 1, 212);
  dir.recordFailure('b', 2, 'update refused: bad signature');
  const c = new RoundCollector(3, 'fit', ['a', 'b', 'c'], 60_000);
  t.after(() => c.abort('test over'));
  c.resolve('a', { round: 3, kind: 'fit', numExamples: 212, metrics: {} } as unknown as ResultMeta);
  c.fail('c', 'site went offline during the round');
  const before = Date.now();
  const s = dashboardStatus({ current: c, history: [record(1, [{ site: 'c', reason: 'no answer within the 60s round deadline' }]), record(2, [])], directory: dir, events: new EventLog() });
  assert.deepEqual({ ...s.current, deadline: undefined }, { round: 3, kind: 'fit', expected: ['a', 'b', 'c'], reported: ['a'], failed: [{ site: 'c', reason: 'site went offline during the round' }], deadline: undefined });
  const deadline = Date.parse(s.current!.deadline);
  assert.ok(deadline >= before + 59_000 && deadline <= Date.now() + 60_000, s.current!.deadline);
  assert.deepEqual(s.siteDetails, {
    a: { rows: 212 },
    b: { lastFailure: { round: 2, reason: 'update refused: bad signature' } },
    c: { lastFailure: { round: 3, reason: 'site went offline during the round' } },
  });
  assert.deepEqual(s.siteCurves![0], { round: 1, sites: { a: { auroc: 0.6, loss: 0.7 }, b: { auroc: 0.8 } }, failed: [{ site: 'c', reason: 'no answer within the 60s round deadline' }] });
  assert.equal(s.pastRuns, undefined);
});

test('past runs: newest first, from each results file, with the final AUROC the live run showed; a run without one is listed by name', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'fedcausal-runs-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const runsOnDisk = [
    // Weighted by held-out rows, as /api/status `final.auroc` (a plain mean gave 0.7: an outside try saw two figures for one run).
    ['run-2026-01-01', { complete: true, model: 'debiased', rounds: 5, sites: { a: { auroc: 0.8, n: 100 }, b: { auroc: 0.6, n: 300 } } }],
    ['run-2026-02-01', null],
    // A secure run: rates without row counts, and the pooled figure.
    ['run-2025-12-01', { complete: true, sites: { a: { auroc: 0.81 }, b: { auroc: 0.86 } }, pooledEvaluation: { training: { n: 400, auroc: 0.852 } } }],
    ['run-2025-11-01', { complete: true, sites: { a: { auroc: 0.81 }, b: { auroc: 0.86 } } }],
    // A results file with `final`: its figure, and the sites it leaves out.
    ['run-2025-10-01', { complete: true, sites: { a: { auroc: 0.81, n: 10 } }, final: { trainingRounds: 3, auroc: 0.905, missing: ['va'] } }],
  ] as const;
  for (const [name, doc] of runsOnDisk) {
    mkdirSync(join(dir, name));
    if (doc) writeFileSync(join(dir, name, 'results.json'), JSON.stringify(doc));
  }
  mkdirSync(join(dir, 'other'));
  const runs = pastRuns(dir);
  assert.deepEqual(runs.map((r) => r.name), ['run-2026-02-01', 'run-2026-01-01', 'run-2025-12-01', 'run-2025-11-01', 'run-2025-10-01']);
  assert.equal(runs[4]!.finalAuroc, 0.905);
  assert.deepEqual(runs[4]!.missing, ['va']);
  assert.deepEqual(runs[0], { name: 'run-2026-02-01' });
  assert.equal(runs[1]!.complete, true);
  assert.ok(Math.abs(runs[1]!.finalAuroc! - 0.65) < 1e-12, String(runs[1]!.finalAuroc));
  assert.equal(runs[2]!.finalAuroc, 0.852);
  assert.equal(runs[3]!.finalAuroc, undefined, 'no row counts and no pooled figure: none rather than an unweighted mean');
  assert.deepEqual(pastRuns(join(dir, 'missing')), []);
});

test("a failure the site has since got past is not its last failure: it completed a later round", () => {
  const dir = new SiteDirectory([{ name: 'a', signingPublicKey: new Uint8Array(32) }, { name: 'b', signingPublicKey: new Uint8Array(32) }]);
  dir.recordFailure('a', 2, 'site went offline during the round');
  dir.recordCompleted('a', 3, 100);
  dir.recordCompleted('b', 1, 100);
  const s = dashboardStatus({ current: undefined, history: [record(2, [{ site: 'a', reason: 'site went offline during the round' }]), record(4, [{ site: 'b', reason: 'no answer within the round deadline' }])], directory: dir, events: new EventLog() });
  assert.deepEqual(s.siteDetails, { a: { rows: 100 }, b: { rows: 100, lastFailure: { round: 4, reason: 'no answer within the round deadline' } } });
});

test('a long run: /api/status carries a bounded window of rounds, every recent one and a sample of the rest, and says how many there are', () => {
  const dir = new SiteDirectory([{ name: 'a', signingPublicKey: new Uint8Array(32) }, { name: 'b', signingPublicKey: new Uint8Array(32) }]);
  const history = Array.from({ length: 30_000 }, (_, i) => record(i + 1, []));
  const s = dashboardStatus({ current: undefined, history, directory: dir, events: new EventLog() });
  const rounds = s.siteCurves!.map((c) => c.round);
  assert.equal(rounds.length, STATUS_ROUNDS);
  assert.deepEqual(rounds.slice(-STATUS_RECENT_ROUNDS), Array.from({ length: STATUS_RECENT_ROUNDS }, (_, i) => 30_000 - STATUS_RECENT_ROUNDS + 1 + i), 'the newest rounds, every one');
  assert.equal(rounds[0], 1, 'the sample starts at the first round');
  assert.ok(rounds.every((r, i) => i === 0 || r > rounds[i - 1]!), 'in order, none twice');
  // Short runs are carried whole.
  assert.deepEqual(statusWindow(history.slice(0, STATUS_ROUNDS)).length, STATUS_ROUNDS);
  assert.equal(JSON.stringify(s).length < 200_000, true, `${JSON.stringify(s).length} characters`);
});

test('the window at its edge: 300 rounds whole, 301 sampled with the first and the newest 100 kept, none twice; the sample stays put as rounds come', () => {
  const rounds = (n: number) => Array.from({ length: n }, (_, i) => i + 1);
  assert.deepEqual(statusWindow(rounds(STATUS_ROUNDS)), rounds(STATUS_ROUNDS));
  for (const n of [STATUS_ROUNDS + 1, 1234, 30_000]) {
    const w = statusWindow(rounds(n));
    assert.ok(w.length <= STATUS_ROUNDS, `${n}: ${w.length}`);
    assert.equal(w[0], 1);
    assert.deepEqual(w.slice(-STATUS_RECENT_ROUNDS), rounds(n).slice(-STATUS_RECENT_ROUNDS));
    assert.ok(w.every((r, i) => i === 0 || r > w[i - 1]!), `${n}: in order, none twice`);
  }
  // One more round keeps the earlier sample's points (a fixed stride), so the chart does not jitter.
  const before = statusWindow(rounds(5000)).slice(0, 150);
  assert.deepEqual(statusWindow(rounds(5001)).slice(0, 150), before);
});

test('a growing history: each poll reads the rounds committed since the last one, and a newer failure replaces an older one', () => {
  const dir = new SiteDirectory([{ name: 'a', signingPublicKey: new Uint8Array(32) }, { name: 'b', signingPublicKey: new Uint8Array(32) }]);
  const history: RoundRecord[] = [record(1, [{ site: 'a', reason: 'first' }])];
  const poll = () => dashboardStatus({ current: undefined, history, directory: dir, events: new EventLog() }).siteDetails;
  assert.deepEqual(poll(), { a: { lastFailure: { round: 1, reason: 'first' } }, b: {} });
  history.push(record(2, [{ site: 'b', reason: 'second' }]), record(3, [{ site: 'a', reason: 'third' }]));
  assert.deepEqual(poll(), { a: { lastFailure: { round: 3, reason: 'third' } }, b: { lastFailure: { round: 2, reason: 'second' } } });
  // A detail the caller changes is its own: the next poll is as before.
  const d = poll()!;
  d.a!.lastFailure!.reason = 'changed';
  assert.equal(poll()!.a!.lastFailure!.reason, 'third');
  // Another history (a new run in the same process) starts from its own rounds.
  assert.deepEqual(dashboardStatus({ current: undefined, history: [record(1, [])], directory: dir, events: new EventLog() }).siteDetails, { a: {}, b: {} });
});

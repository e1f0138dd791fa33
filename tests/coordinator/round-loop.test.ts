/**
 * The round loop against a fake transport: no sockets, no crypto. Tasks are sealed as
 * their plain frame; each fake site decodes its task and answers through the loop's
 * RoundGate side (deliver, reject, disconnected) as the endpoint would.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { SiteDirectory } from '../../coordinator/directory.ts';
import { RoundLoop, type Quorum } from '../../coordinator/round-loop.ts';
import { CoordinatorStore } from '../../coordinator/state/store.ts';
import { FedAvg } from '../../coordinator/strategy/fedavg.ts';
import type { Acceptance, SiteFailure, SiteResult } from '../../coordinator/strategy/strategy.ts';
import { countPatternLabels } from '../../shared/data/patterns.ts';
import { loadSchema } from '../../shared/data/schema.ts';
import { computeFeatureStats } from '../../shared/data/stats.ts';
import { loadSiteTable } from '../../shared/data/table.ts';
import type { FederationState } from '../../shared/federation/state.ts';
import { silentLogger } from '../../shared/logger.ts';
import { decodeFrame } from '../../shared/protocol/frame.ts';
import type { ResultMeta, TaskMeta } from '../../shared/protocol/messages.ts';
import type { TaskSink, WireMessage } from '../../shared/transport/types.ts';
import { DEFAULT_RESULT_BOUNDS, type ResultBounds } from '../../coordinator/result-bounds.ts';

const DIR = new URL('../../../shared/data/heart-disease/', import.meta.url).pathname;
const schema = loadSchema(DIR + 'schema.json');
const table = loadSiteTable(schema, DIR + 'processed.cleveland.data');
const STATS = { featureStats: computeFeatureStats(schema, table), patternCounts: countPatternLabels(table.patterns, table.labels) };
/** Every fake site has the cleveland file's rows: a result's counts must agree with them (result-bounds.ts). */
const ROWS = table.values.length;
const MODEL_SIZE = 4;
const EVAL = { n: 10, auroc: 0.7, accuracy: 0.6, balancedAccuracy: 0.6, ece: 0.1 };

/** What a fake site does with a task: answer (optionally with given weights), or one of the ways to fail. */
type Behaviour = 'answer' | 'silent' | 'error' | 'disconnect' | 'reject' | { weights: number[] };

interface Harness {
  loop: RoundLoop;
  states: { state: FederationState; round: number }[];
  /** The global weights each fit task carried, by round. */
  sentGlobals: Map<number, number[]>;
  /** Every task each site was sent, as `kind:round` (stats with its stage). */
  sent: Map<string, string[]>;
  directory: SiteDirectory;
}

function harness(o: {
  sites: string[];
  rounds: number;
  quorum?: Partial<Quorum>;
  strategy?: FedAvg;
  /** Per site and task: what to do (default: answer). */
  behave?: (site: string, task: TaskMeta) => Behaviour;
  /** Result bounds (default: the coordinator's defaults). */
  bounds?: ResultBounds;
  online?: string[];
  store?: CoordinatorStore;
}): Harness {
  const directory = new SiteDirectory(o.sites.map((name) => ({ name, signingPublicKey: new Uint8Array(32) })));
  const states: Harness['states'] = [];
  const sentGlobals = new Map<number, number[]>();
  const sent = new Map<string, string[]>();
  const quorum: Quorum = { minSitesToStart: o.sites.length, minSitesToAccept: o.sites.length, rejoinGraceMs: 0, roundDeadlineMs: 10_000, startTimeoutMs: 10_000, waitForAllMs: 0, ...o.quorum };
  const loop = new RoundLoop({
    federation: 'fake',
    rounds: o.rounds,
    model: { kind: 'logreg', raw: {}, seed: 1 },
    strategy: o.strategy ?? new FedAvg(),
    trainingSites: o.sites,
    testSites: [],
    quorum,
    schema,
    minCellCount: 5,
    baseConfig: {},
    localBaseline: false,
    directory,
    // The frame itself travels as the header: the fake site reads it back.
    seal: (_site, _round, _kind, payload) => ({ header: payload, signature: new Uint8Array(), chunks: [] }),
    hooks: { initialWeights: () => Promise.resolve(new Float32Array(MODEL_SIZE)) },
    ...(o.store ? { store: o.store } : {}),
    ...(o.bounds ? { bounds: o.bounds } : {}),
    log: silentLogger,
    onEvent: (e) => {
      if (e.type === 'state') states.push({ state: e.state, round: e.round });
    },
  });
  const sink = (site: string): TaskSink => ({
    send: (task: WireMessage) => {
      const { meta, weights } = decodeFrame(task.header) as { meta: TaskMeta; weights: Float32Array };
      if (meta.kind === 'fit') sentGlobals.set(meta.round, [...weights]);
      if (meta.kind !== 'end') (sent.get(site) ?? sent.set(site, []).get(site)!).push(`${meta.kind}${meta.stage ? `-${meta.stage}` : ''}:${meta.round}`);
      // Answers come later, as from a network.
      setImmediate(() => answer(site, meta));
      return Promise.resolve();
    },
    end: () => {},
  });
  const answer = (site: string, task: TaskMeta) => {
    if (task.kind === 'end') return;
    const b = o.behave?.(site, task) ?? 'answer';
    // The endpoint refuses an answer nobody waits for (a round already ended) before the loop sees it.
    if (!loop.expectation(site)) return;
    if (b === 'silent') return;
    if (b === 'disconnect') {
      directory.disconnect(site, directory.sink(site)!);
      loop.disconnected(site);
      return;
    }
    if (b === 'reject') return loop.reject(site, 'bad signature');
    const meta: ResultMeta = { round: task.round, kind: task.kind, numExamples: ROWS, metrics: {}, weights: 0 };
    if (b === 'error') meta.error = 'non-finite loss';
    else if (task.kind === 'stats') Object.assign(meta, STATS);
    else if (task.kind === 'evaluate') meta.evaluation = EVAL;
    else {
      const w = typeof b === 'object' ? b.weights : new Array<number>(MODEL_SIZE).fill(o.sites.indexOf(site) + 1);
      Object.assign(meta, { weights: MODEL_SIZE, metrics: { loss: 0.5 }, evaluation: EVAL });
      return loop.deliver(site, meta, (on) => on(0, Float32Array.from(w)));
    }
    loop.deliver(site, meta, () => {});
  };
  for (const s of o.online ?? o.sites) directory.connect(s, sink(s));
  return { loop, states, sentGlobals, sent, directory };
}

/** Holds the event loop open until `p` settles: the loop's timers are unref'd (a server would hold it). */
async function alive<T>(p: Promise<T>): Promise<T> {
  const keep = setInterval(() => {}, 1000);
  try {
    return await p;
  } finally {
    clearInterval(keep);
  }
}

const fitFailures = (h: Harness, round: number) => h.loop.history.find((r) => r.round === round)!.failed;

test('quorum met: every round accepted, the model is the example-weighted mean, states in order', async () => {
  const h = harness({ sites: ['a', 'b', 'c'], rounds: 2 });
  const outcome = await alive(h.loop.run());
  await h.loop.end('done', 'complete');
  assert.deepEqual(outcome.history.map((r) => [r.round, r.accepted, r.participants, r.failures]), [[1, true, 3, 0], [2, true, 3, 0]]);
  // Sites send 1, 2 and 3 everywhere with as many examples each: the mean is 2.
  assert.deepEqual([...outcome.globalModel], [2, 2, 2, 2]);
  assert.deepEqual(h.sentGlobals.get(2), [2, 2, 2, 2], 'round 2 starts from round 1\'s model');
  assert.deepEqual(outcome.problems, []);
  assert.deepEqual(h.states.map((s) => `${s.state}:${s.round}`), [
    'stats:0', 'training:1', 'aggregating:1', 'committed:1', 'training:2', 'aggregating:2', 'committed:2', 'evaluating:3', 'finished:3',
  ]);
  assert.equal(h.loop.state, 'finished');
  assert.equal(h.loop.stateChange?.reason, 'done');
});

test('quorum missed: the round is not accepted, the model is kept, the reason names the failure', async () => {
  const h = harness({ sites: ['a', 'b', 'c'], rounds: 2, behave: (site, t) => (site === 'c' && t.kind === 'fit' && t.round === 1 ? 'error' : 'answer') });
  const outcome = await alive(h.loop.run());
  const [r1, r2] = outcome.history;
  assert.equal(r1!.accepted, false);
  assert.equal(r1!.reason, '2 sites answered, 3 needed (c: site reported a failure: non-finite loss)');
  assert.deepEqual(h.sentGlobals.get(2), [0, 0, 0, 0], 'round 2 starts from the initial model');
  assert.equal(r2!.accepted, true);
  assert.deepEqual(outcome.problems, ['round 1 not accepted: 2 sites answered, 3 needed (c: site reported a failure: non-finite loss)']);
  assert.ok(h.states.some((s) => s.state === 'committed' && s.round === 1), 'a round not accepted is still committed (as not accepted)');
});

test('deadline passing: a silent site fails the round at the deadline; the rest carry it', async () => {
  const h = harness({
    sites: ['a', 'b', 'c'],
    rounds: 1,
    quorum: { minSitesToAccept: 2, roundDeadlineMs: 150 },
    behave: (site, t) => (site === 'b' && t.kind === 'fit' ? 'silent' : 'answer'),
    // Unclipped, so the mean is of what was sent (clipping has its own test below).
    bounds: { ...DEFAULT_RESULT_BOUNDS, updateNormMultiple: 1e6 },
  });
  const outcome = await alive(h.loop.run());
  assert.deepEqual(fitFailures(h, 1), [{ site: 'b', reason: 'no answer within the 0.15s round deadline' }]);
  assert.equal(outcome.history[0]!.accepted, true);
  // a sends 1s, c sends 3s: b's update is not in the mean.
  assert.deepEqual([...outcome.globalModel], [2, 2, 2, 2]);
});

test('a huge update is clipped to the bound before it is averaged, and still counts', async () => {
  const h = harness({
    sites: ['a', 'b', 'c'],
    rounds: 1,
    quorum: { minSitesToAccept: 2 },
    behave: (site, t) => (t.kind !== 'fit' ? 'answer' : site === 'c' ? { weights: [1e9, 0, 0, 0] } : { weights: [1, 1, 1, 1] }),
    bounds: { ...DEFAULT_RESULT_BOUNDS, updateNormMultiple: 2 },
  });
  const outcome = await alive(h.loop.run());
  // a and b step by norm 2 (the lower median); c's step is cut to 2 x 2 = 4, in its own direction.
  const mean = (1 + 1 + 4) / 3;
  assert.deepEqual([...outcome.globalModel].map((v) => Math.round(v * 1e4) / 1e4), [mean, 2 / 3, 2 / 3, 2 / 3].map((v) => Math.round(v * 1e4) / 1e4));
  assert.equal(outcome.history[0]!.participants, 3);
});

test('a site failing mid-round: gone offline, or its update refused, fails it for that round only', async () => {
  const h = harness({
    sites: ['a', 'b', 'c', 'd'],
    rounds: 2,
    quorum: { minSitesToAccept: 2, minSitesToStart: 2 },
    behave: (site, t) => (t.kind === 'fit' && t.round === 1 ? (site === 'b' ? 'disconnect' : site === 'd' ? 'reject' : 'answer') : 'answer'),
  });
  const outcome = await alive(h.loop.run());
  assert.deepEqual(fitFailures(h, 1), [
    { site: 'b', reason: 'site went offline during the round' },
    { site: 'd', reason: 'update refused: bad signature' },
  ]);
  assert.equal(outcome.history[0]!.participants, 2);
  // b is offline from then on: round 2 fails it at the start; d is back.
  assert.deepEqual(fitFailures(h, 2), [{ site: 'b', reason: 'offline when the round started' }]);
  assert.equal(outcome.history[1]!.participants, 3);
});

test('a site whose statistics were not counted trains in no round, and the results say so', async () => {
  // c is silent at the statistics round (offline, late): the run goes on with a and b.
  const h = harness({
    sites: ['a', 'b', 'c'],
    rounds: 2,
    quorum: { minSitesToAccept: 2, roundDeadlineMs: 150 },
    behave: (site, t) => (site === 'c' && t.kind === 'stats' ? 'silent' : 'answer'),
  });
  const outcome = await alive(h.loop.run());
  // Asked for the statistics and scored at the final evaluation; never sent a training task.
  assert.deepEqual(h.sent.get('c'), ['stats-1:0', 'evaluate:3']);
  assert.deepEqual(h.sent.get('a'), ['stats-1:0', 'fit:1', 'fit:2', 'evaluate:3']);
  // Its rounds are not failures of c: it was not asked.
  assert.deepEqual(outcome.history.map((r) => [r.participants, r.failed]), [[2, []], [2, []]]);
  assert.deepEqual(outcome.problems, []);
  assert.deepEqual(outcome.warnings, [
    'site "c" trained in no round: its statistics were not counted (no answer within the 0.15s round deadline), so it does not train in this run: ' +
      'restart the run with every site online to include it; its final metrics score a model trained without it',
  ]);
  assert.ok(outcome.sites.c, 'c is scored at the final evaluation');
  assert.match(h.directory.states().find((x) => x.name === 'c')!.lastFailure!.reason, /^left out of training: its statistics were not counted/);
});

test('a site missing from some accepted rounds is named with the rounds and why', async () => {
  const h = harness({
    sites: ['a', 'b', 'c'],
    rounds: 4,
    quorum: { minSitesToAccept: 2 },
    behave: (site, t) => (site === 'c' && t.kind === 'fit' && (t.round === 2 || t.round === 3) ? 'error' : site === 'b' && t.kind === 'fit' && t.round === 4 ? 'reject' : 'answer'),
  });
  const outcome = await alive(h.loop.run());
  assert.deepEqual(outcome.warnings, [
    'site "b" trained in 3 of 4 accepted rounds (missing from round 4: update refused: bad signature)',
    'site "c" trained in 2 of 4 accepted rounds (missing from rounds 2-3: site reported a failure: non-finite loss)',
  ]);
});

test('stop requested mid-round: the round is not committed and the state is stopped', async () => {
  const h: Harness = harness({
    sites: ['a', 'b'],
    rounds: 3,
    behave: (site, t) => {
      if (t.kind === 'fit' && t.round === 2 && site === 'a') {
        h.loop.stop('coordinator shutting down');
        return 'silent';
      }
      return 'answer';
    },
  });
  await assert.rejects(alive(h.loop.run()), /^Error: federation stopped after round 1 of 3 \(coordinator shutting down\)$/);
  assert.deepEqual(h.loop.history.map((r) => r.round), [1]);
  assert.equal(h.loop.state, 'stopped');
  assert.equal(h.loop.stateChange?.reason, 'coordinator shutting down');
  assert.deepEqual(h.states.slice(-2).map((s) => s.state), ['training', 'stopped'], 'no aggregating or committed for the stopped round');
});

test('stop while waiting for sites ends the wait at once', async () => {
  const h = harness({ sites: ['a', 'b'], rounds: 1, online: ['a'] });
  const run = alive(h.loop.run());
  setTimeout(() => h.loop.stop('SIGTERM'), 20);
  const t0 = Date.now();
  await assert.rejects(run, /^Error: stopped while waiting for sites \(SIGTERM\)$/);
  assert.ok(Date.now() - t0 < 5000, 'well before the start timeout');
  assert.equal(h.loop.state, 'stopped');
});

test('no start quorum, or a statistics round below it: the run fails, with the reason in its state', async () => {
  const lonely = harness({ sites: ['a', 'b'], rounds: 1, online: ['a'], quorum: { startTimeoutMs: 100 } });
  await assert.rejects(alive(lonely.loop.run()), /only 1 of 2 required training sites joined within 0.1s/);
  assert.equal(lonely.loop.state, 'failed');

  const h = harness({ sites: ['a', 'b'], rounds: 1, behave: (site, t) => (t.kind === 'stats' && site === 'b' ? 'error' : 'answer') });
  await assert.rejects(alive(h.loop.run()), /^Error: statistics round: 1 sites answered, 2 needed \(b: site reported a failure: non-finite loss\)$/);
  assert.equal(h.loop.state, 'failed');
  assert.match(h.loop.stateChange!.reason, /^statistics round: 1 sites answered/);
  // The coordinator still tells the sites; the state stays failed.
  await h.loop.end('federation failed', 'failed');
  assert.equal(h.loop.state, 'failed');
});

test('the strategy, not the quorum alone, decides whether a round counts', async () => {
  /** Refuses any round with a failure, although the quorum would accept it. */
  class Strict extends FedAvg {
    readonly seen: [number, number][] = [];
    override acceptFit(round: number, results: SiteResult[], failures: SiteFailure[]): Acceptance {
      this.seen.push([results.length, failures.length]);
      return failures.length ? { accepted: false, reason: `${failures.length} site(s) failed` } : { accepted: true };
    }
  }
  const strategy = new Strict();
  const h = harness({
    sites: ['a', 'b', 'c'],
    rounds: 2,
    strategy,
    quorum: { minSitesToAccept: 1 },
    behave: (site, t) => (site === 'c' && t.kind === 'fit' && t.round === 2 ? 'error' : 'answer'),
  });
  const outcome = await alive(h.loop.run());
  assert.deepEqual(strategy.seen, [[3, 0], [2, 1]], 'the strategy saw results and failures');
  assert.deepEqual(outcome.history.map((r) => r.accepted), [true, false]);
  assert.deepEqual(outcome.problems, ['round 2 not accepted: 1 site(s) failed']);
  assert.deepEqual([...outcome.globalModel], [2, 2, 2, 2], 'the refused round left the model as it was');
});

test('the durable state follows the lifecycle: rounds committed, finished marked only with the finished state', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'round-loop-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const open = () => CoordinatorStore.open(join(dir, 'state.sqlite'), 'fake', 'fingerprint');
  // A run that stops mid-round 2 leaves round 1 committed and the file not finished.
  let store = open();
  let h: Harness;
  h = harness({
    sites: ['a', 'b'],
    rounds: 2,
    store,
    behave: (site, task) => {
      if (task.kind === 'fit' && task.round === 2 && site === 'a') h.loop.stop('SIGTERM');
      return 'answer';
    },
  });
  await assert.rejects(alive(h.loop.run()), /federation stopped after round 1 of 2/);
  assert.equal(store.load()!.round, 1);
  assert.equal(store.finished(), undefined);
  store.close();
  // The restart resumes at round 2 (no statistics round), finishes, and marks the file.
  store = open();
  h = harness({ sites: ['a', 'b'], rounds: 2, store });
  const outcome = await alive(h.loop.run());
  assert.deepEqual(outcome.history.map((r) => r.round), [1, 2]);
  assert.equal(h.states[0]!.state, 'training', 'resumed straight into training');
  assert.equal(store.finished(), undefined, 'not finished before end()');
  await h.loop.end('federation complete', 'complete', 'runs/x/results.json');
  assert.equal(store.finished()?.results, 'runs/x/results.json');
  assert.equal(h.loop.state, 'finished');
  store.close();
});

test('a restarted coordinator keeps the sites its statistics were agreed without out of training', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'round-loop-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const open = () => CoordinatorStore.open(join(dir, 'state.sqlite'), 'fake', 'fingerprint');
  let store = open();
  let h: Harness;
  h = harness({
    sites: ['a', 'b', 'c'],
    rounds: 2,
    store,
    quorum: { minSitesToAccept: 2, roundDeadlineMs: 150 },
    behave: (site, task) => {
      if (task.kind === 'stats' && site === 'c') return 'silent';
      if (task.kind === 'fit' && task.round === 2 && site === 'a') h.loop.stop('SIGTERM');
      return 'answer';
    },
  });
  await assert.rejects(alive(h.loop.run()), /federation stopped after round 1 of 2/);
  store.close();
  store = open();
  h = harness({ sites: ['a', 'b', 'c'], rounds: 2, store, quorum: { minSitesToAccept: 2 } });
  const outcome = await alive(h.loop.run());
  assert.deepEqual(h.sent.get('c'), ['evaluate:3'], 'c, online now, is still not sent a training task');
  assert.match(outcome.warnings.join('\n'), /^site "c" trained in no round: its statistics were not counted/);
  store.close();
});

test('a stop during the statistics round leaves nobody out: the restart asks every site again', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'round-loop-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const open = () => CoordinatorStore.open(join(dir, 'state.sqlite'), 'fake', 'fingerprint');
  let store = open();
  let h: Harness;
  // c is still computing its statistics when the coordinator is asked to stop.
  h = harness({
    sites: ['a', 'b', 'c'],
    rounds: 1,
    store,
    quorum: { minSitesToAccept: 2 },
    behave: (site, task) => {
      if (task.kind === 'stats' && site === 'c') {
        h.loop.stop('SIGTERM');
        return 'silent';
      }
      return 'answer';
    },
  });
  await assert.rejects(alive(h.loop.run()), /federation stopped during the statistics rounds \(SIGTERM\)/);
  assert.equal(store.load(), undefined, 'nothing committed');
  store.close();
  store = open();
  h = harness({ sites: ['a', 'b', 'c'], rounds: 1, store, quorum: { minSitesToAccept: 2 } });
  const outcome = await alive(h.loop.run());
  assert.deepEqual(h.sent.get('c'), ['stats-1:0', 'fit:1', 'evaluate:2']);
  assert.deepEqual(outcome.warnings, []);
  store.close();
});

test('state from a release before leftOut was kept: the plain run\'s sites without statistics rows stay out', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'round-loop-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const open = () => CoordinatorStore.open(join(dir, 'state.sqlite'), 'fake', 'fingerprint');
  let store = open();
  let h: Harness;
  h = harness({
    sites: ['a', 'b', 'c'],
    rounds: 2,
    store,
    quorum: { minSitesToAccept: 2, roundDeadlineMs: 150 },
    behave: (site, task) => {
      if (task.kind === 'stats' && site === 'c') return 'silent';
      if (task.kind === 'fit' && task.round === 2 && site === 'a') h.loop.stop('SIGTERM');
      return 'answer';
    },
  });
  await assert.rejects(alive(h.loop.run()), /federation stopped after round 1 of 2/);
  // As the earlier release wrote it: siteRows, no leftOut.
  const saved = store.load()!;
  const { leftOut, ...older } = saved.setup as Record<string, unknown>;
  assert.ok(leftOut, 'this release saves leftOut');
  store.commitSetup(older, saved.global);
  store.close();
  store = open();
  h = harness({ sites: ['a', 'b', 'c'], rounds: 2, store, quorum: { minSitesToAccept: 2 } });
  const outcome = await alive(h.loop.run());
  assert.deepEqual(h.sent.get('c'), ['evaluate:3'], 'c, with no statistics rows, is not sent a training task');
  assert.match(outcome.warnings.join('\n'), /^site "c" trained in no round: its statistics were not counted \(before the coordinator restarted\)/);
  store.close();
});

/**
 * The round loop against a fake transport: no sockets, no crypto. Tasks are sealed as
 * their plain frame; each fake site decodes its task and answers through the loop's
 * RoundGate side (deliver, reject, disconnected) as the endpoint would. Used by
 * round-loop.test.ts and participation.test.ts.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { SiteDirectory } from '../../coordinator/directory.ts';
import { RoundLoop, type Quorum } from '../../coordinator/round-loop.ts';
import { CoordinatorStore } from '../../coordinator/state/store.ts';
import { FedAvg } from '../../coordinator/strategy/fedavg.ts';
import { countPatternLabels } from '../../shared/data/patterns.ts';
import { loadSchema } from '../../shared/data/schema.ts';
import { computeFeatureStats } from '../../shared/data/stats.ts';
import { loadSiteTable } from '../../shared/data/table.ts';
import type { FederationState } from '../../shared/federation/state.ts';
import { silentLogger, type Logger } from '../../shared/logger.ts';
import { decodeFrame } from '../../shared/protocol/frame.ts';
import type { ResultMeta, TaskMeta } from '../../shared/protocol/messages.ts';
import type { TaskSink, WireMessage } from '../../shared/transport/types.ts';
import type { ResultBounds } from '../../coordinator/result-bounds.ts';
import type { DebiasHooks } from '../../coordinator/debias-monitor.ts';

const DIR = new URL('../../../shared/data/heart-disease/', import.meta.url).pathname;
const schema = loadSchema(DIR + 'schema.json');
const table = loadSiteTable(schema, DIR + 'processed.cleveland.data');
const STATS = { featureStats: computeFeatureStats(schema, table), patternCounts: countPatternLabels(table.patterns, table.labels) };
/** Every fake site has the cleveland file's rows: a result's counts must agree with them (result-bounds.ts). */
const ROWS = table.values.length;
export const MODEL_SIZE = 4;
const EVAL = { n: 10, auroc: 0.7, accuracy: 0.6, balancedAccuracy: 0.6, ece: 0.1 };

/** What a fake site does with a task: answer (optionally with given weights), or one of the ways to fail. */
export type Behaviour = 'answer' | 'silent' | 'error' | 'disconnect' | 'reject' | { weights: number[] } | { tamper: (meta: ResultMeta) => void };

export interface Harness {
  loop: RoundLoop;
  states: { state: FederationState; round: number }[];
  /** The global weights each fit task carried, by round. */
  sentGlobals: Map<number, number[]>;
  /** Every task each site was sent, as `kind:round` (stats with its stage). */
  sent: Map<string, string[]>;
  directory: SiteDirectory;
  /** The site joins again (its sink answers as before). */
  reconnect: (site: string) => void;
}

export function harness(o: {
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
  /** A debiased model's steps (default: none, a plain model). */
  debias?: DebiasHooks;
  /** The loop's logger (default: silent). */
  log?: Logger;
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
    hooks: { initialWeights: () => Promise.resolve(new Float32Array(MODEL_SIZE)), ...(o.debias ? { debias: o.debias } : {}) },
    ...(o.store ? { store: o.store } : {}),
    ...(o.bounds ? { bounds: o.bounds } : {}),
    log: o.log ?? silentLogger,
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
    let weights: Float32Array | undefined;
    if (b === 'error') meta.error = 'non-finite loss';
    else if (task.kind === 'stats') Object.assign(meta, structuredClone(STATS));
    else if (task.kind === 'evaluate') meta.evaluation = { ...EVAL };
    else {
      const w = typeof b === 'object' && 'weights' in b ? b.weights : new Array<number>(MODEL_SIZE).fill(o.sites.indexOf(site) + 1);
      Object.assign(meta, { weights: MODEL_SIZE, metrics: { loss: 0.5 }, evaluation: { ...EVAL } });
      weights = Float32Array.from(w);
    }
    if (typeof b === 'object' && 'tamper' in b) b.tamper(meta);
    // As the endpoint does: a result the loop refuses fails the site for the round (coordinator-service.ts).
    try {
      loop.deliver(site, meta, (on) => weights && on(0, weights));
    } catch (e) {
      loop.reject(site, (e as Error).message);
    }
  };
  for (const s of o.online ?? o.sites) directory.connect(s, sink(s));
  const reconnect = (site: string) => {
    directory.connect(site, sink(site));
    loop.connected(site);
  };
  return { loop, states, sentGlobals, sent, directory, reconnect };
}

/** Holds the event loop open until `p` settles: the loop's timers are unref'd (a server would hold it). */
export async function alive<T>(p: Promise<T>): Promise<T> {
  const keep = setInterval(() => {}, 1000);
  try {
    return await p;
  } finally {
    clearInterval(keep);
  }
}

export const fitFailures = (h: Harness, round: number) => h.loop.history.find((r) => r.round === round)!.failed;

/** A durable state file for a test, removed after it: `open()` opens it (again, as a restarted coordinator does). */
export function stateFile(t: TestContext): { open: () => CoordinatorStore } {
  const dir = mkdtempSync(join(tmpdir(), 'round-loop-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return { open: () => CoordinatorStore.open(join(dir, 'state.sqlite'), 'fake', 'fingerprint') };
}


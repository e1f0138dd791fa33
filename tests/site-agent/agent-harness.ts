// The site agent tests' shared setup (agent.test.ts, agent-scaffold.test.ts, agent-secure.test.ts):
// a fake transport plays the coordinator (tasks sealed and signed with the real envelope), a
// fake model runner stands in for the model. One module, so the split test files cannot drift apart.
import assert from 'node:assert/strict';
import { PayloadOpener, PayloadSealer, verifyHeader } from '../../shared/crypto/envelope.ts';
import { generateIdentity } from '../../shared/crypto/keys.ts';
import { buildFeatureSpace, type FeatureSpace } from '../../shared/data/feature-space.ts';
import type { PatternPrior } from '../../shared/data/patterns.ts';
import { compileSchema } from '../../shared/data/schema.ts';
import { computeFeatureStats } from '../../shared/data/stats.ts';
import { parseSiteTable, selectRows } from '../../shared/data/table.ts';
import { silentLogger } from '../../shared/logger.ts';
import { decodeFrame, encodeFrame } from '../../shared/protocol/frame.ts';
import { PROTOCOL_VERSION, resultKind, type EvalMetrics, type ResultMeta, type TaskMeta } from '../../shared/protocol/messages.ts';
import { AsyncQueue } from '../../shared/transport/async-queue.ts';
import type { SiteTransport, WireMessage } from '../../shared/transport/types.ts';
import { SiteAgent } from '../../site-agent/agent.ts';
import type { LocalData } from '../../site-agent/local-data.ts';
import type { ModelRunner, RunnerFactory } from '../../site-agent/runner-api.ts';

export const FEDERATION = 'fed';
export const SITE = 'a';
export const coordinator = generateIdentity();
export const site = generateIdentity();

export const schema = compileSchema(
  { label: { column: 'y', threshold: 0 }, modalities: { labs: ['x1', 'x2'], exam: ['c'] }, categorical: ['c'], missingValues: ['NA'] },
  'inline',
);
const table = parseSiteTable(
  schema,
  'x1,x2,c,y\n1,2,p,0\n2,NA,q,1\n3,4,p,0\n4,1,NA,1\n5,3,q,0\n6,5,p,1\n7,2,q,1\n8,6,p,0\n2,3,q,1\n4,4,p,0\n6,NA,q,1\n1,1,p,0\n',
  'site-a.csv',
);
export const data: LocalData = { train: selectRows(table, [0, 1, 2, 3, 4, 5, 6, 7]), test: selectRows(table, [8, 9, 10, 11]), testRows: [8, 9, 10, 11] };
export const space: FeatureSpace = buildFeatureSpace(schema, computeFeatureStats(schema, data.train));
export const prior: PatternPrior = { version: 1, patterns: [{ pattern: '11', p: 1 }], balancing: {}, minCount: 5, totalRows: 8 };
export const model = { kind: 'logreg', raw: {}, seed: 7 };
export const EVAL: EvalMetrics = { n: 4, auroc: 0.75, accuracy: 0.5, balancedAccuracy: 0.5, ece: 0.1 };

/** A model runner that records its calls; training adds 1 to every weight. */
export function fakeRunner(opts: { loss?: number; controlVariate?: Float32Array } = {}) {
  const calls: string[] = [];
  const configs: Record<string, unknown>[] = [];
  let weights = new Float32Array(0);
  let disposed = 0;
  const runner: ModelRunner = {
    setWeights: (w) => void ((weights = Float32Array.from(w)), calls.push(`setWeights ${w.length}`)),
    getWeights: () => weights,
    evaluate: (d) => (calls.push(`evaluate ${d.n}`), EVAL),
    train: async (d, c, config) => {
      calls.push(`train ${d.n} round ${c.round}`);
      configs.push(config);
      weights = weights.map((v) => v + 1);
      return { loss: opts.loss ?? 0.25, steps: 3, examples: d.n, ...(opts.controlVariate ? { controlVariate: opts.controlVariate } : {}) };
    },
    health: () => undefined,
    predict: (d) => (calls.push(`predict ${d.n}`), Float32Array.from({ length: d.n }, (_, i) => (i + 1) / (d.n + 1))),
    trainAlone: async (enc, _c, rounds) => (calls.push(`trainAlone ${enc.train.n} ${rounds}`), { ...EVAL, auroc: 0.6 }),
    dispose: () => void disposed++,
  };
  const specs: unknown[] = [];
  const factory: RunnerFactory = async (spec) => {
    specs.push(spec);
    return runner;
  };
  return { factory, calls, configs, specs, disposed: () => disposed };
}

interface SealOpts {
  /** When the coordinator sealed it (default now). */
  createdAt?: number;
  headerKind?: string;
  site?: string;
  federation?: string;
  signer?: Uint8Array;
  messageId?: string;
}

/** A task as the coordinator sends it: plain (signed, not encrypted), header kind from the meta unless given. */
export function task(meta: Omit<Partial<TaskMeta>, 'kind'> & { kind: string; round: number }, weights?: Float32Array, o: SealOpts = {}): WireMessage {
  const full = { federation: FEDERATION, config: {}, weights: weights?.length ?? 0, ...meta };
  const headerKind = o.headerKind ?? `task-${meta.kind}${meta.stage ? `-${meta.stage}` : ''}`;
  const sealer = new PayloadSealer(
    { federation: o.federation ?? FEDERATION, round: meta.round, site: o.site ?? SITE, kind: headerKind, ...(o.messageId ? { messageId: o.messageId } : {}), ...(o.createdAt ? { createdAt: o.createdAt } : {}) },
    encodeFrame(full, weights),
    { signingSecretKey: o.signer ?? coordinator.signing.secretKey },
  );
  return { header: sealer.header, signature: sealer.signature, chunks: [...sealer.chunks()] };
}

export interface Submitted {
  kind: string;
  round: number;
  meta: ResultMeta;
  weights: Float32Array;
  /** The chunk size its header announced (results to tasks). */
  chunkSize?: number;
}

/** The coordinator's side of the connection: queues tasks, opens and keeps every result the agent submits. */
export function fakeTransport() {
  const tasks = new AsyncQueue<WireMessage>();
  const submitted: Submitted[] = [];
  // The agent's acknowledgements of the end, apart: every other check is of its answers to tasks.
  const acks: Submitted[] = [];
  const joins: { site: string; meta: unknown }[] = [];
  const transport: SiteTransport = {
    async subscribe(join) {
      const h = verifyHeader(join.header, join.signature, () => site.signing.publicKey, { maxPayloadBytes: 1 << 20, maxChunkSize: 1 << 24 });
      joins.push({ site: h.site, meta: decodeFrame(await open(h, join)).meta });
      return { welcome: { federation: FEDERATION, protocolVersion: PROTOCOL_VERSION, message: 'welcome' }, tasks };
    },
    async submit(msg) {
      const h = verifyHeader(msg.header, msg.signature, () => site.signing.publicKey, { maxPayloadBytes: 1 << 20, maxChunkSize: 1 << 24 });
      assert.equal(h.encrypted, true, 'results are encrypted to the coordinator');
      const { meta, weights } = decodeFrame(await open(h, msg));
      const got = { kind: h.kind, round: h.round, meta: meta as ResultMeta, weights };
      if (h.kind === resultKind('end')) acks.push(got);
      else submitted.push({ ...got, chunkSize: h.chunkSize });
      return { accepted: true, message: 'ok' };
    },
    close: () => tasks.close(),
  };
  return { transport, tasks, submitted, acks, joins };
}

/** A message's payload; its chunks as a transport takes them (a result's come from an async generator). */
async function open(h: ReturnType<typeof verifyHeader>, msg: WireMessage): Promise<Uint8Array> {
  const opener = new PayloadOpener(h, msg.header, coordinator.box.secretKey);
  const parts: Uint8Array[] = [];
  for await (const c of msg.chunks) parts.push(Uint8Array.from(opener.open(parts.length, c)));
  opener.finish();
  return Buffer.concat(parts);
}

export function agent(extra: Partial<ConstructorParameters<typeof SiteAgent>[0]> = {}) {
  const runner = fakeRunner();
  const a = new SiteAgent({
    site: SITE,
    federation: FEDERATION,
    schema,
    data,
    identity: site,
    coordinator: { signingPublicKey: coordinator.signing.publicKey, boxPublicKey: coordinator.box.publicKey },
    seed: 3,
    log: silentLogger,
    runner: runner.factory,
    session: 'session-1',
    ...extra,
  });
  return { agent: a, runner };
}

/** Runs the agent over `tasks` (then the stream ends) and returns how it ended and what it submitted. */
export async function serve(tasks: WireMessage[], extra: Partial<ConstructorParameters<typeof SiteAgent>[0]> = {}, runner = fakeRunner()) {
  const { agent: a } = agent({ runner: runner.factory, ...extra });
  return serveWith(a, tasks, runner);
}

/** `tasks` served by `a` on a fresh connection (a reconnection, where `a` served one before). */
export async function serveWith(a: SiteAgent, tasks: WireMessage[], runner = fakeRunner()) {
  const t = fakeTransport();
  for (const m of tasks) t.tasks.push(m);
  t.tasks.close();
  const ended = await a.run(t.transport).then(
    (message) => ({ message, error: undefined }),
    (error: unknown) => ({ message: undefined, error }),
  );
  return { ...t, ended, runner, agent: a };
}

export const end = (round: number, outcome: TaskMeta['outcome'] = 'complete') => task({ kind: 'end', round, message: `done after ${round}`, outcome });

// The site agent's task handling through its public surface: a fake transport plays the
// coordinator (tasks sealed and signed with the real envelope), a fake model runner stands
// in for the model, so each task kind's answer is checked without training anything.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PayloadOpener, PayloadSealer, verifyHeader } from '../../shared/crypto/envelope.ts';
import { generateIdentity } from '../../shared/crypto/keys.ts';
import { computeClassMoments } from '../../shared/data/class-moments.ts';
import { encodeTable } from '../../shared/data/encode.ts';
import { buildFeatureSpace, type FeatureSpace } from '../../shared/data/feature-space.ts';
import { balanceFeatures, cellKeys, countCells } from '../../shared/data/outcome-balance.ts';
import { countPatternLabels, type PatternPrior } from '../../shared/data/patterns.ts';
import { compileSchema } from '../../shared/data/schema.ts';
import { computeFeatureStats } from '../../shared/data/stats.ts';
import { parseSiteTable, selectRows } from '../../shared/data/table.ts';
import { ProtocolError } from '../../shared/errors.ts';
import { silentLogger } from '../../shared/logger.ts';
import { calibrationSums } from '../../shared/metrics/calibration.ts';
import { compileSecAggConfig } from '../../shared/secagg/config.ts';
import { toB64 } from '../../shared/secagg/wire.ts';
import { dpTaskConfig } from '../../shared/privacy/dp.ts';
import { decodeFrame, encodeFrame } from '../../shared/protocol/frame.ts';
import { PROTOCOL_VERSION, type EvalMetrics, type ResultMeta, type TaskMeta } from '../../shared/protocol/messages.ts';
import { AsyncQueue } from '../../shared/transport/async-queue.ts';
import { FEDCAUSAL_VERSION } from '../../shared/version.ts';
import type { SiteTransport, WireMessage } from '../../shared/transport/types.ts';
import { FederationEndedBadly, SiteAgent } from '../../site-agent/agent.ts';
import type { LocalData } from '../../site-agent/local-data.ts';
import type { ModelRunner, RunnerFactory } from '../../site-agent/runner-api.ts';

const FEDERATION = 'fed';
const SITE = 'a';
const coordinator = generateIdentity();
const site = generateIdentity();

const schema = compileSchema(
  { label: { column: 'y', threshold: 0 }, modalities: { labs: ['x1', 'x2'], exam: ['c'] }, categorical: ['c'], missingValues: ['NA'] },
  'inline',
);
const table = parseSiteTable(
  schema,
  'x1,x2,c,y\n1,2,p,0\n2,NA,q,1\n3,4,p,0\n4,1,NA,1\n5,3,q,0\n6,5,p,1\n7,2,q,1\n8,6,p,0\n2,3,q,1\n4,4,p,0\n6,NA,q,1\n1,1,p,0\n',
  'site-a.csv',
);
const data: LocalData = { train: selectRows(table, [0, 1, 2, 3, 4, 5, 6, 7]), test: selectRows(table, [8, 9, 10, 11]), testRows: [8, 9, 10, 11] };
const space: FeatureSpace = buildFeatureSpace(schema, computeFeatureStats(schema, data.train));
const prior: PatternPrior = { version: 1, patterns: [{ pattern: '11', p: 1 }], balancing: {}, minCount: 5, totalRows: 8 };
const model = { kind: 'logreg', raw: {}, seed: 7 };
const EVAL: EvalMetrics = { n: 4, auroc: 0.75, accuracy: 0.5, balancedAccuracy: 0.5, ece: 0.1 };

/** A model runner that records its calls; training adds 1 to every weight. */
function fakeRunner(opts: { loss?: number; controlVariate?: Float32Array } = {}) {
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
  headerKind?: string;
  site?: string;
  federation?: string;
  signer?: Uint8Array;
  messageId?: string;
}

/** A task as the coordinator sends it: plain (signed, not encrypted), header kind from the meta unless given. */
function task(meta: Omit<Partial<TaskMeta>, 'kind'> & { kind: string; round: number }, weights?: Float32Array, o: SealOpts = {}): WireMessage {
  const full = { federation: FEDERATION, config: {}, weights: weights?.length ?? 0, ...meta };
  const headerKind = o.headerKind ?? `task-${meta.kind}${meta.stage ? `-${meta.stage}` : ''}`;
  const sealer = new PayloadSealer(
    { federation: o.federation ?? FEDERATION, round: meta.round, site: o.site ?? SITE, kind: headerKind, ...(o.messageId ? { messageId: o.messageId } : {}) },
    encodeFrame(full, weights),
    { signingSecretKey: o.signer ?? coordinator.signing.secretKey },
  );
  return { header: sealer.header, signature: sealer.signature, chunks: [...sealer.chunks()] };
}

interface Submitted {
  kind: string;
  round: number;
  meta: ResultMeta;
  weights: Float32Array;
}

/** The coordinator's side of the connection: queues tasks, opens and keeps every result the agent submits. */
function fakeTransport() {
  const tasks = new AsyncQueue<WireMessage>();
  const submitted: Submitted[] = [];
  const joins: { site: string; meta: unknown }[] = [];
  const transport: SiteTransport = {
    async subscribe(join) {
      const h = verifyHeader(join.header, join.signature, () => site.signing.publicKey, { maxPayloadBytes: 1 << 20, maxChunkSize: 1 << 24 });
      joins.push({ site: h.site, meta: decodeFrame(open(h, join)).meta });
      return { welcome: { federation: FEDERATION, protocolVersion: PROTOCOL_VERSION, message: 'welcome' }, tasks };
    },
    async submit(msg) {
      const h = verifyHeader(msg.header, msg.signature, () => site.signing.publicKey, { maxPayloadBytes: 1 << 20, maxChunkSize: 1 << 24 });
      assert.equal(h.encrypted, true, 'results are encrypted to the coordinator');
      const { meta, weights } = decodeFrame(open(h, msg));
      submitted.push({ kind: h.kind, round: h.round, meta: meta as ResultMeta, weights });
      return { accepted: true, message: 'ok' };
    },
    close: () => tasks.close(),
  };
  return { transport, tasks, submitted, joins };
}

function open(h: ReturnType<typeof verifyHeader>, msg: WireMessage): Uint8Array {
  const opener = new PayloadOpener(h, msg.header, coordinator.box.secretKey);
  const parts = [...(msg.chunks as Iterable<Uint8Array>)].map((c, i) => Uint8Array.from(opener.open(i, c)));
  opener.finish();
  return Buffer.concat(parts);
}

function agent(extra: Partial<ConstructorParameters<typeof SiteAgent>[0]> = {}) {
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
async function serve(tasks: WireMessage[], extra: Partial<ConstructorParameters<typeof SiteAgent>[0]> = {}, runner = fakeRunner()) {
  const { agent: a } = agent({ runner: runner.factory, ...extra });
  const t = fakeTransport();
  for (const m of tasks) t.tasks.push(m);
  t.tasks.close();
  const ended = await a.run(t.transport).then(
    (message) => ({ message, error: undefined }),
    (error: unknown) => ({ message: undefined, error }),
  );
  return { ...t, ended, runner, agent: a };
}

const end = (round: number, outcome: TaskMeta['outcome'] = 'complete') => task({ kind: 'end', round, message: `done after ${round}`, outcome });

test('joins with a signed join carrying the protocol version, session and software version; a complete end returns its message', async () => {
  const { joins, submitted, ended, agent: a, runner } = await serve([end(1)]);
  assert.deepEqual(joins, [{ site: SITE, meta: { protocolVersion: PROTOCOL_VERSION, site: SITE, session: 'session-1', software: FEDCAUSAL_VERSION } }]);
  assert.equal(ended.error, undefined);
  assert.equal(ended.message, 'done after 1');
  assert.equal(a.joined, true);
  assert.deepEqual(submitted, [], 'an end is not answered');
  assert.equal(runner.disposed(), 0, 'no model was made, so none to release');
});

test('stats stage 1: feature sums and (pattern, label) counts of the training rows, nothing else', async () => {
  const { submitted, ended } = await serve([task({ kind: 'stats', round: 0, stage: 1 }), end(0)]);
  assert.equal(ended.error, undefined);
  assert.equal(submitted.length, 1);
  const r = submitted[0]!;
  assert.equal(r.kind, 'stats-result-1');
  assert.deepEqual(r.meta, {
    round: 0,
    kind: 'stats',
    numExamples: 8,
    metrics: {},
    weights: 0,
    featureStats: computeFeatureStats(schema, data.train),
    patternCounts: countPatternLabels(data.train.patterns, data.train.labels),
  });
  assert.equal(r.weights.length, 0);
});

test('stats stage 2: class moments of the encoded training rows; stage 3: (cell, label) counts of the flagged readings', async () => {
  const enc = encodeTable(data.train, space);
  const { submitted, ended } = await serve([
    task({ kind: 'stats', round: 0, stage: 2, featureSpace: space }),
    task({ kind: 'stats', round: 0, stage: 3, featureSpace: space, balanceFeatures: ['c'] }),
    end(0),
  ]);
  assert.equal(ended.error, undefined);
  assert.deepEqual(submitted.map((s) => s.kind), ['stats-result-2', 'stats-result-3']);
  assert.deepEqual(submitted[0]!.meta.classMoments, JSON.parse(JSON.stringify(computeClassMoments(enc))));
  const cells = countCells(cellKeys(enc, balanceFeatures(space, ['c'])), enc.y);
  assert.deepEqual(submitted[1]!.meta.cellCounts, cells);
  assert.ok(Object.keys(cells).length > 1, 'the counts split by the flagged reading');
});

test('fit: evaluates the received model on the held-out rows, trains on the training rows, returns the new weights', async () => {
  const runner = fakeRunner();
  const global = Float32Array.from([0.5, 1, -2]);
  const { submitted, ended } = await serve(
    [task({ kind: 'fit', round: 1, featureSpace: space, prior, model, config: { localEpochs: 1 } }, global), end(1)],
    {},
    runner,
  );
  assert.equal(ended.error, undefined);
  assert.deepEqual(runner.specs, [model], 'the runner is made for the task\'s model');
  assert.deepEqual(runner.calls, ['setWeights 3', 'evaluate 4', 'train 8 round 1']);
  assert.equal(submitted.length, 1);
  const r = submitted[0]!;
  assert.equal(r.kind, 'fit-result');
  assert.equal(r.round, 1);
  assert.deepEqual([...r.weights], [1.5, 2, -1]);
  assert.equal(r.meta.weights, 3);
  assert.equal(r.meta.numExamples, 8);
  assert.deepEqual(r.meta.evaluation, EVAL);
  assert.equal(r.meta.metrics.loss, 0.25);
  assert.equal(r.meta.metrics.steps, 3);
  assert.ok(r.meta.metrics.trainMs! >= 0);
  assert.deepEqual(r.meta.patternCounts, countPatternLabels(data.train.patterns, data.train.labels));
  assert.equal(r.meta.error, undefined);
  assert.equal(runner.disposed(), 1, 'the model is released when the federation ends');
});

test("SCAFFOLD fit: the federation's c reaches training as a Float32Array, and the site's control variate goes back in the meta", async () => {
  const runner = fakeRunner({ controlVariate: Float32Array.from([0.25, -0.5, 1]) });
  const { submitted, ended } = await serve(
    [task({ kind: 'fit', round: 2, featureSpace: space, prior, model, config: { controlVariates: true }, controlVariate: [1, 2, 3] }, Float32Array.from([0, 0, 0])), end(2)],
    {},
    runner,
  );
  assert.equal(ended.error, undefined);
  assert.deepEqual(runner.configs[0]!.controlVariate, Float32Array.from([1, 2, 3]));
  assert.deepEqual(submitted[0]!.meta.controlVariate, [0.25, -0.5, 1]);
});

test('a control variate holding a non-finite value is reported as a failure, never sent', async () => {
  const runner = fakeRunner({ controlVariate: Float32Array.from([0, Number.NaN, 1]) });
  const { submitted } = await serve([task({ kind: 'fit', round: 1, featureSpace: space, prior, model, config: { controlVariates: true } }, Float32Array.from([0, 0, 0])), end(1)], {}, runner);
  assert.equal(submitted[0]!.meta.error, 'the control variate holds a non-finite value');
  assert.equal(submitted[0]!.meta.controlVariate, undefined);
});

test('a task asking for a control variate in a differentially private round is refused: the gradient would go un-noised', async () => {
  const runner = fakeRunner({ controlVariate: Float32Array.from([0, 0, 0]) });
  const { submitted, ended } = await serve(
    [task({ kind: 'fit', round: 1, featureSpace: space, prior, model, config: { controlVariates: true, ...dpTaskConfig({ clipNorm: 1, noiseMultiplier: 1, delta: 1e-5 }) } }, Float32Array.from([0, 0, 0])), end(1)],
    {},
    runner,
  );
  assert.ok(!submitted.some((r) => r.meta.controlVariate !== undefined), 'no gradient left the site');
  assert.ok(!runner.calls.some((c) => c.startsWith('train')), 'nothing was trained');
  const said = ended.error instanceof Error ? ended.error.message : String(submitted[0]?.meta.error);
  assert.match(said, /asks for a control variate \(SCAFFOLD\) in a differentially private round; this site sends none/);
});

test('fit whose training diverges reports the failure instead of sending weights', async () => {
  const runner = fakeRunner({ loss: Number.NaN });
  const { submitted, ended } = await serve(
    [task({ kind: 'fit', round: 1, featureSpace: space, prior, model }, Float32Array.from([1, 2])), end(1)],
    {},
    runner,
  );
  assert.equal(ended.error, undefined);
  assert.equal(submitted.length, 1);
  assert.equal(submitted[0]!.meta.error, 'training loss is NaN');
  assert.equal(submitted[0]!.meta.weights, 0);
  assert.equal(submitted[0]!.weights.length, 0);
});

test('secure names round: only for this site\'s own summary session, and once (a second roster would difference out one site)', async () => {
  const config = compileSecAggConfig({});
  const roster = { [SITE]: toB64(site.signing.publicKey), b: toB64(generateIdentity().signing.publicKey), c: toB64(generateIdentity().signing.publicKey) };
  const summary = 'fed/0/stats-1';
  // Each in a round of its own: the replay guard takes one task of a kind per round, and a coordinator picks the round.
  const names = (round: number, session: string, secaggSession: string) =>
    task({ kind: 'stats', round, stage: 4, vocabulary: { session, buckets: { c: [0, 1] } }, secagg: { session: secaggSession, config, roster } });
  const { submitted, ended } = await serve([
    task({ kind: 'stats', round: 0, stage: 1, secagg: { session: summary, config, roster } }),
    names(0, 'fed/0/other', 'fed/0/stats-4a'),
    names(1, summary, 'fed/1/stats-4b'),
    names(2, summary, 'fed/2/stats-4c'),
    end(2),
  ]);
  assert.equal(ended.error, undefined);
  assert.deepEqual(submitted.map((s) => s.kind), ['stats-result-1', 'stats-result-4', 'stats-result-4', 'stats-result-4']);
  const [, foreign, first, second] = submitted.map((s) => s.meta) as [ResultMeta, ResultMeta, ResultMeta, ResultMeta];
  assert.match(foreign.error ?? '', /^secure aggregation malformed: the names task's session "fed\/0\/other" is not this site's summary session/);
  assert.equal(first.error, undefined);
  assert.ok(first.secagg, 'the first names task is answered with a key advertisement');
  assert.match(second.error ?? '', /^secure aggregation double-request: this site already answered the names task of summary session "fed\/0\/stats-1"/);
});

test('secure statistics: every sum invites the first summary\'s sites, and each stage is summed once per summary', async () => {
  const config = compileSecAggConfig({});
  const key = () => toB64(generateIdentity().signing.publicKey);
  const roster = { [SITE]: toB64(site.signing.publicKey), b: key(), c: key(), d: key() };
  const { d: _d, ...withoutD } = roster;
  const stats = (round: number, stage: number, session: string, r: Record<string, string>) =>
    task({ kind: 'stats', round, stage, ...(stage === 2 ? { featureSpace: space } : {}), secagg: { session, config, roster: r } });
  const { submitted, ended } = await serve([
    stats(0, 1, 'fed/0/stats-1', roster),
    stats(0, 2, 'fed/0/stats-2a', withoutD),
    stats(1, 2, 'fed/1/stats-2b', roster),
    stats(2, 2, 'fed/2/stats-2c', roster),
    // A restarted coordinator's new summary, over the same sites, starts afresh; over fewer, it is refused.
    stats(3, 1, 'fed/3/stats-1', roster),
    stats(4, 1, 'fed/4/stats-1', withoutD),
    end(4),
  ]);
  assert.equal(ended.error, undefined);
  const errors = submitted.map((x) => x.meta.error);
  assert.equal(errors[0], undefined);
  assert.match(errors[1] ?? '', /^secure aggregation malformed: statistics stage 2 invites a, b, c, not the sites of this site's first statistics sum/);
  assert.equal(errors[2], undefined, 'the same sites: answered');
  assert.match(errors[3] ?? '', /^secure aggregation double-request: statistics stage 2 was summed already for summary session "fed\/0\/stats-1"/);
  assert.equal(errors[4], undefined);
  assert.match(errors[5] ?? '', /statistics stage 1 invites a, b, c, not the sites/);
});

test('secure final evaluation: a survivor list leaving too few test-only sites in their scope is not signed', async () => {
  const config = compileSecAggConfig({});
  const roster = Object.fromEntries([SITE, 'b', 'c', 'd', 'e'].map((s) => [s, toB64(s === SITE ? site.signing.publicKey : generateIdentity().signing.publicKey)]));
  const session = 'fed/3/eval';
  const confirm = (round: number, survivors: string[]) => task({ kind: 'secagg', round, stage: 93, secagg: { session, survivors } });
  const { submitted, ended } = await serve([
    task({ kind: 'evaluate', round: 3, featureSpace: space, prior, model, config: { final: true }, secagg: { session, config, roster, testSites: ['c', 'd', 'e'] } }, Float32Array.from([1, 1])),
    confirm(3, [SITE, 'b', 'c', 'd']),
    end(3),
  ]);
  assert.equal(ended.error, undefined);
  assert.ok(submitted[0]!.meta.secagg, 'the evaluation is answered with a key advertisement');
  assert.match(submitted[1]!.meta.error ?? '', /^secure aggregation malformed: the final evaluation's survivor list keeps 2 of the 3 test-only sites \(c, d\)/);
});

test('a secure fit whose training diverges reports the failure without its row count', async () => {
  const runner = fakeRunner({ loss: Number.NaN });
  const secagg = { session: 'fed/1/fit/00', config: compileSecAggConfig({}), roster: { [SITE]: toB64(site.signing.publicKey) } };
  const { submitted } = await serve([task({ kind: 'fit', round: 1, featureSpace: space, prior, model, secagg }, Float32Array.from([1, 2])), end(1)], {}, runner);
  assert.equal(submitted[0]!.meta.error, 'training loss is NaN');
  assert.equal(submitted[0]!.meta.numExamples, 0, 'the row count stays in the sum, which this site never joins');
});

test('evaluate: the global model on the held-out rows; the final one adds calibration sums, the local baseline and predictions', async () => {
  const runner = fakeRunner();
  const predictions: unknown[] = [];
  const { submitted, ended } = await serve(
    [
      task({ kind: 'evaluate', round: 2, featureSpace: space, prior, model }, Float32Array.from([1, 1])),
      task({ kind: 'evaluate', round: 3, featureSpace: space, prior, model, config: { final: true, localBaseline: true, rounds: 4 } }, Float32Array.from([1, 1])),
      end(3),
    ],
    { onPredictions: (p) => predictions.push(p) },
    runner,
  );
  assert.equal(ended.error, undefined);
  assert.deepEqual(submitted.map((s) => s.kind), ['eval-result', 'eval-result']);
  const [plain, final] = submitted as [Submitted, Submitted];
  assert.deepEqual(plain.meta, { round: 2, kind: 'evaluate', numExamples: 8, metrics: {}, weights: 0, evaluation: EVAL });
  assert.deepEqual(final.meta.localEvaluation, { ...EVAL, auroc: 0.6 });
  const scores = Float32Array.from([0.2, 0.4, 0.6, 0.8]);
  assert.deepEqual(final.meta.calibration, JSON.parse(JSON.stringify(calibrationSums(data.test.labels, scores))));
  assert.deepEqual(predictions, [{ site: SITE, rows: [8, 9, 10, 11], labels: data.test.labels, scores }]);
  assert.ok(runner.calls.includes('trainAlone 8 4'), 'the local-only model trains for the federation\'s rounds');
  assert.equal(runner.calls.filter((c) => c === 'train 8 round 3').length, 0, 'an evaluation never trains the federated model');
});

test('an end as failed or incomplete is a failure here too; a stream that stops without an end is UNAVAILABLE', async () => {
  const failed = await serve([end(2, 'failed')]);
  assert.ok(failed.ended.error instanceof FederationEndedBadly);
  assert.equal((failed.ended.error as Error).message, 'done after 2');
  const cut = await serve([task({ kind: 'stats', round: 0, stage: 1 })]);
  assert.equal(cut.submitted.length, 1, 'the task before the break was answered');
  assert.equal((cut.ended.error as { code?: number }).code, 14);
  assert.match((cut.ended.error as Error).message, /closed the connection before the federation ended/);
});

/** A run that must stop at a task the agent refuses: nothing is submitted, the model is released. */
async function refusedTask(bad: WireMessage, reason: ProtocolError['reason'], message: RegExp) {
  const r = await serve([bad, task({ kind: 'stats', round: 0, stage: 1 }), end(0)]);
  assert.ok(r.ended.error instanceof ProtocolError, `a ProtocolError, got ${String(r.ended.error)}`);
  assert.equal(r.ended.error.reason, reason);
  assert.match(r.ended.error.message, message);
  assert.deepEqual(r.submitted, [], 'no answer to a refused task, and nothing after it');
}

test('an unknown task kind is refused, in the header or in the signed meta', async () => {
  await refusedTask(task({ kind: 'stats', round: 0 }, undefined, { headerKind: 'task-train' }), 'not-expected', /^task-train from site "a" was not expected now/);
  // A well-signed task-fit header around a meta whose kind no agent knows: its shape check refuses it,
  // so it is not answered as if it were an evaluation.
  await refusedTask(task({ kind: 'train', round: 1, featureSpace: space, prior, model }, undefined, { headerKind: 'task-fit' }), 'malformed', /^the task-fit task of round 1 is malformed: kind: Invalid option: expected one of "stats"\|"fit"\|"evaluate"\|"end"\|"secagg"$/);
  // A known kind under another kind's header: neither is answered.
  await refusedTask(task({ kind: 'evaluate', round: 1, featureSpace: space, prior, model }, undefined, { headerKind: 'task-fit' }), 'malformed', /does not match its header kind/);
});

test('a malformed task is refused: bad signature, another site, another federation, a replay, a meta that is not JSON', async () => {
  await refusedTask(task({ kind: 'stats', round: 0, stage: 1 }, undefined, { signer: site.signing.secretKey }), 'bad-signature', /does not verify/);
  await refusedTask(task({ kind: 'stats', round: 0, stage: 1 }, undefined, { site: 'b' }), 'malformed', /^task addressed to "b", this is "a"$/);
  await refusedTask(task({ kind: 'stats', round: 0, stage: 1 }, undefined, { federation: 'other' }), 'malformed', /is for federation "other", expected "fed"$/);
  const payload = new Uint8Array(7);
  new DataView(payload.buffer).setUint32(0, 3, true);
  payload.set(new TextEncoder().encode('{{{'), 4);
  const garbage = new PayloadSealer({ federation: FEDERATION, round: 0, site: SITE, kind: 'task-stats-1' }, payload, { signingSecretKey: coordinator.signing.secretKey });
  await refusedTask({ header: garbage.header, signature: garbage.signature, chunks: [...garbage.chunks()] }, 'malformed', /^payload meta is not valid JSON/);
  // The same task twice: answered once, then the copy is refused.
  const once = task({ kind: 'stats', round: 0, stage: 1 }, undefined, { messageId: 'ab'.repeat(16) });
  const r = await serve([once, once, end(0)]);
  assert.equal(r.submitted.length, 1);
  assert.ok(r.ended.error instanceof ProtocolError && r.ended.error.reason === 'replay');
});

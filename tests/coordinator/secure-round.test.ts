// Secure fit rounds through the real coordinator and site agents (in-memory transport):
// the coordinator gets masked vectors only, recovers a site lost after key sharing, and
// fails the round with the reason when too few are left.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_RESULT_BOUNDS } from '../../coordinator/result-bounds.ts';
import { SecureAggregator } from '../../coordinator/secure-round.ts';
import { SecurePhases } from '../../coordinator/secure-phases.ts';
import { ProtocolError } from '../../shared/errors.ts';
import type { ModelSpecMsg, ResultMeta } from '../../shared/protocol/messages.ts';
import { DebiasMonitor } from '../../coordinator/debias-monitor.ts';
import { SecureAggregationSite } from '../../site-agent/secure-aggregation.ts';
import { generateIdentity } from '../../shared/crypto/keys.ts';
import { loadSchema } from '../../shared/data/schema.ts';
import { loadSiteTable } from '../../shared/data/table.ts';
import { silentLogger } from '../../shared/logger.ts';
import { compileSecAggConfig } from '../../shared/secagg/config.ts';
import { SECAGG_PHASE, secaggStage } from '../../shared/secagg/wire.ts';
import { STATS_STAGE } from '../../shared/protocol/task-meta.ts';
import { SecAggCoordinator } from '../../shared/secagg/coordinator.ts';
import { VectorLayout } from '../../shared/secagg/layout.ts';
import type { SiteTransport, WireMessage } from '../../shared/transport/types.ts';
import { prepareLocalData } from '../../site-agent/local-data.ts';
import { inProcessFederation } from './in-process-federation.ts';
import { stateFile } from './round-loop-harness.ts';
import type { CoordinatorStore } from '../../coordinator/state/store.ts';

const DIR = new URL('../../../shared/data/heart-disease/', import.meta.url).pathname;
const schema = loadSchema(DIR + 'schema.json');
const FILES: Record<string, string> = {
  cleveland: 'processed.cleveland.data',
  hungary: 'processed.hungarian.data',
  switzerland: 'processed.switzerland.data',
  va: 'processed.va.data',
};

const kindOf = (m: WireMessage) => (JSON.parse(new TextDecoder().decode(m.header)) as { kind: string }).kind;

/** A transport that goes away (like a crashed site) instead of sending its first message of envelope kind `kind`. */
function dropsBefore(kind: string, t: SiteTransport): SiteTransport {
  return {
    ...t,
    submit: async (m) => {
      if (kindOf(m) !== kind) return t.submit(m);
      t.close();
      throw Object.assign(new Error('site crashed'), { code: 14 });
    },
  };
}

function setup(o: { secure: boolean; drop?: Record<string, string>; model?: ModelSpecMsg; store?: CoordinatorStore; threshold?: number; only?: string[] }) {
  const sites = Object.fromEntries(Object.entries(FILES).filter(([site]) => !o.only || o.only.includes(site)).map(([site, file]) => [site, prepareLocalData(loadSiteTable(schema, DIR + file), { testFraction: 0.3, seed: 1 })]));
  const s = inProcessFederation({
    schema,
    sites,
    settings: {
      model: o.model ?? { kind: 'logreg', raw: { localEpochs: 1 }, seed: 1 },
      quorum: { minSitesToStart: Object.keys(sites).length, minSitesToAccept: 2, roundDeadlineMs: 60_000, startTimeoutMs: 10_000, rejoinGraceMs: 0, waitForAllMs: 0 },
      // Relative update clipping needs each site's update: off, so plain and secure aggregate alike.
      bounds: { ...DEFAULT_RESULT_BOUNDS, updateNormMultiple: 1e9 },
      ...(o.secure ? { secureAggregation: compileSecAggConfig(o.threshold ? { threshold: o.threshold } : {}) } : {}),
      ...(o.store ? { store: o.store } : {}),
    },
    wrap: (site, base) => {
      const drop = o.drop?.[site];
      return drop ? dropsBefore(drop, base) : base;
    },
    trainYieldEveryMs: Infinity,
  });
  return { fed: s.fed, agents: s.agents.map((a) => ({ transport: a.transport, done: a.done.catch((e: Error) => `error: ${e.message}`) })) };
}

async function run(o: Parameters<typeof setup>[0], inspect?: (fed: ReturnType<typeof setup>['fed']) => void) {
  const s = setup(o);
  try {
    const outcome = await s.fed.loop.run();
    inspect?.(s.fed);
    await s.fed.loop.end('done', 'complete');
    return outcome;
  } finally {
    for (const a of s.agents) a.transport.close();
  }
}

const maxGap = (a: Float32Array, b: Float32Array) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i]!)), 0);

test('the coordinator receives only masked vectors, each unlike the site encoding it hides', async (t) => {
  const encoded: Uint32Array[] = [];
  const masked: Uint32Array[] = [];
  const encode = VectorLayout.prototype.encode;
  let fitEncodings = 0;
  t.mock.method(VectorLayout.prototype, 'encode', function (this: VectorLayout, v: Record<string, ArrayLike<number>>) {
    const out = encode.call(this, v);
    encoded.push(Uint32Array.from(out.vector));
    if (this.parts.some((p) => p.name === 'weightedUpdate')) fitEncodings++;
    return out;
  });
  const receive = SecAggCoordinator.prototype.receiveMaskedInput;
  t.mock.method(SecAggCoordinator.prototype, 'receiveMaskedInput', function (this: SecAggCoordinator, m: { site: string; masked: Uint32Array }) {
    masked.push(Uint32Array.from(m.masked));
    receive.call(this, m);
  });
  let states: { roundsCompleted: number; rows?: number }[] = [];
  const outcome = await run({ secure: true }, (fed) => (states = fed.directory.states()));
  assert.equal(outcome.history[0]!.accepted, true);
  // Rounds done count training rounds only (the fit round, its phases not counted apart); no row count: each site's n is only in the sum.
  assert.deepEqual(states.map((s) => s.roundsCompleted), [1, 1, 1, 1]);
  assert.ok(states.every((s) => s.rows === undefined));
  assert.equal(fitEncodings, 4, 'each site encoded its update once');
  // Six secure sums: the statistics summary, the vocabulary's slot counts, names and counts (heart-disease categories are undeclared), the fit round, the final evaluation.
  assert.equal(encoded.length, 24, 'each site encoded one vector per secure sum');
  assert.equal(masked.length, 24, 'the coordinator got one masked vector per site and sum');
  for (const m of masked)
    for (const e of encoded.filter((x) => x.length === m.length)) {
      const same = m.reduce((n, v, i) => n + (v === e[i] ? 1 : 0), 0);
      assert.ok(same < m.length / 100, `${same} of ${m.length} coordinates equal a site's own encoding`);
    }
  assert.deepEqual(outcome.history[0]!.siteEvaluations, {}, 'no per-site evaluation reaches the coordinator in a secure round');
});

test('a debiased secure round: the plain round\'s health figures and AUROC, from the sum alone', { timeout: 180_000 }, async (t) => {
  const model: ModelSpecMsg = { kind: 'debiased', raw: { localEpochs: 1, debiasing: { suspect: ['oldpeak', 'chol'], weighting: 'outcome' } }, seed: 1 };
  const plain = await run({ secure: false, model });
  const delivered: ResultMeta[] = [];
  const deliver = SecureAggregator.prototype.deliver;
  t.mock.method(SecureAggregator.prototype, 'deliver', function (this: SecureAggregator, ...a: Parameters<SecureAggregator['deliver']>) {
    delivered.push(a[3]);
    deliver.apply(this, a);
  });
  const sent: NonNullable<Parameters<SecureAggregationSite['fitResult']>[6]>[] = [];
  const fitResult = SecureAggregationSite.prototype.fitResult;
  t.mock.method(SecureAggregationSite.prototype, 'fitResult', function (this: SecureAggregationSite, ...a: Parameters<SecureAggregationSite['fitResult']>) {
    sent.push(a[6]!);
    return fitResult.apply(this, a);
  });
  // The health and count parts of each site's encoding, and of each masked vector the coordinator gets.
  let span: [number, number] = [0, 0];
  const encoded: Uint32Array[] = [];
  const masked: Uint32Array[] = [];
  const encode = VectorLayout.prototype.encode;
  // Only the fit rounds' vectors (the statistics sums have no health parts).
  let fitLength = -1;
  t.mock.method(VectorLayout.prototype, 'encode', function (this: VectorLayout, v: Record<string, ArrayLike<number>>) {
    const out = encode.call(this, v);
    if (!this.parts.some((p) => p.name === 'health.n')) return out;
    span = [this.part('health.n').offset, this.length];
    fitLength = this.length;
    encoded.push(out.vector.slice(...span));
    return out;
  });
  const receive = SecAggCoordinator.prototype.receiveMaskedInput;
  t.mock.method(SecAggCoordinator.prototype, 'receiveMaskedInput', function (this: SecAggCoordinator, m: { site: string; masked: Uint32Array }) {
    if (m.masked.length === fitLength) masked.push(m.masked.slice(...span));
    receive.call(this, m);
  });
  const observed: Parameters<DebiasMonitor['observe']>[1][] = [];
  const observe = DebiasMonitor.prototype.observe;
  t.mock.method(DebiasMonitor.prototype, 'observe', function (this: DebiasMonitor, ...a: Parameters<DebiasMonitor['observe']>) {
    observed.push(a[1]);
    return observe.apply(this, a);
  });
  const secure = await run({ secure: true, model });
  const [p, s] = [plain.history[0]!, secure.history[0]!];
  assert.equal(s.accepted, true, s.reason);
  const ph = p.health!;
  const sh = s.health!;
  assert.ok(Object.keys(ph.weightedAssociation).length > 0, 'the run flags readings, so their health is compared');
  assert.deepEqual(Object.keys(sh.weightedAssociation), Object.keys(ph.weightedAssociation));
  // Quantization: 4 sites at 12 fraction bits for the histograms, 5 for sum v^2 (docs/secagg.md); well within these.
  const close = (a: number, b: number, tol: number, what: string) => assert.ok(Math.abs(a - b) <= tol, `${what}: secure ${a}, plain ${b}`);
  for (const f of Object.keys(ph.weightedAssociation)) {
    close(sh.weightedAssociation[f]!, ph.weightedAssociation[f]!, 1e-4, `weightedAssociation.${f}`);
    close(sh.reliance[f]!, ph.reliance[f]!, 1e-3, `reliance.${f}`);
  }
  close(sh.conflictingShare, ph.conflictingShare, 1e-4, 'conflictingShare');
  close(sh.effectiveSampleSize, ph.effectiveSampleSize, 1e-4, 'effectiveSampleSize');
  assert.equal(sh.priorDrift, ph.priorDrift, 'pattern counts are exact in the sum');
  assert.equal(sh.tempered, ph.tempered);
  close(s.metrics.eval_auroc!, p.metrics.eval_auroc!, 1e-4, 'eval_auroc');
  assert.ok(maxGap(plain.globalModel, secure.globalModel) < 1e-4, `largest weight difference ${maxGap(plain.globalModel, secure.globalModel)}`);
  // Per-site figures never reach the coordinator: its fit results carry none, and the monitor sees one sum.
  assert.equal(sent.filter((x) => x.health !== undefined).length, 4, 'every site computed its health sums');
  assert.equal(masked.length, 4);
  for (const m of masked)
    for (const e of encoded) assert.ok(m.reduce((n, v, i) => n + (v === e[i] ? 1 : 0), 0) < m.length / 10, 'a masked vector shows a site\'s health parts');
  assert.ok(delivered.length > 0 && delivered.every((m) => m.health === undefined && m.patternCounts === undefined));
  assert.equal(observed.length, 1);
  assert.equal(observed[0]!.length, 1, 'the monitor is fed the one summed result');
  const summed = observed[0]![0]!;
  assert.equal(summed.health!.n, sent.reduce((a, x) => a + x.health!.n, 0));
  // Counts are exact: each published pattern's summed cell is the sites' total.
  assert.ok(Object.keys(summed.patternCounts!).length > 0);
  for (const [pattern, cells] of Object.entries(summed.patternCounts!))
    assert.deepEqual(cells, [0, 1].map((y) => sent.reduce((a, x) => a + (x.patternCounts?.[pattern]?.[y] ?? 0), 0)), pattern);
});

test('a site lost after sharing its keys is recovered: the model is the other three sites\' FedAvg', { timeout: 120_000 }, async () => {
  // Plain: va never sends its update. Secure: va advertises and shares keys, then is gone before its masked input.
  const plain = await run({ secure: false, drop: { va: 'fit-result' } });
  const secure = await run({ secure: true, drop: { va: 'secagg-result-2' } });
  const h = secure.history[0]!;
  assert.equal(h.accepted, true, h.reason);
  assert.equal(h.participants, 3);
  assert.deepEqual(h.failed.map((f) => f.site), ['va']);
  assert.ok(maxGap(plain.globalModel, secure.globalModel) < 1e-4, `largest weight difference ${maxGap(plain.globalModel, secure.globalModel)}`);
});

test('a site gone before its statistics were counted trains in no round, plain or secure, and the results say so', { timeout: 120_000 }, async () => {
  for (const secure of [false, true]) {
    const outcome = await run({ secure, drop: { va: 'stats-result-1' } });
    const h = outcome.history[0]!;
    assert.equal(h.accepted, true, h.reason);
    // Not asked: the fit round's record has no failure of va's (it used to fail as offline every round).
    assert.deepEqual([h.participants, h.failed], [3, []], `secure: ${secure}`);
    assert.match(outcome.warnings.join('\n'), /^site "va" trained in no round: its statistics were not counted \(/m, `secure: ${secure}`);
  }
});

test('too few sites answered the statistics round for secure aggregation\'s minimum: the run fails at once, saying so', { timeout: 120_000 }, async () => {
  await assert.rejects(
    run({ secure: true, drop: { va: 'stats-result-1', switzerland: 'stats-result-1' } }),
    /^Error: secure aggregation needs at least 3 sites in every training round \(secureAggregation\.minSites\), but only 2 training sites answered the statistics round \(left out: switzerland, va\)$/,
  );
});

test('below the threshold the secure round fails with the reason and the model stays as it was', { timeout: 120_000 }, async () => {
  const secure = await run({ secure: true, drop: { va: 'secagg-result-2', switzerland: 'secagg-result-2' } });
  const h = secure.history[0]!;
  assert.equal(h.accepted, false);
  assert.match(h.reason ?? '', /aborted: only 2 sites sent masked inputs, the threshold is 3/);
  assert.ok(secure.problems.some((p) => /round 1 not accepted: secure round test\/1\/fit\/[0-9a-f]+ aborted/.test(p)), secure.problems.join('; '));
  assert.equal(secure.secureAggregation?.threshold, 3);
  // Every site gone before its update: the global model is the initial one, seeded alike.
  const none = await run({ secure: false, drop: Object.fromEntries(Object.keys(FILES).map((s) => [s, 'fit-result'])) });
  assert.equal(secure.modelSha256, none.modelSha256);
});

test('the coordinator refuses a secure fit result with plain weights, or another site\'s advertisement', () => {
  const keys = new Map(['a', 'b', 'c'].map((s) => [s, generateIdentity()]));
  const agg = new SecureAggregator({ federation: 'f', config: compileSecAggConfig({}), signingKey: (s) => keys.get(s)?.signing.publicKey, log: silentLogger });
  const meta = (m: Partial<ResultMeta>): ResultMeta => ({ round: 1, kind: 'fit', numExamples: 0, metrics: {}, weights: 0, ...m });
  const noReplay = () => {};
  assert.throws(() => agg.deliver('a', 'fit', undefined, meta({ secagg: {} }), noReplay), (e: Error) => e instanceof ProtocolError && e.reason === 'not-expected');
  const first = agg.fitTask(1, ['a', 'b', 'c'], 3);
  const task = agg.fitTask(1, ['a', 'b', 'c'], 3);
  assert.match(task.session, /^f\/1\/fit\/[0-9a-f]{16}$/);
  assert.notEqual(task.session, first.session, 'a round run again is a new session');
  assert.deepEqual(Object.keys(task.roster), ['a', 'b', 'c']);
  const site = new SecureAggregationSite('b', keys.get('b')!.signing, silentLogger);
  const advert = site.fitResult({ federation: 'f', round: 1, kind: 'fit', config: {}, weights: 3, secagg: task }, meta({}), Float32Array.of(1, 2, 3), 5, {}, undefined).meta.secagg!;
  assert.throws(() => agg.deliver('b', 'fit', undefined, meta({ weights: 3, secagg: advert }), noReplay), /secure aggregation refused \(malformed\): a secure fit result from b carries 3 plain weights/);
  assert.throws(() => agg.deliver('a', 'fit', undefined, meta({ secagg: advert }), noReplay), /secure aggregation refused \(misaddressed\): a sent a key advertisement for b/);
  assert.throws(() => agg.deliver('b', 'fit', undefined, meta({}), noReplay), /without its secagg field/);
  agg.deliver('b', 'fit', undefined, meta({ secagg: advert }), noReplay);
  assert.throws(() => agg.deliver('b', 'fit', undefined, meta({ secagg: advert }), noReplay), /refused \(duplicate\)/);
  // A secure statistics stage: an advertisement with the site's own sums beside it, or a row count, is refused; another stage's result is not expected.
  const stats = agg.statsTask(0, 1, ['a', 'b', 'c'], (n) => new VectorLayout([{ name: 'rows', length: 1, kind: 'count', bound: 10 }], n));
  const statsAdvert = site.input({ federation: 'f', round: 0, kind: 'stats', stage: 1, config: {}, weights: 0, secagg: stats }, meta({ kind: 'stats' }), () => ({
    layout: new VectorLayout([{ name: 'rows', length: 1, kind: 'count', bound: 10 }], 3),
    values: { rows: [7] },
  })).meta.secagg!;
  const statsMeta = (m: Partial<ResultMeta>) => meta({ kind: 'stats', secagg: statsAdvert, ...m });
  assert.throws(() => agg.deliver('b', 'stats', 1, statsMeta({ featureStats: { n: 7, numeric: {}, categories: {} } }), noReplay), /carries featureStats in the clear/);
  assert.throws(() => agg.deliver('b', 'stats', 1, statsMeta({ numExamples: 7 }), noReplay), /carries an example count in the clear/);
  assert.throws(() => agg.deliver('b', 'stats', 2, statsMeta({}), noReplay), (e: Error) => e instanceof ProtocolError && e.reason === 'not-expected');
  agg.deliver('b', 'stats', 1, statsMeta({}), noReplay);
});

test('a stop during the secure phases ends the run as stopped, the round not committed', { timeout: 120_000 }, async (t) => {
  const s = setup({ secure: true });
  const endShareKeys = SecAggCoordinator.prototype.endShareKeys;
  t.mock.method(SecAggCoordinator.prototype, 'endShareKeys', function (this: SecAggCoordinator) {
    s.fed.loop.stop('operator stop');
    return endShareKeys.call(this);
  });
  const masked = t.mock.method(SecAggCoordinator.prototype, 'receiveMaskedInput');
  try {
    await assert.rejects(s.fed.loop.run(), /stopped/);
    assert.equal(masked.mock.callCount(), 0, 'no phase ran after the stop');
    assert.equal(s.fed.loop.state, 'stopped');
    assert.equal(s.fed.loop.history.length, 0, 'the round was not committed');
  } finally {
    for (const a of s.agents) a.transport.close();
  }
});

test('a site lost after the first statistics sum: the later statistics sums are not unmasked without it, and the run fails saying why', { timeout: 180_000 }, async (t) => {
  // Stage 1 summed four sites; va is gone before its masked class moments (stage 2). A sum of
  // the other three would give va's rows, label counts and column sums against stage 1's.
  const model: ModelSpecMsg = { kind: 'debiased', raw: { localEpochs: 1, debiasing: { suspect: ['chol'], weighting: 'outcome' } }, seed: 1 };
  await assert.rejects(run({ secure: true, model, drop: { va: `secagg-result-${secaggStage(STATS_STAGE.moments, SECAGG_PHASE.mask)}` } }), (e: Error) => {
    assert.equal(
      e.message,
      "the statistics would be summed over cleveland, hungary, switzerland, but this federation's first secure statistics sum was over cleveland, hungary, switzerland, va: the difference would be the figures of va, so nothing is decoded. The run goes on once va answers every statistics stage (a restarted coordinator asks again; a site agent restarted mid-statistics can answer after the next restart)",
    );
    return true;
  });
  // The sites refuse it too, should a coordinator not (each checks the survivor list before signing it).
  t.mock.method(SecurePhases.prototype as unknown as { checkStatsSites: () => void }, 'checkStatsSites', () => {});
  await assert.rejects(run({ secure: true, model, drop: { va: `secagg-result-${secaggStage(STATS_STAGE.moments, SECAGG_PHASE.mask)}` } }), (e: Error) => {
    assert.match(e.message, /^secure round test\/0\/stats-2\/[0-9a-f]+ aborted: only 0 sites signed the survivor list, the threshold is 3; no sum is released\. The sites said: cleveland, hungary, switzerland: /);
    assert.match(e.message, /would be summed without va, unlike this site's first statistics sum \(cleveland, hungary, switzerland, va\): the difference would be the figures of va; restart the federation with the same sites online/);
    return true;
  });
});

test('a site that advertised for the first statistics sum but is not in it trains in no round, and later statistics sums are over the others', { timeout: 180_000 }, async () => {
  // va sends its key advertisement for stage 1, then is gone before its masked input: the sum is
  // the other three's. Had it trained, a fit round's sum minus stage 1's would give its rows.
  const model: ModelSpecMsg = { kind: 'debiased', raw: { localEpochs: 1, debiasing: { suspect: ['chol'], weighting: 'outcome' } }, seed: 1 };
  const outcome = await run({ secure: true, model, drop: { va: `secagg-result-${secaggStage(STATS_STAGE.summary, SECAGG_PHASE.mask)}` } });
  const h = outcome.history[0]!;
  assert.equal(h.accepted, true, h.reason);
  assert.deepEqual([h.participants, h.failed], [3, []]);
  assert.match(outcome.warnings.join('\n'), /^site "va" trained in no round: its statistics were not counted \(/m);
});

test('a coordinator restarted after a failed run does not decode a first statistics sum over fewer sites than the one its state file kept', { timeout: 180_000 }, async (t) => {
  // The sites forget on restart; the coordinator's state file remembers the first sum's sites.
  const state = stateFile(t);
  const store = state.open();
  store.rememberStatsSumSites(Object.keys(FILES));
  const s = setup({ secure: true, drop: { va: 'stats-result-1' }, store });
  try {
    await assert.rejects(s.fed.loop.run(), (e: Error) => {
      assert.match(
        e.message,
        /the statistics would be summed over cleveland, hungary, switzerland, but this federation's first secure statistics sum was over cleveland, hungary, switzerland, va \(kept in the state file\): the difference would be the figures of va, so nothing is decoded\. The run goes on once va answers every statistics stage/,
      );
      return true;
    });
  } finally {
    for (const a of s.agents) a.transport.close();
    store.close();
  }
  // A fresh state file remembers the first sum it decodes.
  const fresh = stateFile(t).open();
  await run({ secure: true, store: fresh });
  assert.deepEqual(fresh.statsSumSites(), Object.keys(FILES).sort());
  fresh.close();
});

test('a first statistics sum over fewer sites than secureAggregation.minSites is not decoded, whatever the threshold', { timeout: 120_000 }, async () => {
  // Threshold 2 of 3 (more than half, allowed): one site gone before its masked input would leave a sum of two.
  const mask = `secagg-result-${secaggStage(STATS_STAGE.summary, SECAGG_PHASE.mask)}`;
  await assert.rejects(
    run({ secure: true, threshold: 2, only: ['cleveland', 'hungary', 'va'], drop: { va: mask } }),
    /^SecAggAbort: the statistics would be summed over 2 sites \(cleveland, hungary\), fewer than secure aggregation's minimum of 3 \(secureAggregation\.minSites\), so nothing is decoded$/,
  );
});

test('a restarted coordinator asks for stage 1 only the sites of the first statistics sum: one left out then stays out and the run completes', { timeout: 180_000 }, async (t) => {
  // The first sum was over three sites (va left out); va is back and healthy. Asked again, it would
  // make every new stage 1 unlike the first, and the run could never go on (a re-review's loop).
  const store = stateFile(t).open();
  store.rememberStatsSumSites(['cleveland', 'hungary', 'switzerland']);
  try {
    const outcome = await run({ secure: true, store });
    assert.equal(outcome.history[0]!.accepted, true, outcome.history[0]!.reason);
    assert.equal(outcome.history[0]!.participants, 3);
    assert.match(outcome.warnings.join('\n'), /^site "va" trained in no round: its statistics were not counted \(/m);
  } finally {
    store.close();
  }
});

test('a secure fit round whose sum would hold fewer than minSites sites is not decoded', { timeout: 120_000 }, async () => {
  // Threshold 2 of 3: va gone before its masked update leaves two sites' inputs.
  const outcome = await run({ secure: true, threshold: 2, only: ['cleveland', 'hungary', 'va'], drop: { va: 'secagg-result-2' } });
  const h = outcome.history[0]!;
  assert.equal(h.accepted, false);
  assert.match(h.reason ?? '', /only 2 sites' inputs reached the sum, fewer than secure aggregation's minimum of 3 \(secureAggregation\.minSites\); nothing is decoded/);
});

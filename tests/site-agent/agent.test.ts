// The site agent's task handling through its public surface: a fake transport plays the
// coordinator (tasks sealed and signed with the real envelope), a fake model runner stands
// in for the model, so each task kind's answer is checked without training anything.
// SCAFFOLD cases are in agent-scaffold.test.ts, secure aggregation in agent-secure.test.ts.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PayloadSealer } from '../../shared/crypto/envelope.ts';
import { centreWithinSite, computeClassMoments } from '../../shared/data/class-moments.ts';
import { encodeTable } from '../../shared/data/encode.ts';
import { balanceFeatures, cellKeys, countCells } from '../../shared/data/outcome-balance.ts';
import { countPatternLabels } from '../../shared/data/patterns.ts';
import { computeFeatureStats } from '../../shared/data/stats.ts';
import { buildFeatureSpace } from '../../shared/data/feature-space.ts';
import { parseSiteTable } from '../../shared/data/table.ts';
import { captureWarnings } from '../shared/capture-logger.ts';
import { ProtocolError } from '../../shared/errors.ts';
import { schemaJoinForm } from '../../shared/data/schema-compare.ts';
import { calibrationSums } from '../../shared/metrics/calibration.ts';
import { PROTOCOL_VERSION } from '../../shared/protocol/messages.ts';
import { FEDCAUSAL_BUILD_VERSION } from '../../shared/version.ts';
import type { WireMessage } from '../../shared/transport/types.ts';
import { FederationEndedBadly } from '../../site-agent/agent.ts';
import { coordinator, data, end, EVAL, FEDERATION, fakeRunner, model, prior, schema, serve, site, SITE, space, task, type Submitted } from './agent-harness.ts';

test('joins with a signed join carrying the protocol version, session, software version and schema; a complete end is acknowledged and returns its message', async () => {
  const { joins, submitted, acks, ended, agent: a, runner } = await serve([end(1)]);
  // The schema too: the coordinator refuses a site whose schema.json is not the federation's.
  assert.deepEqual(joins, [{ site: SITE, meta: { protocolVersion: PROTOCOL_VERSION, site: SITE, session: 'session-1', software: FEDCAUSAL_BUILD_VERSION, ...schemaJoinForm(schema) } }]);
  assert.equal(ended.error, undefined);
  assert.equal(ended.message, 'done after 1');
  assert.equal(a.joined, true);
  assert.deepEqual(submitted, [], 'an end is not answered');
  // Only acknowledged: the coordinator waits for a site that did not hear it (coordinator/end-notice.ts).
  assert.deepEqual(acks, [{ kind: 'end-ack', round: 1, meta: { kind: 'end', round: 1, weights: 0, numExamples: 0, metrics: {} }, weights: new Float32Array(0) }]);
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

test('stats stage 2: class moments of the encoded training rows, raw and centred on the site\'s class means; stage 3: (cell, label) counts of the flagged readings', async () => {
  const enc = encodeTable(data.train, space);
  const { submitted, ended } = await serve([
    task({ kind: 'stats', round: 0, stage: 2, featureSpace: space }),
    task({ kind: 'stats', round: 0, stage: 3, featureSpace: space, balanceFeatures: ['c'] }),
    end(0),
  ]);
  assert.equal(ended.error, undefined);
  assert.deepEqual(submitted.map((s) => s.kind), ['stats-result-2', 'stats-result-3']);
  assert.deepEqual(submitted[0]!.meta.classMoments, JSON.parse(JSON.stringify(computeClassMoments(enc))));
  assert.deepEqual(submitted[0]!.meta.classMomentsWithinSite, JSON.parse(JSON.stringify(centreWithinSite(computeClassMoments(enc)))));
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
  assert.deepEqual(failed.acks.map((a) => a.round), [2], 'acknowledged all the same');
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
  await refusedTask(task({ kind: 'stats', round: 0 }, undefined, { headerKind: 'task-train' }), 'not-expected', /^task-train from the coordinator was not expected now/);
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

test('a site whose categories are mostly outside the federation\'s vocabulary warns once, naming its values and the known ones', async () => {
  // The other sites wrote the exam as P/Q; this site's file has p/q.
  const upper = parseSiteTable(schema, 'x1,x2,c,y\n1,2,P,0\n2,3,Q,1\n3,4,P,0\n4,1,Q,1\n5,3,P,0\n6,5,Q,1\n', 'others.csv');
  const theirs = buildFeatureSpace(schema, computeFeatureStats(schema, upper), { minCategoryCount: 1 });
  const fits = [1, 2].map((round) => task({ kind: 'fit', round, featureSpace: theirs, prior, model, config: { localEpochs: 1 } }, Float32Array.from([0, 0, 0])));
  const said = captureWarnings();
  await serve([...fits, end(2)], { log: said.log });
  const notes = said.warnings.filter((w) => w.includes('observed values are not in'));
  assert.deepEqual(notes.length, 1, JSON.stringify(said.warnings));
  assert.match(notes[0]!, /^site "a": column "c": 11 of its 11 observed values are not in the federation's vocabulary \("P", "Q"\): "p" \(6\), "q" \(5\); the same categories coded another way/);
  // The site's own coding is the federation's: nothing to say; simulate turns it off (it says it at start).
  const same = captureWarnings();
  await serve([task({ kind: 'fit', round: 1, featureSpace: space, prior, model, config: { localEpochs: 1 } }, Float32Array.from([0, 0, 0])), end(1)], { log: same.log });
  const off = captureWarnings();
  await serve([...fits, end(2)], { log: off.log, vocabularyNotes: false });
  assert.deepEqual([...same.warnings, ...off.warnings].filter((w) => w.includes('observed values are not in')), []);
});

test("a task this site refuses for its time is answered with the refusal before the site stops: the coordinator's log says why it left", async () => {
  // A site 10 min ahead quit on the first task and the coordinator saw only "site went offline during the round" (an outside try).
  const stale = task({ kind: 'stats', round: 0, stage: 1 }, undefined, { createdAt: Date.now() - 11 * 60_000 });
  const { submitted, ended } = await serve([stale]);
  assert.match(String((ended.error as Error | undefined)?.message), /^task-stats-1 from the coordinator was created \d+ ms ago \(11 min\), older than the 600000 ms \(10 min\) replay window: a message sent again, or site "a"'s clock ahead of the coordinator's/);
  assert.deepEqual(submitted.map((r) => [r.kind, r.round, r.meta.kind]), [['stats-result-1', 0, 'stats']]);
  assert.match(submitted[0]!.meta.error!, /^this site refused the task: task-stats-1 from the coordinator was created/);
  // A task refused for another reason (not its time) is not answered.
  const other = await serve([task({ kind: 'fit', round: 1 }, undefined, { federation: 'other' })]);
  assert.ok(other.ended.error);
  assert.deepEqual(other.submitted, []);
});

// How the coordinator's endpoint refuses a join (CoordinatorService over a fake round gate, with
// the real envelope crypto): another release or federation, another schema, the challenge
// nonce; what it answers and that nothing is connected. Results: coordinator-service-refusals.test.ts.
import * as grpc from '@grpc/grpc-js';
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { coordinator, FEDERATION, joinMessage, LIMITS, refused, setup, siteA, siteB, sink, WINDOW_MS } from './coordinator-service-fixtures.ts';
import { ReplayGuard } from '../../shared/crypto/replay-guard.ts';
import type { CoordinatorService } from '../../coordinator/coordinator-service.ts';
import { PayloadSealer, sealPayload } from '../../shared/crypto/envelope.ts';
import { encodeFrame } from '../../shared/protocol/frame.ts';
import { PROTOCOL_VERSION } from '../../shared/protocol/messages.ts';
import { compileSchema, schemaToJson } from '../../shared/data/schema.ts';
import { schemaJoinForm } from '../../shared/data/schema-compare.ts';
import { captureWarnings } from '../shared/capture-logger.ts';
test('a join in another protocol version (incompatible), or for another federation (malformed), is refused and connects nothing', async () => {
  const { service, directory, counted } = setup();
  await refused(
    service.subscribe(joinMessage('a', siteA.signing.secretKey, { protocolVersion: PROTOCOL_VERSION + 1 }), sink()),
    'incompatible',
    grpc.status.FAILED_PRECONDITION,
    new RegExp(`^site speaks protocol version ${PROTOCOL_VERSION + 1}( \\(fedcausal [^)]+\\))?, this coordinator speaks ${PROTOCOL_VERSION} \\(fedcausal [^)]+\\): install one fedcausal release at the coordinator and every site$`),
  );
  // Absent from a round, it is said to run another release, not to be offline (an outside try's upgrade).
  assert.match(directory.absentReason('a'), new RegExp(`^its join was refused as another fedcausal release: site speaks protocol version ${PROTOCOL_VERSION + 1}`));
  const other = new PayloadSealer(
    { federation: 'other', round: 0, site: 'a', kind: 'join' },
    encodeFrame({ protocolVersion: PROTOCOL_VERSION, site: 'a' }),
    { signingSecretKey: siteA.signing.secretKey, recipientBoxPublicKey: coordinator.box.publicKey, chunkSize: LIMITS.maxChunkSize },
  );
  await refused(
    service.subscribe({ header: other.header, signature: other.signature, chunks: [...other.chunks()] }, sink()),
    'malformed',
    grpc.status.INVALID_ARGUMENT,
    /^join from site "a" is for federation "other", expected "fed"$/,
  );
  assert.deepEqual(directory.online(), []);
  assert.deepEqual(counted, ['incompatible a', 'malformed a']);
  assert.match(directory.states().find((s) => s.name === 'a')!.lastError ?? '', /federation "other"/, 'a verified site is told why');
  // A sound join still connects.
  const nonce = Buffer.from(await service.challenge()).toString('base64');
  // The version it says goes to `status` and the dashboard: one line, no terminal controls.
  const { welcome } = await service.subscribe(joinMessage('a', siteA.signing.secretKey, { nonce, software: '0.1.0\r\nb online\x1b[2J' }), sink());
  assert.deepEqual(welcome, { federation: FEDERATION, protocolVersion: PROTOCOL_VERSION, message: 'welcome, a' });
  assert.deepEqual(directory.online(), ['a']);
  assert.equal(directory.states().find((s) => s.name === 'a')!.version, '0.1.0 b online [2J');
  assert.equal(directory.absentReason('a'), 'offline when the round started', 'a join clears it');
});

const SCHEMA = compileSchema({ label: { column: 'num', threshold: 0 }, modalities: { demo: ['age', 'sex'], labs: ['chol'] }, categorical: ['sex'] }, 'schema.json');

test("a join with another schema than the federation's is refused naming what differs; the same schema joins; none (an earlier build) joins with a warning", async () => {
  const { log, warnings } = captureWarnings();
  const { service, directory, counted } = setup({}, { schema: SCHEMA, log });
  const nonce = async () => Buffer.from(await service.challenge()).toString('base64');
  const other = { ...(schemaToJson(SCHEMA) as object), label: { column: 'num', threshold: 2 } };
  await refused(
    service.subscribe(joinMessage('a', siteA.signing.secretKey, { nonce: await nonce(), schema: other }), sink()),
    'schema-mismatch',
    grpc.status.FAILED_PRECONDITION,
    /^site "a" uses another schema than the federation's: give it the schema\.json of the coordinator's kit \(every site and the coordinator read one schema\) and start it again\. It differs in label: the site's \{"column":"num","threshold":2\}, the federation's \{"column":"num","threshold":0\}$/,
  );
  assert.deepEqual(counted, ['schema-mismatch a']);
  assert.deepEqual(directory.online(), []);
  // Absent from a round, it is said to have another schema, with the remedy (not "offline").
  // The site's name and the kind are not said twice (the results' warnings repeated them).
  assert.match(directory.absentReason('a'), /^its join was refused for another schema than the federation's: give it the schema\.json of the coordinator's kit .* It differs in label: /);
  const moved = { ...(schemaToJson(SCHEMA) as object), modalities: { demo: ['age'], labs: ['chol', 'sex'] } };
  await refused(service.subscribe(joinMessage('a', siteA.signing.secretKey, { nonce: await nonce(), schema: moved }), sink()), 'schema-mismatch', grpc.status.FAILED_PRECONDITION, /It differs in modalities: sex is in labs, the federation's in demo$/);
  // A large schema travels as its digest: compared whole.
  await refused(service.subscribe(joinMessage('a', siteA.signing.secretKey, { nonce: await nonce(), schemaDigest: 'f'.repeat(64) }), sink()), 'schema-mismatch', grpc.status.FAILED_PRECONDITION, /It differs in its schema's digest ffffffffffff is not the federation's [0-9a-f]{12} \(the schema is too large to send whole/);
  await service.subscribe(joinMessage('a', siteA.signing.secretKey, { nonce: await nonce(), ...schemaJoinForm(SCHEMA) }), sink());
  assert.deepEqual(directory.online(), ['a']);
  await service.subscribe(joinMessage('b', siteB.signing.secretKey, { nonce: await nonce() }), sink());
  assert.deepEqual(directory.online(), ['a', 'b']);
  assert.equal(warnings.filter((w) => w.startsWith('site sent no schema to compare')).length, 1, warnings.join('\n'));
  assert.deepEqual(directory.uncheckedSchemas(), { b: '' }, 'named in the run\'s warnings');
  // Once the run has ended, a joining site only hears how it ended: no schema refusal (it may hold the next run's schema).
  const ended = setup({ state: 'finished' }, { schema: SCHEMA });
  await ended.service.subscribe(joinMessage('a', siteA.signing.secretKey, { nonce: Buffer.from(await ended.service.challenge()).toString('base64'), schema: other }), sink());
  assert.deepEqual(ended.directory.online(), ['a']);
});

test('join challenge: no nonce, a used one, another process\'s one and an unencrypted join are refused', async () => {
  const { service, directory } = setup();
  const nonceOf = async (s: CoordinatorService) => Buffer.from(await s.challenge()).toString('base64');
  await refused(service.subscribe(joinMessage('a', siteA.signing.secretKey), sink()), 'replay', grpc.status.ALREADY_EXISTS, /^join carries no challenge nonce$/);
  // A nonce from a coordinator that restarted since (a new process knows none of the old ones).
  const before = setup().service;
  const old = await nonceOf(before);
  await refused(
    service.subscribe(joinMessage('a', siteA.signing.secretKey, { nonce: old }), sink()),
    'replay',
    grpc.status.ALREADY_EXISTS,
    /did not issue/,
  );
  const unencrypted = sealPayload({ federation: FEDERATION, round: 0, site: 'a', kind: 'join' }, encodeFrame({ protocolVersion: PROTOCOL_VERSION, site: 'a', nonce: await nonceOf(service) }), {
    signingSecretKey: siteA.signing.secretKey,
    chunkSize: LIMITS.maxChunkSize,
  });
  await refused(service.subscribe(unencrypted, sink()), 'malformed', grpc.status.INVALID_ARGUMENT, /not encrypted, but encryption is required/);
  assert.deepEqual(directory.online(), []);
  const nonce = await nonceOf(service);
  await service.subscribe(joinMessage('a', siteA.signing.secretKey, { nonce }), sink());
  assert.deepEqual(directory.online(), ['a']);
  // The same nonce again, in a new join (new message id): used up.
  await refused(service.subscribe(joinMessage('a', siteA.signing.secretKey, { nonce }), sink()), 'replay', grpc.status.ALREADY_EXISTS, /did not issue \(or already used\)/);
});

test('a join without a valid nonce is refused before its id is recorded (on disk, with a store): 20,000 of them were each written first', async () => {
  const recorded: string[] = [];
  const { service } = setup({}, { replay: new ReplayGuard({ maxAgeMs: WINDOW_MS, onAccept: (id) => void recorded.push(id) }) });
  await assert.rejects(service.subscribe(joinMessage('a', siteA.signing.secretKey), sink()), /join carries no challenge nonce/);
  await assert.rejects(service.subscribe(joinMessage('a', siteA.signing.secretKey, { nonce: 'bm90IGlzc3VlZA==' }), sink()), /did not issue/);
  assert.deepEqual(recorded, []);
  // Another federation is still said as such, before the nonce is looked at.
  await assert.rejects(service.subscribe(joinMessage('a', siteA.signing.secretKey, {}, 'other'), sink()), /is for federation "other", expected "fed"/);
  const nonce = Buffer.from(await service.challenge()).toString('base64');
  const join = joinMessage('a', siteA.signing.secretKey, { nonce });
  await service.subscribe(join, sink());
  assert.equal(recorded.length, 1, 'a sound join is recorded');
  await assert.rejects(service.subscribe(join, sink()), /reuses message id/, 'and cannot be replayed');
});

// A task whose signature is good but whose meta is not the shape the site expects (a
// coordinator of another version, a bug) is refused with a clear ProtocolError before any
// of it is used: never a TypeError from deep inside training, never a reply, never a hang.
import { mtlsServerCredentials } from '../../shared/pki/grpc-credentials.ts';
import { makeTlsFixture } from '../shared/pki/tls-fixture.ts';
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { sealPayload } from '../../shared/crypto/envelope.ts';
import { generateIdentity } from '../../shared/crypto/keys.ts';
import { loadSchema } from '../../shared/data/schema.ts';
import { loadSiteTable } from '../../shared/data/table.ts';
import { ProtocolError } from '../../shared/errors.ts';
import { silentLogger } from '../../shared/logger.ts';
import { encodeFrame } from '../../shared/protocol/frame.ts';
import { MAX_EXCERPT_CHARS } from '../../shared/protocol/check.ts';
import { federationService } from '../../shared/transport/grpc-proto.ts';
import type { SiteTransport, WireMessage } from '../../shared/transport/types.ts';
import { SiteAgent } from '../../site-agent/agent.ts';
import { grpcSiteTransport } from '../../site-agent/grpc-client.ts';
import { prepareLocalData } from '../../site-agent/local-data.ts';

const DIR = new URL('../../../shared/data/heart-disease/', import.meta.url).pathname;
const schema = loadSchema(DIR + 'schema.json');
const data = prepareLocalData(loadSiteTable(schema, DIR + 'processed.cleveland.data'), { testFraction: 0.3, seed: 1 });
const coord = generateIdentity();
const site = generateIdentity();

/** A transport that hands the agent `tasks` (signed by the coordinator) and records what it submits. */
function scripted(tasks: { kind: string; round: number; meta: unknown }[]): SiteTransport & { submitted: unknown[] } {
  const submitted: unknown[] = [];
  const sealed = tasks.map((t) =>
    sealPayload({ federation: 'f', round: t.round, site: 'cleveland', kind: t.kind }, encodeFrame(t.meta), { signingSecretKey: coord.signing.secretKey }),
  );
  return {
    submitted,
    subscribe: async () => ({ welcome: { federation: 'f', protocolVersion: 1, message: 'hi' }, tasks: (async function* () {
      yield* sealed as WireMessage[];
    })() }),
    submit: async (msg) => {
      submitted.push(msg);
      return { accepted: true, message: 'ok' };
    },
    close: () => {},
  };
}

function agent(transport: SiteTransport): SiteAgent {
  return new SiteAgent({
    site: 'cleveland',
    federation: 'f',
    schema,
    data,
    identity: site,
    coordinator: { signingPublicKey: coord.signing.publicKey, boxPublicKey: coord.box.publicKey },
    transport,
    seed: 1,
    log: silentLogger,
  });
}

test('a well-formed stats task is answered, and the end ends the agent', async () => {
  const t = scripted([
    { kind: 'task-stats-1', round: 0, meta: { federation: 'f', round: 0, kind: 'stats', config: {}, stage: 1, weights: 0 } },
    { kind: 'task-end', round: 1, meta: { federation: 'f', round: 1, kind: 'end', config: {}, weights: 0, message: 'done', outcome: 'complete' } },
  ]);
  assert.equal(await agent(t).run(), 'done');
  // The stats answer, then the end's acknowledgement.
  assert.equal(t.submitted.length, 2);
});

test('a fit task without its feature space is refused with the field named, before training and without a reply', async () => {
  const t = scripted([{ kind: 'task-fit', round: 1, meta: { federation: 'f', round: 1, kind: 'fit', config: {}, weights: 0 } }]);
  await assert.rejects(
    agent(t).run(),
    (e: unknown) =>
      e instanceof ProtocolError &&
      e.reason === 'malformed' &&
      e.message === 'the task-fit task of round 1 is malformed: featureSpace: required in a fit task; prior: required in a fit task; model: required in a fit task',
  );
  assert.equal(t.submitted.length, 0);
});

test('a task of an unknown kind with a huge field is refused with a bounded message', async () => {
  const meta = { federation: 'f', round: 0, kind: 'x'.repeat(1 << 20), config: { ['k'.repeat(1 << 16)]: { nested: true } }, weights: 0 };
  const t = scripted([{ kind: 'task-stats-1', round: 0, meta }]);
  const err = await agent(t).run().then(
    () => assert.fail('the task was accepted'),
    (e: unknown) => e,
  );
  assert.ok(err instanceof ProtocolError, String(err));
  assert.match(err.message, /^the task-stats-1 task of round 0 is malformed: kind: Invalid option: expected one of "stats"\|"fit"\|"evaluate"\|"end"\|"secagg"; config\.k+…: Invalid input/);
  assert.ok(err.message.length < MAX_EXCERPT_CHARS + 100, `message of ${err.message.length} characters`);
  assert.equal(t.submitted.length, 0);
});

/** A coordinator that welcomes, then writes `frames` down the stream as they are. */
async function rawCoordinator(frames: object[]) {
  const tls = await makeTlsFixture('cleveland');
  const server = new grpc.Server();
  server.addService(federationService().service, {
    Subscribe: (call: grpc.ServerWritableStream<unknown, unknown>) => {
      call.write({ welcome: { federation: 'f', protocolVersion: 1, message: 'hi' } });
      for (const f of frames) call.write(f);
    },
    Submit: (_call: unknown, cb: grpc.sendUnaryData<unknown>) => cb(null, { accepted: true, message: 'ok' }),
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', mtlsServerCredentials(tls.server.files), (e, p) => (e ? reject(e) : resolve(p))),
  );
  const transport = grpcSiteTransport(`127.0.0.1:${port}`, 1 << 20, tls.site);
  const join = sealPayload({ federation: 'f', round: 0, site: 'cleveland', kind: 'join' }, encodeFrame({}), { signingSecretKey: site.signing.secretKey });
  return { server, transport, joined: transport.subscribe(join) };
}

test('over gRPC, a task header without a readable chunkCount reaches the agent after one chunk instead of hanging the site', { timeout: 20_000 }, async () => {
  const { server, transport, joined } = await rawCoordinator([
    { header: { header: Buffer.from('{"site":"cleveland"}'), signature: Buffer.alloc(64) } },
    { chunk: Buffer.from('c') },
  ]);
  try {
    const { tasks } = await joined;
    const first = await tasks[Symbol.asyncIterator]().next();
    assert.equal(first.done, false);
    // The agent's verifyHeader then refuses it with the reason.
    assert.equal(Buffer.from((first.value).header).toString(), '{"site":"cleveland"}');
  } finally {
    transport.close();
    server.forceShutdown();
  }
});

test('over gRPC, a frame from the coordinator that carries nothing is refused, not ignored', { timeout: 20_000 }, async () => {
  const { server, transport, joined } = await rawCoordinator([{}]); // a Frame with no member set
  try {
    const { welcome, tasks } = await joined;
    assert.equal(welcome.federation, 'f');
    await assert.rejects(
      (async () => {
        for await (const _ of tasks) assert.fail('a task came out of an empty frame');
      })(),
      (e: unknown) => e instanceof ProtocolError && /^a frame from the coordinator is malformed: body: a frame must carry one of header, chunk or welcome$/.test(e.message),
    );
  } finally {
    transport.close();
    server.forceShutdown();
  }
});

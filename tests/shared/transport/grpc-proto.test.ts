import assert from 'node:assert/strict';
import { test } from 'node:test';
import protobuf from 'protobufjs';
import { federationService } from '../../../shared/transport/grpc-proto.ts';

const PROTO = new URL('../../../proto/fedcausal/v1/federation.proto', import.meta.url).pathname;

test('protobuf round trips of every message', async () => {
  const root = await protobuf.load(PROTO);
  const Frame = root.lookupType('fedcausal.v1.Frame');
  const cases = [
    { header: { header: Buffer.from('{"a":1}'), signature: Buffer.alloc(64, 7) } },
    { chunk: Buffer.from([0, 1, 2, 255]) },
    { welcome: { federation: 'heart', protocolVersion: 1, message: 'hi' } },
  ];
  for (const c of cases) {
    const bytes = Frame.encode(Frame.fromObject(c)).finish();
    const back = Frame.toObject(Frame.decode(bytes), { oneofs: true, bytes: Buffer }) as Record<string, unknown>;
    const key = Object.keys(c)[0]!;
    assert.equal(back.body, key);
    assert.deepEqual(back[key], (c as Record<string, unknown>)[key]);
  }
  const Envelope = root.lookupType('fedcausal.v1.Envelope');
  const env = { header: Buffer.from('h'), signature: Buffer.from('s'), chunks: [Buffer.from('c1'), Buffer.from('c2')] };
  assert.deepEqual(Envelope.toObject(Envelope.decode(Envelope.encode(Envelope.fromObject(env)).finish()), { bytes: Buffer }), env);
  const Reply = root.lookupType('fedcausal.v1.SubmitReply');
  assert.deepEqual(Reply.toObject(Reply.decode(Reply.encode({ accepted: true, message: 'ok' }).finish())), { accepted: true, message: 'ok' });
});

test('the gRPC service definition has Subscribe (server stream) and Submit (client stream)', () => {
  const { service } = federationService();
  assert.equal(service.Subscribe.responseStream, true);
  assert.equal(service.Subscribe.requestStream, false);
  assert.equal(service.Submit.requestStream, true);
  assert.equal(service.Submit.responseStream, false);
  assert.match(service.Submit.path, /^\/fedcausal\.v1\.Federation\//);
});

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createServer } from 'node:net';
import { test } from 'node:test';
import { startGrpcServer } from '../../coordinator/grpc-server.ts';
import { excerpt } from '../../coordinator/refusal-log.ts';
import { PayloadOpener, PayloadSealer, verifyHeader } from '../../shared/crypto/envelope.ts';
import { generateIdentity } from '../../shared/crypto/keys.ts';
import { ProtocolError } from '../../shared/errors.ts';
import { silentLogger } from '../../shared/logger.ts';
import type { CoordinatorEndpoint, TaskSink, WireMessage } from '../../shared/transport/types.ts';
import { refusalReason } from '../../shared/transport/grpc-proto.ts';
import { grpcSiteTransport } from '../../site-agent/grpc-client.ts';
import { statusName, submitFrames, type OutFrame } from '../e2e/helpers/grpc-client.ts';
import { makeTlsFixture } from '../shared/pki/tls-fixture.ts';

const MiB = 1024 * 1024;

function sealed(payload: Uint8Array, kind: string, signer: Uint8Array, to?: Uint8Array): WireMessage {
  const s = new PayloadSealer({ federation: 'f', round: 1, site: 'a', kind }, payload, { signingSecretKey: signer, recipientBoxPublicKey: to });
  return { header: s.header, signature: s.signature, chunks: { [Symbol.iterator]: () => s.chunks() } };
}

test('payloads far over gRPC 4 MiB message limit stream both ways in chunks', async () => {
  const tls = await makeTlsFixture();
  const site = generateIdentity();
  const coord = generateIdentity();
  const big = new Uint8Array(24 * MiB);
  for (let i = 0; i < big.length; i += 4096) big[i] = i % 251;
  const digest = createHash('sha256').update(big).digest('hex');
  let received = '';
  let sink: TaskSink | undefined;
  const endpoint: CoordinatorEndpoint = {
    async subscribe(_join, s) {
      sink = s;
      return { welcome: { federation: 'f', protocolVersion: 1, message: 'hi' }, closed: () => {} };
    },
    async submit(msg) {
      const h = verifyHeader(msg.header, msg.signature, () => site.signing.publicKey, { maxPayloadBytes: 64 * MiB, maxChunkSize: MiB });
      const opener = new PayloadOpener(h, msg.header, coord.box.secretKey);
      const hash = createHash('sha256');
      let i = 0;
      for await (const c of msg.chunks) hash.update(opener.open(i++, c));
      opener.finish();
      received = hash.digest('hex');
      return { accepted: true, message: 'ok' };
    },
  };
  const server = await startGrpcServer({ endpoint, host: '127.0.0.1', port: 0, maxChunkSize: MiB, log: silentLogger, tls: tls.server });
  const client = grpcSiteTransport(`127.0.0.1:${server.port}`, MiB, tls.site);
  try {
    const { welcome, tasks } = await client.subscribe(sealed(new Uint8Array(0), 'join', site.signing.secretKey));
    assert.equal(welcome.federation, 'f');
    // Down: a 24 MiB task.
    await sink!.send(sealed(big, 'task-fit', coord.signing.secretKey));
    const it = tasks[Symbol.asyncIterator]();
    const task = (await it.next()).value as WireMessage;
    const th = verifyHeader(task.header, task.signature, () => coord.signing.publicKey, { maxPayloadBytes: 64 * MiB, maxChunkSize: MiB });
    const opener = new PayloadOpener(th, task.header);
    const hash = createHash('sha256');
    let i = 0;
    for await (const c of task.chunks) hash.update(opener.open(i++, c));
    opener.finish();
    assert.equal(hash.digest('hex'), digest);
    // Up: a 24 MiB encrypted result.
    const reply = await client.submit(sealed(big, 'fit-result', site.signing.secretKey, coord.box.publicKey));
    assert.deepEqual(reply, { accepted: true, message: 'ok' });
    assert.equal(received, digest);
  } finally {
    client.close();
    await server.close();
  }
});

test("two tasks sent to one site at once go out one after the other, never with their chunks interleaved (round N's task still being written when round N+1's went)", async () => {
  const tls = await makeTlsFixture();
  const site = generateIdentity();
  const coord = generateIdentity();
  let sink: TaskSink | undefined;
  const endpoint: CoordinatorEndpoint = {
    async subscribe(_join, s) {
      sink = s;
      return { welcome: { federation: 'f', protocolVersion: 1, message: 'hi' }, closed: () => {} };
    },
    submit: async () => ({ accepted: true, message: 'ok' }),
  };
  const server = await startGrpcServer({ endpoint, host: '127.0.0.1', port: 0, maxChunkSize: MiB, log: silentLogger, tls: tls.server });
  const client = grpcSiteTransport(`127.0.0.1:${server.port}`, MiB, tls.site);
  try {
    const { tasks } = await client.subscribe(sealed(new Uint8Array(0), 'join', site.signing.secretKey));
    const payload = (fill: number) => new Uint8Array(40 * MiB).fill(fill);
    // Both at once: enough chunks that the first waits on backpressure while the second starts.
    const sent = [sink!.send(sealed(payload(1), 'task-fit', coord.signing.secretKey)), sink!.send(sealed(payload(2), 'task-evaluate', coord.signing.secretKey))];
    const it = tasks[Symbol.asyncIterator]();
    for (const [kind, fill] of [['task-fit', 1], ['task-evaluate', 2]] as const) {
      const task = (await it.next()).value as WireMessage;
      const h = verifyHeader(task.header, task.signature, () => coord.signing.publicKey, { maxPayloadBytes: 64 * MiB, maxChunkSize: MiB });
      assert.equal(h.kind, kind);
      const opener = new PayloadOpener(h, task.header);
      let i = 0;
      for await (const c of task.chunks) assert.ok(opener.open(i++, c).every((b) => b === fill), `${kind}: chunk ${i - 1} is its own`);
      opener.finish();
    }
    await Promise.all(sent);
  } finally {
    client.close();
    await server.close();
  }
});

test('a refusal reaches the site as a gRPC status with the reason', async () => {
  const tls = await makeTlsFixture();
  const endpoint: CoordinatorEndpoint = {
    subscribe: async () => {
      throw new ProtocolError('site "x" is not enrolled', 'unknown-site');
    },
    submit: async () => {
      throw new ProtocolError('bad signature', 'bad-signature');
    },
  };
  const server = await startGrpcServer({ endpoint, host: '127.0.0.1', port: 0, maxChunkSize: MiB, log: silentLogger, tls: tls.server });
  const client = grpcSiteTransport(`127.0.0.1:${server.port}`, MiB, tls.site);
  const id = generateIdentity();
  try {
    await assert.rejects(client.subscribe(sealed(new Uint8Array(1), 'join', id.signing.secretKey)), (e: { code?: number; details?: string }) => e.code === 7 && /not enrolled/.test(e.details ?? ''));
    await assert.rejects(client.submit(sealed(new Uint8Array(10), 'fit-result', id.signing.secretKey)), /bad signature/);
  } finally {
    client.close();
    await server.close();
  }
});

test('a join refused because the site is already connected carries that reason in its trailers', async () => {
  const tls = await makeTlsFixture();
  const endpoint: CoordinatorEndpoint = {
    subscribe: async () => {
      throw new ProtocolError('site "a" is already connected to this coordinator from another process', 'already-connected');
    },
    submit: async () => ({ accepted: true, message: 'ok' }),
  };
  const server = await startGrpcServer({ endpoint, host: '127.0.0.1', port: 0, maxChunkSize: MiB, log: silentLogger, tls: tls.server });
  const client = grpcSiteTransport(`127.0.0.1:${server.port}`, MiB, tls.site);
  try {
    const refused = await client.subscribe(sealed(new Uint8Array(1), 'join', generateIdentity().signing.secretKey)).then(
      () => assert.fail('the join was accepted'),
      (e: unknown) => e,
    );
    assert.equal((refused as { code?: number }).code, 6, 'ALREADY_EXISTS');
    assert.match((refused as { details?: string }).details ?? '', /already connected/);
    // The site acts on the reason, not on the wording (or on ALREADY_EXISTS, which a replay also gets).
    assert.equal(refusalReason(refused), 'already-connected');
    assert.equal(refusalReason(new Error('plain')), undefined);
  } finally {
    client.close();
    await server.close();
  }
});

test('malformed frames at the coordinator are refused with INVALID_ARGUMENT and counted by the endpoint', { timeout: 30_000 }, async () => {
  const tls = await makeTlsFixture();
  const refused: string[] = [];
  let chunksSeen = 0;
  const endpoint: CoordinatorEndpoint = {
    subscribe: async () => ({ welcome: { federation: 'f', protocolVersion: 1, message: 'hi' }, closed: () => {} }),
    // Like the real endpoint: reads every chunk inside its own refusal path.
    async submit(msg) {
      try {
        for await (const _ of msg.chunks) chunksSeen++;
      } catch (e) {
        return endpoint.refuse!(e);
      }
      return { accepted: true, message: 'ok' };
    },
    refuse(e: unknown): never {
      refused.push((e as Error).message);
      throw e;
    },
  };
  const server = await startGrpcServer({ endpoint, host: '127.0.0.1', port: 0, maxChunkSize: MiB, log: silentLogger, tls: tls.server });
  const address = `127.0.0.1:${server.port}`;
  const header = { header: { header: Buffer.from('{}'), signature: Buffer.alloc(64) } };
  const send = (frames: object[]) => submitFrames({ address, tls: tls.site }, frames as OutFrame[]);
  try {
    const empty = await send([{}]);
    assert.equal(statusName(empty.code), 'INVALID_ARGUMENT');
    assert.equal(empty.details, 'Submit frame 0 is malformed: body: a frame must carry one of header, chunk or welcome');
    const emptyLater = await send([header, { chunk: Buffer.from('c') }, {}]);
    assert.equal(statusName(emptyLater.code), 'INVALID_ARGUMENT');
    assert.equal(emptyLater.details, 'Submit frame 2 is malformed: body: a frame must carry one of header, chunk or welcome');
    const welcome = await send([header, { welcome: { federation: 'f' } }]);
    assert.equal(statusName(welcome.code), 'INVALID_ARGUMENT');
    assert.equal(welcome.details, 'expected a chunk frame after the header');
    const chunkFirst = await send([{ chunk: Buffer.from('c') }]);
    assert.equal(chunkFirst.details, 'a Submit stream must start with a header frame');
    assert.deepEqual(refused, [empty.details, emptyLater.details, welcome.details, chunkFirst.details], 'each refusal counted once');
    assert.equal(chunksSeen, 1, 'only the well-formed chunk reached the endpoint');
    // A well-formed stream still goes through.
    const ok = await send([header, { chunk: Buffer.from('c') }]);
    assert.equal(statusName(ok.code), 'OK');
  } finally {
    await server.close();
  }
});

test('a gRPC port already taken: the message names the address, the config fields and the likely cause', async () => {
  const tls = await makeTlsFixture();
  const blocker = createServer();
  await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
  const port = (blocker.address() as { port: number }).port;
  const endpoint: CoordinatorEndpoint = {
    subscribe: async () => {
      throw new ProtocolError('unused', 'malformed');
    },
    submit: async () => ({ accepted: true, message: 'ok' }),
  };
  try {
    await assert.rejects(startGrpcServer({ endpoint, host: '127.0.0.1', port, maxChunkSize: MiB, log: silentLogger, tls: tls.server }), (err: Error) => {
      // Was grpc-js's own text: "No address added out of total 1 resolved errors: [listen EADDRINUSE: ...]".
      assert.equal(
        err.message,
        `cannot listen for sites on 127.0.0.1:${port} (coordinator.yaml listen.host/listen.grpcPort): address already in use — another process holds the port (another coordinator?)`,
      );
      assert.match(String((err.cause as Error).message), /EADDRINUSE/, 'the cause keeps what grpc-js said');
      return true;
    });
  } finally {
    await new Promise((r) => blocker.close(r));
  }
});

/** An endpoint no call reaches (every one fails its handshake), keeping what it is told to refuse. */
function handshakeOnly(): { endpoint: CoordinatorEndpoint; refused: ProtocolError[] } {
  const refused: ProtocolError[] = [];
  const endpoint: CoordinatorEndpoint = {
    subscribe: async () => assert.fail('no call gets past the handshake'),
    submit: async () => assert.fail('no call gets past the handshake'),
    refuse: (e: unknown) => {
      refused.push(e as ProtocolError);
      throw e;
    },
  };
  return { endpoint, refused };
}

test('a failed TLS handshake (a kit from another provisioning run) is refused where the coordinator sees it: logged and counted', async () => {
  const tls = await makeTlsFixture();
  // Another run of `fedcausal provision`: the same federation and site names, another CA.
  const other = await makeTlsFixture();
  const { endpoint, refused } = handshakeOnly();
  const server = await startGrpcServer({ endpoint, host: '127.0.0.1', port: 0, maxChunkSize: MiB, log: silentLogger, tls: tls.server });
  const client = grpcSiteTransport(`127.0.0.1:${server.port}`, MiB, { ...other.site, caPem: tls.site.caPem });
  try {
    await assert.rejects(client.subscribe(sealed(new Uint8Array(1), 'join', generateIdentity().signing.secretKey)), (e: { code?: number }) => e.code === 14);
    assert.ok(refused.length > 0, 'the endpoint heard of the handshake');
    assert.equal(refused[0]!.reason, 'tls-handshake');
    assert.match(refused[0]!.message, /^TLS handshake with 127\.0\.0\.1:\d+ failed \(.+\): a site whose tls\/ files are another provisioning's, or expired; a site refusing this coordinator's certificate/);
    // Whole within the refusal log's excerpt: the middlebox hint was cut off (an outside try).
    assert.doesNotMatch(excerpt(refused[0]!.message), /more characters\)$/);
  } finally {
    client.close();
    await server.close();
  }
});

test('plain HTTP on the gRPC port is named as such, not as a site with a stray kit', async () => {
  const tls = await makeTlsFixture();
  const { endpoint, refused } = handshakeOnly();
  const server = await startGrpcServer({ endpoint, host: '127.0.0.1', port: 0, maxChunkSize: MiB, log: silentLogger, tls: tls.server });
  try {
    // As a browser or a Prometheus target given the gRPC port.
    await fetch(`http://127.0.0.1:${server.port}/metrics`).then(
      () => {},
      () => {},
    );
    for (let i = 0; i < 100 && !refused.length; i++) await new Promise((r) => setTimeout(r, 20));
    assert.equal(refused[0]?.reason, 'tls-handshake');
    assert.match(refused[0].message, /^TLS handshake with 127\.0\.0\.1:\d+ failed \(http request\): not TLS: plain HTTP or another protocol on the gRPC port \(a browser, Prometheus or curl given the gRPC port instead of the HTTP one, listen\.httpPort\)/i);
  } finally {
    await server.close();
  }
});

test('an IPv6 listen.host as provision writes it (::1, no brackets) binds, and names itself in brackets', async (t) => {
  // Unbracketed, it bound nothing ("Name resolution failed for target dns:::1:31443") and systemd restarted it forever (an outside try).
  const probe = createServer();
  const v6 = await new Promise<boolean>((resolve) => probe.once('error', () => resolve(false)).listen(0, '::1', () => probe.close(() => resolve(true))));
  if (!v6) return t.skip('no IPv6 loopback on this host');
  const tls = await makeTlsFixture();
  const endpoint = { subscribe: async () => ({ welcome: { federation: 'f', protocolVersion: 1, message: 'hi' }, closed: () => {} }), submit: async () => ({ accepted: true, message: 'ok' }) } as unknown as CoordinatorEndpoint;
  const server = await startGrpcServer({ endpoint, host: '::1', port: 0, maxChunkSize: MiB, log: silentLogger, tls: tls.server });
  try {
    assert.ok(server.port > 0);
    const taken = startGrpcServer({ endpoint, host: '::1', port: server.port, maxChunkSize: MiB, log: silentLogger, tls: tls.server });
    await assert.rejects(taken, new RegExp(`^Error: cannot listen for sites on \\[::1\\]:${server.port} \\(coordinator.yaml listen.host/listen.grpcPort\\)`));
  } finally {
    await server.close();
  }
});

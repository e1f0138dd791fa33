// The coordinator's gRPC port under idle floods: a Submit stream that sends no frame is
// closed at the frame deadline, each connection carries a bounded number of streams, and
// sockets past the connection limit, or silent before their TLS handshake, are closed.
import assert from 'node:assert/strict';
import { connect as http2Connect } from 'node:http2';
import { connect, type Socket } from 'node:net';
import { test } from 'node:test';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import * as grpc from '@grpc/grpc-js';
import { limitConnections, MAX_HANDSHAKES_PER_ADDRESS, type ConnectionLimits } from '../../coordinator/connection-limits.ts';
import { mtlsServerCredentials } from '../../shared/pki/grpc-credentials.ts';
import { frameDeadlineText, startGrpcServer } from '../../coordinator/grpc-server.ts';
import { ProtocolError } from '../../shared/errors.ts';
import { silentLogger } from '../../shared/logger.ts';
import { federationService } from '../../shared/transport/grpc-proto.ts';
import type { CoordinatorEndpoint } from '../../shared/transport/types.ts';
import { siteChannel } from '../../site-agent/grpc-client.ts';
import { makeTlsFixture, type TlsFixture } from '../shared/pki/tls-fixture.ts';

const MiB = 1024 * 1024;

async function serve(limits: ConnectionLimits) {
  const tls = await makeTlsFixture();
  const refused: string[] = [];
  const endpoint: CoordinatorEndpoint = {
    subscribe: async () => ({ welcome: { federation: 'f', protocolVersion: 1, message: 'hi' }, closed: () => {} }),
    submit: async () => ({ accepted: true, message: 'ok' }),
    refuse(e: unknown): never {
      refused.push(e instanceof ProtocolError ? e.reason : 'other');
      throw e;
    },
  };
  const server = await startGrpcServer({ endpoint, host: '127.0.0.1', port: 0, maxChunkSize: MiB, log: silentLogger, tls: tls.server, limits });
  return { tls, server, refused, address: `127.0.0.1:${server.port}` };
}

/** Opens a Submit stream that never sends a frame; resolves with the status the server ends it with. */
function idleSubmit(client: grpc.Client): Promise<{ code: grpc.status; ms: number }> {
  const t0 = Date.now();
  return new Promise((resolve) => {
    const call = (client as grpc.Client & { Submit: Function }).Submit({ deadline: Date.now() + 20_000 }, (err: grpc.ServiceError | null) =>
      resolve({ code: err ? err.code : grpc.status.OK, ms: Date.now() - t0 }),
    ) as grpc.ClientWritableStream<unknown>;
    call.on('error', () => {});
  });
}

function grpcClient(address: string, tls: TlsFixture) {
  const { Client } = federationService();
  const { creds, options } = siteChannel(address, tls.site, MiB);
  return new Client(address, creds, options);
}

test('a Submit stream that sends no frame is closed at the frame deadline, and counted', { timeout: 30_000 }, async () => {
  const { tls, server, refused, address } = await serve({ maxConnections: 10, maxStreamsPerConnection: 8, frameTimeoutMs: 300 });
  const client = grpcClient(address, tls);
  try {
    const idle = await idleSubmit(client);
    assert.equal(grpc.status[idle.code], 'DEADLINE_EXCEEDED');
    assert.ok(idle.ms < 5000, `closed after ${idle.ms} ms, not at the client's own 20 s deadline`);
    assert.deepEqual(refused, ['timeout']);
  } finally {
    client.close();
    await server.close();
  }
});

test('a bounded flood of idle streams: each connection carries at most maxStreamsPerConnection, and all are closed', { timeout: 30_000 }, async () => {
  const { tls, server, refused, address } = await serve({ maxConnections: 10, maxStreamsPerConnection: 4, frameTimeoutMs: 300 });
  // The server announces the limit in its HTTP/2 SETTINGS: a client may not open more at once.
  const session = http2Connect(`https://${address}`, { ca: tls.site.caPem, cert: tls.site.certPem, key: tls.site.keyPem, servername: 'localhost' });
  const client = grpcClient(address, tls);
  try {
    await new Promise<void>((resolve, reject) => session.once('remoteSettings', () => resolve()).once('error', reject));
    assert.equal(session.remoteSettings.maxConcurrentStreams, 4);
    const flood = await Promise.all(Array.from({ length: 40 }, () => idleSubmit(client)));
    assert.ok(flood.every((f) => grpc.status[f.code] === 'DEADLINE_EXCEEDED'), 'every idle stream was closed by the server');
    assert.equal(refused.length, 40);
    // Served 4 at a time on the one connection: 40 streams take at least 10 frame deadlines.
    assert.ok(Math.max(...flood.map((f) => f.ms)) >= 9 * 300, `the last closed after ${Math.max(...flood.map((f) => f.ms))} ms`);
  } finally {
    session.destroy();
    client.close();
    await server.close();
  }
});

/** Opens a raw TCP socket that sends nothing; resolves with how long the server kept it open. */
function silentSocket(port: number): { opened: Promise<void>; closed: Promise<number> } {
  const t0 = Date.now();
  const s: Socket = connect({ host: '127.0.0.1', port });
  s.on('error', () => {});
  return {
    opened: new Promise((r) => s.once('connect', () => r())),
    closed: new Promise((r) => s.once('close', () => r(Date.now() - t0))),
  };
}

/** A socket through its TLS handshake with the site certificate: resolves once the handshake is done, rejects if the socket closes first. */
function tlsSocket(port: number, tls: TlsFixture): { handshake: Promise<void>; socket: TLSSocket } {
  const socket = tlsConnect({ host: '127.0.0.1', port, ca: tls.site.caPem, cert: tls.site.certPem, key: tls.site.keyPem, ALPNProtocols: ['h2'], checkServerIdentity: () => undefined });
  socket.on('error', () => {});
  return {
    socket,
    handshake: new Promise((resolve, reject) => {
      socket.once('secureConnect', () => resolve());
      socket.once('close', () => reject(new Error('closed before its handshake')));
    }),
  };
}

test('silent sockets at the limit give way to new ones (oldest first), so they cannot lock a site out; silent ones close at the handshake deadline', { timeout: 30_000 }, async () => {
  const { server, refused, tls } = await serve({ maxConnections: 5, maxStreamsPerConnection: 4, frameTimeoutMs: 1500 });
  try {
    const first = Array.from({ length: 5 }, () => silentSocket(server.port));
    await Promise.all(first.map((s) => s.opened));
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(server.openConnections(), 5);
    // Before: a site could not connect while the 5 silent sockets were held (an outside attack held 40 and no site joined).
    const site = tlsSocket(server.port, tls);
    await site.handshake;
    const firstClosed = await first[0]!.closed;
    assert.ok(firstClosed < 1000, `the oldest silent socket gave way at once (${firstClosed} ms)`);
    assert.equal(refused.filter((r) => r === 'busy').length, 1);
    const othersMs = await Promise.all(first.slice(1).map((s) => s.closed));
    assert.ok(Math.min(...othersMs) >= 1400, `the other silent sockets were kept until the deadline (${Math.min(...othersMs)} ms)`);
    // The site's socket, through its handshake, stays.
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(server.openConnections(), 1);
    site.socket.destroy();
  } finally {
    await server.close();
  }
});

test('when every socket has finished its handshake, one past maxConnections is closed at once', { timeout: 30_000 }, async () => {
  const { server, refused, tls } = await serve({ maxConnections: 3, maxStreamsPerConnection: 4, frameTimeoutMs: 1500 });
  const sites = Array.from({ length: 3 }, () => tlsSocket(server.port, tls));
  try {
    await Promise.all(sites.map((s) => s.handshake));
    // TLS 1.3: the server's side of a handshake ends after the client's.
    await new Promise((r) => setTimeout(r, 100));
    const extra = Array.from({ length: 5 }, () => silentSocket(server.port));
    const extraMs = await Promise.all(extra.map((s) => s.closed));
    assert.ok(Math.max(...extraMs) < 1000, `over the limit: closed after ${Math.max(...extraMs)} ms`);
    assert.equal(refused.filter((r) => r === 'busy').length, 5);
    assert.equal(server.openConnections(), 3);
  } finally {
    for (const s of sites) s.socket.destroy();
    await server.close();
  }
});

test(`one address holds at most ${MAX_HANDSHAKES_PER_ADDRESS} sockets in their TLS handshake (loopback aside, as a one-machine federation needs)`, { timeout: 30_000 }, async () => {
  const tls = await makeTlsFixture();
  const server = new grpc.Server();
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', mtlsServerCredentials(tls.server.files), (err, p) => (err ? reject(err) : resolve(p))),
  );
  let refused = 0;
  // Loopback counts as any other address here.
  limitConnections(server, { maxConnections: 50, maxStreamsPerConnection: 4, frameTimeoutMs: 1500 }, () => refused++, undefined, () => false);
  try {
    const held = Array.from({ length: MAX_HANDSHAKES_PER_ADDRESS }, () => silentSocket(port));
    await Promise.all(held.map((s) => s.opened));
    await new Promise((r) => setTimeout(r, 100));
    const extra = silentSocket(port);
    assert.ok((await extra.closed) < 1000, 'one more from the same address is closed at once');
    assert.equal(refused, 1);
    await Promise.all(held.map((s) => s.closed));
  } finally {
    server.forceShutdown();
  }
});

test('a grpc-js without reachable HTTP/2 servers fails the start instead of serving unbounded', () => {
  assert.throws(() => limitConnections({} as grpc.Server, { maxConnections: 1, maxStreamsPerConnection: 4, frameTimeoutMs: 1000 }), /cannot limit gRPC connections/);
});

test('a missed frame deadline names the link speed it implies: a slow uplink reads like a silent site', () => {
  assert.match(frameDeadlineText(30_000), /less than one 256 KiB chunk in that time \(under about 70 kbit\/s; a site of a build before 2026-11-29 sends 1 MiB chunks, 280 kbit\/s\); for a slow link the coordinator's operator raises limits\.frameTimeoutSeconds \(coordinator\.yaml\)$/);
  assert.match(frameDeadlineText(180_000), /^no frame within the 180s frame deadline .*under about 12 kbit\/s/);
});

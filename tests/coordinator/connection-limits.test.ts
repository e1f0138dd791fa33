// The coordinator's gRPC port under idle floods: a Submit stream that sends no frame is
// closed at the frame deadline, each connection carries a bounded number of streams, and
// sockets past the connection limit, or silent before their TLS handshake, are closed.
import assert from 'node:assert/strict';
import { connect as http2Connect } from 'node:http2';
import { connect, type Socket } from 'node:net';
import { test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { limitConnections, type ConnectionLimits } from '../../coordinator/connection-limits.ts';
import { startGrpcServer } from '../../coordinator/grpc-server.ts';
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

test('sockets past maxConnections are closed at once; silent ones at the handshake deadline', { timeout: 30_000 }, async () => {
  const { server, refused } = await serve({ maxConnections: 5, maxStreamsPerConnection: 4, frameTimeoutMs: 1500 });
  try {
    const first = Array.from({ length: 5 }, () => silentSocket(server.port));
    await Promise.all(first.map((s) => s.opened));
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(server.openConnections(), 5);
    const extra = Array.from({ length: 20 }, () => silentSocket(server.port));
    const extraMs = await Promise.all(extra.map((s) => s.closed));
    assert.ok(Math.max(...extraMs) < 1000, `over the limit: closed after ${Math.max(...extraMs)} ms`);
    assert.equal(refused.filter((r) => r === 'busy').length, 20);
    const firstMs = await Promise.all(first.map((s) => s.closed));
    assert.ok(Math.min(...firstMs) >= 1400, `silent sockets were kept until the deadline (${Math.min(...firstMs)} ms)`);
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(server.openConnections(), 0);
  } finally {
    await server.close();
  }
});

test('a grpc-js without reachable HTTP/2 servers fails the start instead of serving unbounded', () => {
  assert.throws(() => limitConnections({} as grpc.Server, { maxConnections: 1, maxStreamsPerConnection: 4, frameTimeoutMs: 1000 }), /cannot limit gRPC connections/);
});

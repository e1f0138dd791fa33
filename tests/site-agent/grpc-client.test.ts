// A result whose connection went (the coordinator stopped mid-answer) is said as not
// delivered, not as refused: a site's log must not blame its result for a restart.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { sealPayload } from '../../shared/crypto/envelope.ts';
import { generateIdentity } from '../../shared/crypto/keys.ts';
import { ProtocolError } from '../../shared/errors.ts';
import { mtlsServerCredentials } from '../../shared/pki/grpc-credentials.ts';
import { encodeFrame } from '../../shared/protocol/frame.ts';
import { federationService } from '../../shared/transport/grpc-proto.ts';
import { ResultNotDelivered } from '../../shared/transport/types.ts';
import { grpcSiteTransport, type SiteTransportOptions } from '../../site-agent/grpc-client.ts';
import type { ProgressLine } from '../../shared/transport/transfer-progress.ts';
import { makeTlsFixture } from '../shared/pki/tls-fixture.ts';

const site = generateIdentity();

/** A coordinator whose Submit does `onSubmit` with the call; the site's transport to it. */
async function coordinatorThat(onSubmit: (call: grpc.ServerReadableStream<unknown, unknown>, cb: grpc.sendUnaryData<unknown>, server: grpc.Server) => void, opts: SiteTransportOptions = {}) {
  const tls = await makeTlsFixture('cleveland');
  const server = new grpc.Server();
  server.addService(federationService().service, {
    Submit: (call: grpc.ServerReadableStream<unknown, unknown>, cb: grpc.sendUnaryData<unknown>) => onSubmit(call, cb, server),
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', mtlsServerCredentials(tls.server.files), (e, p) => (e ? reject(e) : resolve(p))),
  );
  return { server, transport: grpcSiteTransport(`127.0.0.1:${port}`, 1 << 20, tls.site, opts) };
}

const result = () => sealPayload({ federation: 'f', round: 1, site: 'cleveland', kind: 'result-fit' }, encodeFrame({}), { signingSecretKey: site.signing.secretKey });

test('a coordinator that goes while a result is sent: the result is not delivered, not refused', async () => {
  const { server, transport } = await coordinatorThat((call, _cb, srv) => call.once('data', () => srv.forceShutdown()));
  try {
    await assert.rejects(transport.submit(result()), (e: unknown) => {
      assert.ok(e instanceof ResultNotDelivered, `got ${String(e)}`);
      assert.match(e.message, /^the result did not reach the coordinator: the connection went/);
      return true;
    });
  } finally {
    transport.close();
    server.forceShutdown();
  }
});

/** A result submitted to a coordinator that reads it and answers `status`; `check` judges the error the site gets. */
async function answeredWith(status: { code: grpc.status; details: string }, check: (e: unknown) => void): Promise<void> {
  const { server, transport } = await coordinatorThat((call, cb) => {
    call.on('data', () => {});
    call.on('end', () => cb(status));
  });
  try {
    await assert.rejects(transport.submit(result()), (e: unknown) => (check(e), true));
  } finally {
    transport.close();
    server.forceShutdown();
  }
}

test('a connection that broke under the call (a corrupted byte: INTERNAL, RST_STREAM, bad record mac) is a lost connection, not a refusal', async () => {
  await answeredWith({ code: grpc.status.INTERNAL, details: 'Received RST_STREAM with code 2 triggered by internal client error: 0A000119:SSL routines::decryption failed or bad record mac' }, (e) => {
    assert.ok(e instanceof ResultNotDelivered, `got ${String(e)}`);
    assert.match(e.message, /^the result did not reach the coordinator: the connection went \(.*bad record mac\)/);
  });
});

test('a coordinator that answers with an error status refuses the result', async () => {
  await answeredWith({ code: grpc.status.PERMISSION_DENIED, details: 'round 1 is closed' }, (e) => {
    assert.ok(e instanceof ProtocolError, `got ${String(e)}`);
    assert.equal((e as Error).message, 'coordinator refused the result: round 1 is closed');
  });
});

test('a coordinator address that takes the connection and never answers: the call gives up after the connect wait, as unreachable', async (t) => {
  // What a silent address does (a restarted container's old IP): TCP is taken, TLS never answered.
  const held: Socket[] = [];
  const silent = createServer((s) => held.push(s));
  await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
  t.after(() => {
    held.forEach((s) => s.destroy());
    silent.close();
  });
  const tls = await makeTlsFixture('cleveland');
  const transport = grpcSiteTransport(`127.0.0.1:${(silent.address() as AddressInfo).port}`, 1 << 20, tls.site, { connectWaitMs: 300 });
  try {
    const t0 = Date.now();
    await assert.rejects(transport.challenge!(), (e: unknown) => {
      assert.equal((e as { code?: number }).code, grpc.status.UNAVAILABLE, String(e));
      assert.match((e as Error).message, /no connection to the coordinator within 0\.3 s/);
      return true;
    });
    assert.ok(Date.now() - t0 < 10_000, 'given up after the wait, not the OS connect timeout');
    await assert.rejects(transport.submit(result()), (e: unknown) => {
      assert.ok(e instanceof ResultNotDelivered, `got ${String(e)}`);
      assert.match(e.message, /^the result did not reach the coordinator: the connection went \(no connection to the coordinator within 0\.3 s/);
      return true;
    });
  } finally {
    transport.close();
  }
});

test('a result trained after the task stream ended is not delivered at once: it does not wait on a channel whose coordinator went', async () => {
  const tlsFx = await makeTlsFixture('cleveland');
  const server = new grpc.Server();
  // Welcomes, then ends the stream (as a coordinator that stops does).
  server.addService(federationService().service, {
    Subscribe: (call: grpc.ServerWritableStream<unknown, unknown>) => {
      call.write({ welcome: { header: Buffer.from('{}'), signature: Buffer.alloc(64), chunks: [] } });
      setTimeout(() => call.end(), 50);
    },
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', mtlsServerCredentials(tlsFx.server.files), (e, p) => (e ? reject(e) : resolve(p))),
  );
  const transport = grpcSiteTransport(`127.0.0.1:${port}`, 1 << 20, tlsFx.site);
  try {
    const { tasks } = await transport.subscribe({ header: new Uint8Array(2), signature: new Uint8Array(64), chunks: [] });
    for await (const _ of tasks) void _; // until the stream ends
    await assert.rejects(transport.submit(result()), (e: unknown) => {
      assert.ok(e instanceof ResultNotDelivered, `got ${String(e)}`);
      assert.equal(e.message, 'the result did not reach the coordinator: the task stream had ended (the coordinator ended it)');
      return true;
    });
  } finally {
    transport.close();
    server.forceShutdown();
  }
});

test("a long upload's progress is said in words as gRPC writes the chunks out, not as it takes them into its buffer", async (t) => {
  // The test's clock: 20 s pass with each chunk the coordinator reads, so each later write is past the interval.
  t.mock.timers.enable({ apis: ['Date'], now: Date.now() });
  let over = false;
  const lines: ProgressLine[] = [];
  const { server, transport } = await coordinatorThat(
    (call, cb) => {
      // A slow reader: the HTTP/2 window fills, and the site's writes wait for it.
      call.on('data', () => {
        call.pause();
        setTimeout(() => {
          if (over) return;
          t.mock.timers.tick(20_000);
          call.resume();
        }, 5);
      });
      call.on('end', () => cb(null, { accepted: true, message: 'ok' }));
    },
    { onProgress: (l) => lines.push(l) },
  );
  try {
    const big = sealPayload({ federation: 'f', round: 3, site: 'cleveland', kind: 'fit-result' }, new Uint8Array(64 * 65_536), { signingSecretKey: site.signing.secretKey, chunkSize: 65_536 });
    await transport.submit(big);
    assert.ok(lines.length >= 1, 'said at least once');
    assert.match(lines[0]!.text, /^sending round 3's training update to the coordinator: \d+\.\d MB of 4\.2 MB \(\d+%\) in \d+ s, about \d+ kbit\/s$/);
    assert.ok(lines.every((l) => l.doneBytes < l.totalBytes), 'never at the end: a finished upload needs no line');
  } finally {
    over = true;
    transport.close();
    server.forceShutdown();
  }
});

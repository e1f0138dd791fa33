/**
 * A hostile (or merely broken) client of the coordinator's gRPC port, for tests:
 * raw bytes over TCP, and Submit/Subscribe calls carrying whatever frames the
 * test builds. Every call has a deadline, so a server that never answers shows up
 * as DEADLINE_EXCEEDED instead of a hung test.
 */
import * as grpc from '@grpc/grpc-js';
import { connect } from 'node:net';
import { federationService } from '../../../shared/transport/grpc-proto.ts';

export interface CallOutcome {
  code: grpc.status;
  details: string;
  /** Submit: the reply when the call succeeded. Subscribe: the welcome, when the join was accepted. */
  reply?: unknown;
}

/** What one Frame of the Submit stream may carry (see proto/fedcausal/v1/federation.proto). */
export type OutFrame = { header: { header: Uint8Array; signature: Uint8Array } } | { chunk: Uint8Array };

// A code outside the enum has no name, though the reverse mapping is typed string.
export const statusName = (code: grpc.status): string => (code in grpc.status ? grpc.status[code] : String(code));

function client(address: string): grpc.Client {
  const { Client } = federationService();
  return new Client(address, grpc.credentials.createInsecure());
}

/** Streams `frames` to Submit and reports how the coordinator answered. */
export function submitFrames(address: string, frames: OutFrame[], timeoutMs = 10_000): Promise<CallOutcome> {
  const c = client(address) as grpc.Client & { Submit: (...args: unknown[]) => unknown };
  return new Promise<CallOutcome>((resolve) => {
    const call = c.Submit({ deadline: Date.now() + timeoutMs }, (err: grpc.ServiceError | null, reply?: unknown) =>
      resolve(err ? { code: err.code, details: err.details } : { code: grpc.status.OK, details: '', reply }),
    ) as grpc.ClientWritableStream<unknown>;
    call.on('error', () => {}); // reported through the callback
    for (const f of frames) call.write(f);
    call.end();
  }).finally(() => c.close());
}

/** Calls Subscribe with a join envelope; resolves on the first frame (welcome) or the error status. */
export function subscribeWith(
  address: string,
  join: { header: Uint8Array; signature: Uint8Array; chunks: Uint8Array[] },
  timeoutMs = 10_000,
): Promise<CallOutcome> {
  const c = client(address) as grpc.Client & { Subscribe: (...args: unknown[]) => unknown };
  return new Promise<CallOutcome>((resolve) => {
    const call = c.Subscribe(join, { deadline: Date.now() + timeoutMs }) as grpc.ClientReadableStream<{ welcome?: unknown }>;
    call.on('data', (f) => {
      resolve({ code: grpc.status.OK, details: '', reply: f.welcome });
      call.cancel();
    });
    call.on('error', (e: grpc.ServiceError) => resolve({ code: e.code, details: e.details }));
    call.on('end', () => resolve({ code: grpc.status.OK, details: 'stream ended without a frame' }));
  }).finally(() => c.close());
}

/**
 * Writes raw bytes to a TCP port, as a port scanner or a confused client would,
 * and resolves once the server has closed the connection or `lingerMs` passed.
 * Returns what the server sent back (an HTTP/2 server answers with a GOAWAY).
 */
export function sendRawBytes(host: string, port: number, bytes: Uint8Array, lingerMs = 1000): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const got: Buffer[] = [];
    const sock = connect({ host, port }, () => sock.write(bytes));
    const timer = setTimeout(() => sock.destroy(), lingerMs);
    sock.on('data', (b: Buffer) => got.push(b));
    sock.on('error', (e: NodeJS.ErrnoException) => {
      // A reset after the server gave up on us is an answer too.
      if (e.code !== 'ECONNRESET' && e.code !== 'EPIPE') {
        clearTimeout(timer);
        reject(e);
      }
    });
    sock.on('close', () => {
      clearTimeout(timer);
      resolve(Buffer.concat(got));
    });
  });
}

import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { ProtocolError } from '../errors.ts';
import { packagePath } from '../package-root.ts';

const PROTO = packagePath('proto', 'fedcausal', 'v1', 'federation.proto');

/** The generated service definition for fedcausal.v1.Federation (loaded once). */
let cached: grpc.GrpcObject | undefined;
export function federationService(): { service: grpc.ServiceDefinition; Client: grpc.ServiceClientConstructor } {
  cached ??= grpc.loadPackageDefinition(
    protoLoader.loadSync(PROTO, { keepCase: false, longs: Number, defaults: true, oneofs: true }),
  );
  const Client = ((cached.fedcausal as grpc.GrpcObject).v1 as grpc.GrpcObject).Federation as grpc.ServiceClientConstructor;
  return { service: Client.service, Client };
}

/** Frame as protobufjs decodes it (oneof `body` names the set field). */
export interface FrameMsg {
  body?: 'header' | 'chunk' | 'welcome';
  header?: { header: Buffer; signature: Buffer };
  chunk?: Buffer;
  welcome?: { federation: string; protocolVersion: number; message: string };
}

/** Trailing-metadata key carrying a refusal's ProtocolError reason, so a peer can act on it without parsing text. */
export const REASON_METADATA_KEY = 'fedcausal-reason';

/** The gRPC status a refusal is sent with, and its reason in the trailers. */
export function refusalStatus(e: unknown): { code: grpc.status; details: string; metadata: grpc.Metadata } {
  const metadata = new grpc.Metadata();
  if (e instanceof ProtocolError) metadata.set(REASON_METADATA_KEY, e.reason);
  return { code: statusFor(e), details: (e as Error).message, metadata };
}

/** The ProtocolError reason behind a refusal: thrown in process, or read from a gRPC error's trailers. */
export function refusalReason(e: unknown): string | undefined {
  if (e instanceof ProtocolError) return e.reason;
  const v = (e as { metadata?: unknown } | undefined)?.metadata;
  const got = v instanceof grpc.Metadata ? v.get(REASON_METADATA_KEY)[0] : undefined;
  return typeof got === 'string' ? got : undefined;
}

/** One place mapping refusal reasons to gRPC status codes. */
export function statusFor(e: unknown): grpc.status {
  if (!(e instanceof ProtocolError)) return grpc.status.INTERNAL;
  switch (e.reason) {
    case 'unknown-site':
      return grpc.status.PERMISSION_DENIED;
    case 'bad-signature':
    case 'decrypt-failed':
      return grpc.status.UNAUTHENTICATED;
    case 'replay':
    case 'already-connected':
      return grpc.status.ALREADY_EXISTS;
    case 'stale-round':
    case 'not-expected':
      return grpc.status.FAILED_PRECONDITION;
    case 'oversized':
      return grpc.status.RESOURCE_EXHAUSTED;
    default:
      return grpc.status.INVALID_ARGUMENT;
  }
}

/** Keepalive, both sides: a ping every 10 s, and a peer that has not answered one within 5 s is gone. */
export const KEEPALIVE_TIME_MS = 10_000;
export const KEEPALIVE_TIMEOUT_MS = 5_000;

/** Per-message size allowed on the wire: one chunk plus framing, far under the limits for whole models. */
export function channelOptions(maxChunkSize: number): grpc.ChannelOptions {
  return {
    'grpc.max_receive_message_length': maxChunkSize + 64 * 1024,
    'grpc.max_send_message_length': maxChunkSize + 64 * 1024,
    'grpc.keepalive_time_ms': KEEPALIVE_TIME_MS,
    'grpc.keepalive_timeout_ms': KEEPALIVE_TIMEOUT_MS,
    'grpc.keepalive_permit_without_calls': 1,
    'grpc.http2.min_ping_interval_without_data_ms': 5_000,
  };
}

/** Writes to a gRPC stream, waiting for 'drain' when its buffer is full (backpressure). */
export async function writeWithBackpressure(stream: { write(m: unknown): boolean; once(ev: 'drain', f: () => void): unknown }, msg: unknown): Promise<void> {
  if (!stream.write(msg)) await new Promise<void>((r) => stream.once('drain', r));
}

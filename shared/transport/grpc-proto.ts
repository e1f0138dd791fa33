import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ProtocolError } from '../errors.ts';

const PROTO = join(dirname(fileURLToPath(import.meta.url)), '../../proto/fedcausal/v1/federation.proto');

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

/** Per-message size allowed on the wire: one chunk plus framing, far under the limits for whole models. */
export function channelOptions(maxChunkSize: number): grpc.ChannelOptions {
  return {
    'grpc.max_receive_message_length': maxChunkSize + 64 * 1024,
    'grpc.max_send_message_length': maxChunkSize + 64 * 1024,
    'grpc.keepalive_time_ms': 10_000,
    'grpc.keepalive_timeout_ms': 5_000,
    'grpc.keepalive_permit_without_calls': 1,
    'grpc.http2.min_ping_interval_without_data_ms': 5_000,
  };
}

/** Writes to a gRPC stream, waiting for 'drain' when its buffer is full (backpressure). */
export async function writeWithBackpressure(stream: { write(m: unknown): boolean; once(ev: 'drain', f: () => void): unknown }, msg: unknown): Promise<void> {
  if (!stream.write(msg)) await new Promise<void>((r) => stream.once('drain', r));
}

import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { ProtocolError } from '../errors.ts';
import { packagePath } from '../package-root.ts';
import type { ProtoGrpcType } from '../protocol/generated/federation.ts';
import type { FederationClient, FederationDefinition } from '../protocol/generated/fedcausal/v1/Federation.ts';
import type { Frame__Output } from '../protocol/generated/fedcausal/v1/Frame.ts';

/** The proto file the service and the generated types (shared/protocol/generated/) come from. */
export const PROTO_FILE = packagePath('proto', 'fedcausal', 'v1', 'federation.proto');

/**
 * How protobufjs maps messages to objects, at run time and in `npm run gen:proto` alike:
 * the generated types describe exactly these objects only while both read this one constant.
 */
export const LOADER_OPTIONS = { keepCase: false, longs: Number, defaults: true, oneofs: true } as const satisfies protoLoader.Options;

/** The service, loaded once; typed by the generated ProtoGrpcType (tests/shared/protocol/generated.test.ts keeps it in step with the proto). */
let cached: ProtoGrpcType | undefined;
function loaded(): ProtoGrpcType['fedcausal']['v1']['Federation'] {
  cached ??= grpc.loadPackageDefinition(protoLoader.loadSync(PROTO_FILE, LOADER_OPTIONS)) as unknown as ProtoGrpcType;
  return cached.fedcausal.v1.Federation;
}

/** The service definition for fedcausal.v1.Federation, and its untyped client (tests and benches that send anything). */
export function federationService(): { service: FederationDefinition; Client: grpc.ServiceClientConstructor } {
  const Client = loaded();
  return { service: Client.service, Client: Client as unknown as grpc.ServiceClientConstructor };
}

/** A client whose methods carry the generated request and reply types. */
export function federationClient(address: string, credentials: grpc.ChannelCredentials, options: grpc.ChannelOptions): FederationClient {
  const Client = loaded();
  return new Client(address, credentials, options);
}

/** A Frame as protobufjs decodes it (oneof `body` names the set field); check it with FrameSchema before use. */
export type FrameMsg = Frame__Output;

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

/** One place mapping refusal reasons to gRPC status codes; any other reason is INVALID_ARGUMENT. */
const STATUS_OF: Partial<Record<ProtocolError['reason'], grpc.status>> = {
  'unknown-site': grpc.status.PERMISSION_DENIED,
  'bad-signature': grpc.status.UNAUTHENTICATED,
  'decrypt-failed': grpc.status.UNAUTHENTICATED,
  'peer-refused': grpc.status.UNAUTHENTICATED,
  replay: grpc.status.ALREADY_EXISTS,
  'already-connected': grpc.status.ALREADY_EXISTS,
  'stale-round': grpc.status.FAILED_PRECONDITION,
  'not-expected': grpc.status.FAILED_PRECONDITION,
  incompatible: grpc.status.FAILED_PRECONDITION,
  'schema-mismatch': grpc.status.FAILED_PRECONDITION,
  oversized: grpc.status.RESOURCE_EXHAUSTED,
  busy: grpc.status.RESOURCE_EXHAUSTED,
  timeout: grpc.status.DEADLINE_EXCEEDED,
  unavailable: grpc.status.UNAVAILABLE,
};

export function statusFor(e: unknown): grpc.status {
  if (!(e instanceof ProtocolError)) return grpc.status.INTERNAL;
  return STATUS_OF[e.reason] ?? grpc.status.INVALID_ARGUMENT;
}

/**
 * Keepalive, both sides: a ping every 10 s, and a peer that has not answered one within 20 s
 * (gRPC's own default) is gone. 5 s cut off a site uploading over a slow, lossy link, whose
 * pings queued behind its chunks for up to 4 s (an outside try).
 */
export const KEEPALIVE_TIME_MS = 10_000;
export const KEEPALIVE_TIMEOUT_MS = 20_000;
/** How soon a dead peer's stream is closed: one ping interval and its timeout. */
export const DEAD_PEER_SECONDS = (KEEPALIVE_TIME_MS + KEEPALIVE_TIMEOUT_MS) / 1000;

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
export async function writeWithBackpressure(stream: { write(m: unknown, cb?: () => void): boolean; once(ev: 'drain', f: () => void): unknown }, msg: unknown, onWritten?: () => void): Promise<void> {
  if (!stream.write(msg, onWritten)) await new Promise<void>((r) => stream.once('drain', r));
}

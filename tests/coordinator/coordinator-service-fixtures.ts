// The fixtures of the coordinator-service refusal tests: the endpoint over a fake round
// gate, results and joins sealed as a site agent seals them, and the refusal assertion.
import type * as grpc from '@grpc/grpc-js';
import assert from 'node:assert/strict';
import { SiteDirectory } from '../../coordinator/directory.ts';
import { CoordinatorService, type EndpointDeps, type RoundGate } from '../../coordinator/coordinator-service.ts';
import { MemorySpool } from '../../coordinator/spool.ts';
import { PayloadSealer, type SealMeta } from '../../shared/crypto/envelope.ts';
import { generateIdentity } from '../../shared/crypto/keys.ts';
import { ReplayGuard } from '../../shared/crypto/replay-guard.ts';
import { ProtocolError } from '../../shared/errors.ts';
import { silentLogger } from '../../shared/logger.ts';
import { PEER_REFUSED_MESSAGE } from '../../shared/pki/check-peer.ts';
import { encodeFrame } from '../../shared/protocol/frame.ts';
import { PROTOCOL_VERSION, type ResultMeta } from '../../shared/protocol/messages.ts';
import { statusFor } from '../../shared/transport/grpc-proto.ts';
import type { TaskSink, WireMessage } from '../../shared/transport/types.ts';

export const FEDERATION = 'fed';
export const ROUND = 2;
export const LIMITS = { maxPayloadBytes: 4096, maxChunkSize: 1024 };
export const WINDOW_MS = 60_000;

export const coordinator = generateIdentity();
export const siteA = generateIdentity();
export const siteB = generateIdentity();
export const stranger = generateIdentity();

/** The endpoint with a gate that expects a fit result for ROUND from site "a", and records what reaches it. */
export function setup(gateOverrides: Partial<RoundGate> = {}, extra: Partial<EndpointDeps> = {}) {
  const directory = new SiteDirectory([
    { name: 'a', signingPublicKey: siteA.signing.publicKey },
    { name: 'b', signingPublicKey: siteB.signing.publicKey },
  ]);
  const delivered: { site: string; meta: ResultMeta; weights: number[] }[] = [];
  const gateRejected: string[] = [];
  const counted: string[] = [];
  const gate: RoundGate = {
    federation: FEDERATION,
    state: 'training',
    expectation: (site) => (site === 'a' ? { round: ROUND, kind: 'fit-result' } : undefined),
    deliver(site, meta, replay) {
      const weights: number[] = [];
      replay((offset, v) => v.forEach((x, k) => (weights[offset + k] = x)));
      delivered.push({ site, meta, weights });
    },
    reject: (site, reason) => void gateRejected.push(`${site}: ${reason}`),
    connected: () => {},
    disconnected: () => {},
    ...gateOverrides,
  };
  const service = new CoordinatorService({
    directory,
    gate,
    replay: new ReplayGuard({ maxAgeMs: WINDOW_MS }),
    boxSecretKey: coordinator.box.secretKey,
    limits: LIMITS,
    spool: () => new MemorySpool(),
    log: silentLogger,
    onReject: (reason, site) => void counted.push(`${reason} ${site ?? 'unverified'}`),
    ...extra,
  });
  return { service, directory, delivered, gateRejected, counted };
}

export interface ResultOptions {
  meta?: Partial<ResultMeta>;
  weights?: Float32Array;
  seal?: Partial<SealMeta>;
  signer?: Uint8Array;
  encrypted?: boolean;
  chunkSize?: number;
}

/** A fit result from site "a" for ROUND, sealed and signed as the site agent does; options spoil one thing. */
export function result(o: ResultOptions = {}): WireMessage & { chunks: Uint8Array[] } {
  const weights = o.weights ?? Float32Array.from([0.5, -1.25, 2]);
  const meta: ResultMeta = { round: ROUND, kind: 'fit', numExamples: 10, metrics: { loss: 0.5 }, weights: weights.length, ...o.meta };
  const sealer = new PayloadSealer(
    { federation: FEDERATION, round: ROUND, site: 'a', kind: 'fit-result', ...o.seal },
    encodeFrame(meta, weights),
    {
      signingSecretKey: o.signer ?? siteA.signing.secretKey,
      ...(o.encrypted === false ? {} : { recipientBoxPublicKey: coordinator.box.publicKey }),
      chunkSize: o.chunkSize ?? LIMITS.maxChunkSize,
    },
  );
  return { header: sealer.header, signature: sealer.signature, chunks: [...sealer.chunks()] };
}

export function joinMessage(site: string, signer: Uint8Array, fields: Record<string, unknown> = {}, federation = FEDERATION): WireMessage {
  const sealer = new PayloadSealer(
    { federation, round: 0, site, kind: 'join' },
    encodeFrame({ protocolVersion: PROTOCOL_VERSION, site, ...fields }),
    { signingSecretKey: signer, recipientBoxPublicKey: coordinator.box.publicKey, chunkSize: LIMITS.maxChunkSize },
  );
  return { header: sealer.header, signature: sealer.signature, chunks: [...sealer.chunks()] };
}

export const sink = (): TaskSink => ({ send: async () => {}, end: () => {} });

/** Asserts a refusal: its reason, the gRPC status it goes out with, and its message. */
export async function refused(p: Promise<unknown>, reason: ProtocolError['reason'], status: grpc.status, message: RegExp): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof ProtocolError, `a ProtocolError, got ${String(e)}`);
    assert.equal(statusFor(e), status, `status for ${reason}`);
    // Who is enrolled must not show: identity refusals go out as one message, the real one is the cause (logged).
    const inner = e.reason === 'peer-refused' && e.cause instanceof ProtocolError ? e.cause : e;
    if (['unknown-site', 'bad-signature'].includes(reason)) assert.equal(e.message, PEER_REFUSED_MESSAGE, 'the same answer for every identity refusal');
    assert.equal(inner.reason, reason);
    assert.match(inner.message, message);
    return true;
  });
}

/**
 * The seam between federation logic and the wire. The coordinator implements
 * CoordinatorEndpoint; gRPC (coordinator/grpc-server.ts) and the in-memory
 * transport (shared/transport/in-memory.ts) adapt it, so `simulate` and a real
 * deployment run the same coordinator and site code.
 */
import type { SubmitReply__Output } from '../protocol/generated/fedcausal/v1/SubmitReply.ts';
import type { Welcome__Output } from '../protocol/generated/fedcausal/v1/Welcome.ts';

/** A signed message: header bytes, detached signature, payload chunks in order. */
export interface WireMessage {
  header: Uint8Array;
  signature: Uint8Array;
  chunks: AsyncIterable<Uint8Array> | Iterable<Uint8Array>;
}

/** The first frame of a subscription, as generated from proto/ (checked with WelcomeSchema on receipt). */
export type Welcome = Welcome__Output;

/** Where the coordinator pushes a subscribed site's tasks. */
export interface TaskSink {
  send(task: WireMessage): Promise<void>;
  /** Ends the subscription from the coordinator's side (federation over, replaced by a newer one). */
  end(reason: string): void;
}

/** The answer to a Submit, as generated from proto/ (checked with SubmitReplySchema on receipt). */
export type SubmitReply = SubmitReply__Output;

/** The site a connection's client certificate names (checkPeer), and the Ed25519 key it is bound to (base64). */
export interface PeerIdentity {
  site: string;
  ed25519PublicKey: string;
}

export interface CoordinatorEndpoint {
  /**
   * Verifies a signed join and registers `sink`; resolves to the welcome and an unsubscribe hook for the transport. Throws ProtocolError to refuse.
   * `peer`: the certified site of the connection (gRPC over mTLS); the envelope's signer must be that site.
   */
  subscribe(join: WireMessage, sink: TaskSink, peer?: PeerIdentity): Promise<{ welcome: Welcome; closed: () => void }>;
  /** Verifies, stores and applies one result. Throws ProtocolError to refuse (the caller maps it to a status). */
  submit(msg: WireMessage, peer?: PeerIdentity): Promise<SubmitReply>;
  /** A fresh nonce for the next join of `peer` (the join must carry it). Absent: joins need none (test doubles). */
  challenge?(peer?: PeerIdentity): Promise<Uint8Array>;
  /** Reports a message the transport itself refused (bad framing) so it is logged and counted like the rest. */
  refuse?(e: unknown): never;
}

/**
 * A result that never reached the coordinator's answer: the connection went (the coordinator
 * stopped or restarted, the network dropped). Nothing was refused; a restarted coordinator asks
 * its open round again.
 */
export class ResultNotDelivered extends Error {
  override name = 'ResultNotDelivered';
}

/** The site's view of the federation. */
export interface SiteTransport {
  /** The coordinator's nonce for the next join (challenge-response); absent where the coordinator asks none. */
  challenge?(): Promise<Uint8Array>;
  /** Joins and yields tasks until the coordinator ends the stream or `close` is called. */
  subscribe(join: WireMessage): Promise<{ welcome: Welcome; tasks: AsyncIterable<WireMessage> }>;
  submit(msg: WireMessage): Promise<SubmitReply>;
  close(): void;
}

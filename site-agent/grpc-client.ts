import * as grpc from '@grpc/grpc-js';
import { isIP } from 'node:net';
import { checkServerIdentity } from 'node:tls';
import { z } from 'zod';
import { hostOfAddress } from '../shared/net/host-port.ts';
import { ProtocolError } from '../shared/errors.ts';
import { checkShape } from '../shared/protocol/check.ts';
import { ChallengeReplySchema, FrameSchema, SubmitReplySchema } from '../shared/protocol/wire.ts';
import { AsyncQueue } from '../shared/transport/async-queue.ts';
import { resultWords, taskWords, TransferProgress, type ProgressLine } from '../shared/transport/transfer-progress.ts';
import { wireBytes } from '../shared/crypto/envelope.ts';
import { channelOptions, federationClient, writeWithBackpressure } from '../shared/transport/grpc-proto.ts';
import { ResultNotDelivered, type SiteTransport, type SubmitReply, type Welcome, type WireMessage } from '../shared/transport/types.ts';
import { mtlsChannelCredentials, type TlsFiles } from '../shared/pki/grpc-credentials.ts';

/** gRPC codes of a call whose connection went (the coordinator stopped, the network dropped), not of a refusal. */
const LOST_CONNECTION: ReadonlySet<grpc.status> = new Set([grpc.status.UNAVAILABLE, grpc.status.CANCELLED, grpc.status.DEADLINE_EXCEEDED]);

/**
 * INTERNAL as grpc-js reports a connection that broke under it (a byte corrupted on the way:
 * TLS's "bad record mac", the HTTP/2 stream reset): the link's fault, not the coordinator's
 * answer. The site exited 1 on it where a dropped link is reconnected (a re-try).
 */
const BROKEN_LINK = /RST_STREAM|bad record mac|decryption failed|Protocol error|ECONNRESET/i;

/** `e` as a lost connection (UNAVAILABLE, which the agent reconnects after) where it is the link breaking; else `e`. */
function linkBroke<E extends grpc.ServiceError>(e: E): E {
  if (e.code !== grpc.status.INTERNAL || !BROKEN_LINK.test(e.details || e.message)) return e;
  return Object.assign(e, { code: grpc.status.UNAVAILABLE, message: `14 UNAVAILABLE: the connection to the coordinator broke (${e.details || e.message})` });
}

/** The fields of a task's header read before it is verified: how many chunk frames follow, and what they weigh (progress only). */
const AnnouncedSchema = z.object({
  chunkCount: z.number().int().min(1).max(0xffffffff),
  payloadLength: z.number().int().min(0).optional(),
  encrypted: z.boolean().optional(),
});

/**
 * How many chunks a task header announces, and their bytes on the wire. Unreadable: 1 chunk, so
 * that the task reaches the agent, whose verifyHeader refuses it with the reason (waiting for a
 * count that never comes would hang the site instead).
 */
function announced(header: Uint8Array): { count: number; bytes?: number; words?: { round: number; kind: string } } {
  const json = safeJson(header);
  const parsed = AnnouncedSchema.safeParse(json);
  // Its round and kind, for a progress line's words only.
  const words = HeaderWordsSchema.safeParse(json);
  const said = words.success ? { words: words.data } : {};
  if (!parsed.success) return { count: 1, ...said };
  const { chunkCount, payloadLength, encrypted } = parsed.data;
  return { count: chunkCount, ...(payloadLength === undefined ? {} : { bytes: wireBytes({ chunkCount, payloadLength, encrypted: encrypted ?? false }) }), ...said };
}

/** A header's JSON, or undefined where it is not JSON. */
function safeJson(header: Uint8Array): unknown {
  try {
    return JSON.parse(Buffer.from(header).toString('utf8'));
  } catch {
    return undefined;
  }
}

const HeaderWordsSchema = z.object({ round: z.number(), kind: z.string() });

/**
 * Mutual TLS to `address` (host:port, IPv6 in brackets). For an IP address, TLS would
 * send the IP as SNI (Node's DEP0123 warning): a DNS name every coordinator certificate
 * holds goes as SNI instead, and the certificate is still checked against the IP.
 */
export function siteChannel(address: string, tls: TlsFiles, maxChunkSize: number): { creds: grpc.ChannelCredentials; options: grpc.ChannelOptions } {
  const host = hostOfAddress(address);
  const options: grpc.ChannelOptions = { ...channelOptions(maxChunkSize) };
  if (isIP(host) === 0) return { creds: mtlsChannelCredentials(tls), options };
  options['grpc.ssl_target_name_override'] = 'localhost';
  return { creds: mtlsChannelCredentials(tls, { checkServerIdentity: (_sni, cert) => checkServerIdentity(host, cert) }), options };
}

/**
 * The errors of Challenge calls: a refusal there judged the certificate alone, before
 * anything signed with identity.json was sent (site-agent/kit-refusal.ts tells the two apart).
 */
const challengeErrors = new WeakSet<object>();

/** True for an error of the Challenge call (the first call of every join). */
export function failedAtChallenge(e: unknown): boolean {
  return typeof e === 'object' && e !== null && challengeErrors.has(e);
}

/** Marks `err` as the Challenge call's (failedAtChallenge) and returns it. */
function challengeError(err: grpc.ServiceError): grpc.ServiceError {
  challengeErrors.add(err);
  return err;
}

/**
 * How long a call waits for its connection to come up. grpc-js has no connect timeout: where
 * the coordinator's address went silent (a restarted container's old IP, a host gone from the
 * network) a call sat in CONNECTING for the OS's SYN retries, about 2 minutes, and the
 * restarted coordinator began its rounds without the site. Given up on, the agent's next
 * attempt opens a new channel, with a fresh name lookup.
 */
export const CONNECT_WAIT_MS = 20_000;

/**
 * Resolves once the channel is READY, or once it has failed (the call then fails at once, with
 * the connection's own error, as without this wait). Rejects with UNAVAILABLE when it is still
 * connecting after `waitMs`.
 */
function connected(client: grpc.Client, waitMs: number): Promise<void> {
  const channel = client.getChannel();
  const deadline = Date.now() + waitMs;
  return new Promise((resolve, reject) => {
    const step = (): void => {
      const state = channel.getConnectivityState(true);
      if (state === grpc.connectivityState.READY || state === grpc.connectivityState.TRANSIENT_FAILURE || state === grpc.connectivityState.SHUTDOWN) return resolve();
      channel.watchConnectivityState(state, deadline, (err) => (err ? reject(notConnected(waitMs)) : step()));
    };
    step();
  });
}

/** A connection that never came up, as gRPC reports an unreachable peer (code 14: the agent retries). */
function notConnected(waitMs: number): grpc.ServiceError {
  const details = `no connection to the coordinator within ${waitMs / 1000} s (its address does not answer)`;
  return Object.assign(new Error(`${grpc.status.UNAVAILABLE} UNAVAILABLE: ${details}`), { code: grpc.status.UNAVAILABLE, details, metadata: new grpc.Metadata() });
}

export interface SiteTransportOptions {
  /** How long a call waits for the connection. */
  connectWaitMs?: number;
  /** Channel options to add (the proxy route, proxy-route.ts). */
  channel?: grpc.ChannelOptions;
  /** Hears a long task download's progress (transfer-progress.ts). */
  onProgress?: (line: ProgressLine) => void;
}

/** The site side of the gRPC protocol, over mutual TLS with the kit's certificate. */
export function grpcSiteTransport(address: string, maxChunkSize: number, tls: TlsFiles, opts: SiteTransportOptions = {}): SiteTransport {
  const { connectWaitMs = CONNECT_WAIT_MS, channel = {} } = opts;
  const { creds, options } = siteChannel(address, tls, maxChunkSize);
  const client = federationClient(address, creds, { ...options, ...channel });
  const stream: TaskStream = {};
  return {
    async challenge() {
      return requestChallenge(client, connectWaitMs);
    },
    subscribe(join: WireMessage) {
      return subscribeTasks(client, join, stream, opts.onProgress);
    },
    async submit(msg: WireMessage) {
      return submitResult(client, msg, connectWaitMs, stream, opts.onProgress);
    },
    close() {
      stream.call?.cancel();
      client.close();
    },
  };
}

type FederationClient = ReturnType<typeof federationClient>;

/** The task stream of one transport, shared by its subscribe, submit and close. */
interface TaskStream {
  call?: grpc.ClientReadableStream<unknown>;
  /**
   * Set once the task stream has ended or failed: a result trained meanwhile has nowhere to go on
   * this channel (it waited for a connection that its coordinator no longer holds).
   */
  gone?: string;
}

/** The Challenge call: the coordinator's nonce, which the join signs. */
async function requestChallenge(client: FederationClient, connectWaitMs: number): Promise<Uint8Array> {
  await connected(client, connectWaitMs);
  return new Promise<Uint8Array>((resolve, reject) => {
    client.Challenge({}, (err, reply) => {
      if (err) return reject(challengeError(err));
      try {
        resolve(checkShape(ChallengeReplySchema, reply, "the coordinator's challenge").nonce);
      } catch (e) {
        reject(asError(e));
      }
    });
  });
}

/** The Subscribe call: resolves with the welcome and the tasks that follow it, each put together from its header and chunk frames. */
function subscribeTasks(client: FederationClient, join: WireMessage, stream: TaskStream, onProgress?: (line: ProgressLine) => void): Promise<{ welcome: Welcome; tasks: AsyncIterable<WireMessage> }> {
  return new Promise<{ welcome: Welcome; tasks: AsyncIterable<WireMessage> }>((resolve, reject) => {
    const chunks = [...(join.chunks as Iterable<Uint8Array>)];
    const call = client.Subscribe({ header: join.header, signature: join.signature, chunks });
    stream.call = call;
    const tasks = new AsyncQueue<WireMessage>();
    let welcomed = false;
    let refused = false;
    let current: { header: Uint8Array; signature: Uint8Array; chunks: Uint8Array[]; count: number; progress?: TransferProgress } | undefined;
    call.on('data', (raw: unknown) => {
      if (refused) return;
      let f;
      try {
        f = checkShape(FrameSchema, raw, 'a frame from the coordinator');
      } catch (e) {
        // The same end as any malformed task: the agent stops with the reason, and the stream goes.
        refused = true;
        if (welcomed) tasks.close(e as Error);
        else reject(asError(e));
        call.cancel();
        return;
      }
      if (f.body === 'welcome') {
        if (welcomed) return;
        welcomed = true;
        resolve({ welcome: f.welcome, tasks });
      } else if (f.body === 'header') {
        const { count, bytes, words } = announced(f.header.header);
        const what = words ? `round ${words.round}'s ${taskWords(words.kind)}` : 'a task';
        const progress = onProgress && bytes ? { progress: new TransferProgress(`receiving ${what} from the coordinator`, bytes, onProgress) } : {};
        current = { header: f.header.header, signature: f.header.signature, chunks: [], count, ...progress };
      } else if (current) {
        current.chunks.push(new Uint8Array(f.chunk.buffer, f.chunk.byteOffset, f.chunk.byteLength));
        current.progress?.add(f.chunk.byteLength);
        if (current.chunks.length >= current.count) {
          tasks.push({ header: current.header, signature: current.signature, chunks: current.chunks });
          current = undefined;
        }
      }
    });
    call.on('error', (raw: grpc.ServiceError) => {
      const e = linkBroke(raw);
      // Only a stream that was up: a refused join never had one.
      if (welcomed) stream.gone ??= e.details || e.message;
      if (refused) return;
      if (!welcomed) reject(e);
      else tasks.close(e.code === grpc.status.CANCELLED ? undefined : e);
    });
    call.on('end', () => {
      if (welcomed) stream.gone ??= 'the coordinator ended it';
      tasks.close();
    });
  });
}

/** The Submit call: the result's header frame, then its chunks. */
async function submitResult(client: FederationClient, msg: WireMessage, connectWaitMs: number, stream: TaskStream, onProgress?: (line: ProgressLine) => void): Promise<SubmitReply> {
  if (stream.gone !== undefined) throw new ResultNotDelivered(`the result did not reach the coordinator: the task stream had ended (${stream.gone})`);
  await connected(client, connectWaitMs).catch((e: grpc.ServiceError) => {
    throw submitError(e);
  });
  return new Promise<SubmitReply>((resolve, reject) => {
    const call = client.Submit((err, reply) => {
      if (err) return reject(submitError(err));
      try {
        resolve(checkShape(SubmitReplySchema, reply, "the coordinator's reply"));
      } catch (e) {
        reject(asError(e));
      }
    });
    // Counted as gRPC writes each chunk out, not as it takes it: its buffer took 4 MiB before pushing
    // back, and a 2 MB update over a slow link was never said (a re-try).
    const progress = onProgress ? uploadProgress(msg.header, onProgress) : undefined;
    void (async () => {
      await writeWithBackpressure(call, { header: { header: msg.header, signature: msg.signature } });
      for await (const c of msg.chunks) await writeWithBackpressure(call, { chunk: c }, () => progress?.add(c.length));
      call.end();
    })().catch(reject);
  });
}

/** A result's upload progress, said as the site's log reads it ("sending round 3's training update to the coordinator"); undefined for a header it cannot read. */
function uploadProgress(header: Uint8Array, onProgress: (line: ProgressLine) => void): TransferProgress | undefined {
  const { bytes, words } = announced(header);
  if (!bytes || !words) return undefined;
  return new TransferProgress(`sending round ${words.round}'s ${resultWords(words.kind)} to the coordinator`, bytes, onProgress);
}

/** A failed Submit: a lost connection is not a refusal; say which, so a site's log does not blame its result. */
function submitError(raw: grpc.ServiceError): Error {
  const err = linkBroke(raw);
  const why = err.details || err.message;
  return LOST_CONNECTION.has(err.code)
    ? new ResultNotDelivered(`the result did not reach the coordinator: the connection went (${why})`, { cause: err })
    : new ProtocolError(`coordinator refused the result: ${why}`, 'malformed', { cause: err });
}

/** A thrown value as an Error (rejections carry Errors). */
function asError(e: unknown): Error {
  return e instanceof Error ? e : new Error(String(e));
}

import * as grpc from '@grpc/grpc-js';
import { UPLOAD_CHUNK_SIZE } from '../shared/crypto/envelope.ts';
import { ProtocolError } from '../shared/errors.ts';
import type { Logger } from '../shared/logger.ts';
import { checkShape } from '../shared/protocol/check.ts';
import type { FederationHandlers } from '../shared/protocol/generated/fedcausal/v1/Federation.ts';
import { EnvelopeSchema, FrameSchema, type Frame } from '../shared/protocol/wire.ts';
import { channelOptions, federationService, refusalStatus, writeWithBackpressure } from '../shared/transport/grpc-proto.ts';
import type { CoordinatorEndpoint, PeerIdentity, TaskSink, WireMessage } from '../shared/transport/types.ts';
import { PEER_REFUSED_MESSAGE, checkPeer } from '../shared/pki/check-peer.ts';
import { hostPort } from '../shared/net/host-port.ts';
import { mtlsServerCredentials, peerCertificateDer, type TlsFiles } from '../shared/pki/grpc-credentials.ts';
import type { TrustStore } from '../shared/pki/trust-store.ts';
import { DEFAULT_CONNECTION_LIMITS, limitConnections, serverLimitOptions, type ConnectionLimits } from './connection-limits.ts';

/** The coordinator's side of mutual TLS: its certificate and key, and the CA and CRL that judge peers. */
export interface ServerTls {
  files: TlsFiles;
  trust: TrustStore;
}

export interface GrpcServerOptions {
  endpoint: CoordinatorEndpoint;
  host: string;
  port: number;
  maxChunkSize: number;
  log: Logger;
  tls: ServerTls;
  /** Connections, streams per connection and the frame deadline; DEFAULT_CONNECTION_LIMITS when absent. */
  limits?: ConnectionLimits;
  /** Hears the site of each revoked certificate refused (where the certificate names it). */
  onRevoked?: (site: string) => void;
}

type CertifiedCall = Parameters<typeof peerCertificateDer>[0];

/** What every handler needs: the endpoint, the peer check on a call's certificate, the limits. */
interface Serving {
  endpoint: CoordinatorEndpoint;
  log: Logger;
  limits: ConnectionLimits;
  /** checkPeer on a call's certificate, against the CA and the CRL on disk now: refused (logged, thrown) or the peer. */
  peerOf(call: CertifiedCall): Promise<PeerIdentity>;
  /** The same check for an open stream's next task: undefined while the peer stands, the refusal once it does not. */
  stillValid(call: CertifiedCall): Promise<Error | undefined>;
}

/**
 * Serves a CoordinatorEndpoint over gRPC with mutual TLS: TLS refuses a peer without a
 * certificate from the federation CA, and every call's certificate is then checked
 * (revocation, usage, site binding) and handed to the endpoint, which requires the
 * envelope's signer to be that site. Bind to loopback unless deployment says otherwise.
 */
export async function startGrpcServer(opts: GrpcServerOptions): Promise<{ port: number; close(): Promise<void>; openConnections(): number }> {
  const { endpoint, log } = opts;
  const limits = opts.limits ?? DEFAULT_CONNECTION_LIMITS;
  const ctx = serving(opts, limits);
  const server = new grpc.Server({ ...channelOptions(opts.maxChunkSize), ...serverLimitOptions(limits) });
  const handlers: FederationHandlers = {
    Challenge: (call, callback) => {
      ctx.peerOf(call)
        .then(async (peer) => {
          if (!endpoint.challenge) return callback({ code: grpc.status.UNIMPLEMENTED, details: 'this coordinator asks no join challenge' });
          callback(null, { nonce: Buffer.from(await endpoint.challenge(peer)) });
        })
        .catch((e: Error) => callback(refusalStatus(e)));
    },
    Subscribe: (call) => subscribe(ctx, call),
    Submit: (call, callback) => {
      submit(ctx, call).then(
        (reply) => callback(null, reply),
        (e: Error) => callback(refusalStatus(e)),
      );
    },
  };
  server.addService(federationService().service, handlers);
  const port = await bind(server, opts);
  const connections = limitConnections(
    server,
    limits,
    () => endpoint.refuse && refusedHere(endpoint, new ProtocolError('at the connection limit', 'busy')),
    (peer, error) =>
      endpoint.refuse &&
      refusedHere(
        endpoint,
        new ProtocolError(`TLS handshake with ${peer} failed (${opensslReason(error.message)}): ${handshakeCause(error)}`, 'tls-handshake'),
      ),
  );
  log.info('gRPC listening', { host: opts.host, port, ...limits });
  return {
    port,
    openConnections: () => connections.open(),
    close: () =>
      new Promise<void>((resolve) => {
        server.tryShutdown(() => resolve());
        setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, 2000).unref();
      }),
  };
}

function serving(opts: GrpcServerOptions, limits: ConnectionLimits): Serving {
  const { endpoint, log, tls } = opts;
  /** A refused certificate, logged (with its site where a revoked one names it) and told to onRevoked. */
  const refused = (message: string, check: { code: string; reason: string; site?: string }) => {
    log.warn(message, { code: check.code, reason: check.reason, ...(check.site ? { site: check.site } : {}) });
    if (check.code === 'revoked' && check.site) opts.onRevoked?.(check.site);
  };
  return {
    endpoint,
    log,
    limits,
    async peerOf(call) {
      const check = await checkPeer(peerCertificateDer(call), await tls.trust.current());
      if (check.ok) return { site: check.site, ed25519PublicKey: check.ed25519PublicKey };
      refused('peer certificate refused', check);
      throw refusedHere(endpoint, new ProtocolError(PEER_REFUSED_MESSAGE, 'peer-refused'));
    },
    async stillValid(call) {
      const check = await checkPeer(peerCertificateDer(call), await tls.trust.current());
      if (check.ok) return undefined;
      refused('peer certificate refused on an open subscription', check);
      return refusedHere(endpoint, new ProtocolError(PEER_REFUSED_MESSAGE, 'peer-refused'));
    },
  };
}

type SubscribeCall = Parameters<FederationHandlers['Subscribe']>[0];
type SubmitCall = Parameters<FederationHandlers['Submit']>[0];

/** A site's task stream: checked, joined through the endpoint, and fed tasks until either side ends it. */
function subscribe(ctx: Serving, call: SubscribeCall): void {
  const { endpoint, log } = ctx;
  let ended = false;
  const refuse = (e: Error) => {
    ended = true;
    // emit('error'), not destroy(): grpc-js turns an 'error' into the call's status and ends
    // the stream; destroy() drops the status, and the refused site would wait forever.
    // The reason rides in the trailers: a site told 'already-connected' acts on it.
    call.emit('error', Object.assign(new Error(e.message), refusalStatus(e)));
  };
  let req;
  try {
    req = checkShape(EnvelopeSchema, call.request, 'the Subscribe envelope');
  } catch (e) {
    refuse(refusedHere(endpoint, e));
    return;
  }
  // One task's frames at a time: a task still being written when the next went out (a slow link,
  // a round that timed out) had their chunks interleaved, and the site put the next task together
  // from the first one's chunks (a hostile-site re-try).
  let writing: Promise<void> = Promise.resolve();
  const sink: TaskSink = {
    send(task: WireMessage) {
      const next = writing.then(async () => {
        if (ended) return;
        // Revocation reaches an open stream too: a site revoked since it joined gets no further task.
        const revoked = await ctx.stillValid(call);
        if (revoked) return refuse(revoked);
        await writeWithBackpressure(call, { header: { header: task.header, signature: task.signature } });
        for await (const c of task.chunks) await writeWithBackpressure(call, { chunk: c });
      });
      writing = next.catch(() => {});
      return next;
    },
    end(reason: string) {
      if (ended) return;
      ended = true;
      log.debug('ending subscription', { reason });
      call.end();
    },
  };
  ctx.peerOf(call)
    .then((peer) => endpoint.subscribe({ header: req.header, signature: req.signature, chunks: req.chunks }, sink, peer))
    .then(({ welcome, closed }) => {
      call.write({ welcome });
      const done = () => {
        ended = true;
        closed();
      };
      call.on('cancelled', done);
      call.on('close', done);
      call.on('error', done);
    })
    .catch(refuse);
}

/** A site's result stream: its header frame checked here, its chunks as the endpoint reads them. */
async function submit(ctx: Serving, call: SubmitCall) {
  const { endpoint, limits } = ctx;
  const peer = await ctx.peerOf(call);
  const stream = call[Symbol.asyncIterator]() as AsyncIterator<unknown>;
  // A stream that goes silent where a frame is due is closed: idle streams must not pile up.
  const it = { next: () => nextWithin(stream, limits.frameTimeoutMs) };
  let first;
  try {
    first = await it.next();
  } catch (e) {
    throw refusedHere(endpoint, e);
  }
  let head: Frame | undefined;
  try {
    head = first.done ? undefined : checkShape(FrameSchema, first.value, 'Submit frame 0');
    if (head?.body !== 'header') throw new ProtocolError('a Submit stream must start with a header frame', 'malformed');
  } catch (e) {
    // Never reached the endpoint: have it log and count the refusal like the rest.
    throw refusedHere(endpoint, e);
  }
  let index = 0;
  // Frames after the header are checked as the endpoint reads them: it refuses (and counts) what fails.
  const chunks = {
    async *[Symbol.asyncIterator]() {
      for (;;) {
        const n = await it.next();
        if (n.done) return;
        const f = checkShape(FrameSchema, n.value, `Submit frame ${++index}`);
        if (f.body !== 'chunk') throw new ProtocolError('expected a chunk frame after the header', 'malformed');
        yield new Uint8Array(f.chunk.buffer, f.chunk.byteOffset, f.chunk.byteLength);
      }
    },
  };
  return endpoint.submit({ header: head.header.header, signature: head.header.signature, chunks }, peer);
}

/** The bound port, or the bind's failure in the operator's words (cannotListen). */
function bind(server: grpc.Server, opts: GrpcServerOptions): Promise<number> {
  return new Promise<number>((resolve, reject) =>
    server.bindAsync(hostPort(opts.host, opts.port), mtlsServerCredentials(opts.tls.files), (err, p) => {
      if (!err) return resolve(p);
      server.forceShutdown();
      reject(cannotListen(opts.host, opts.port, err));
    }),
  );
}

/**
 * OpenSSL's reason alone ("http request" of "80EC...:error:0A00009C:SSL routines:ssl3_get_record:http
 * request:../deps/openssl/...\n"): the whole line pushed the remedy past what the dashboard shows.
 */
function opensslReason(message: string): string {
  return /SSL routines:[^:]*:([^:]+):/.exec(message)?.[1]?.trim() ?? message.trim();
}

/**
 * Who fails a handshake, as far as OpenSSL's reason tells. Plain HTTP on the gRPC port (a
 * browser, a Prometheus target or `curl` given the wrong port) was said to be a site with a
 * stray kit (an outside try).
 */
function handshakeCause(error: Error): string {
  if (/http request|wrong version number|unknown protocol/i.test(error.message))
    return "not TLS: plain HTTP or another protocol on the gRPC port (a browser, Prometheus or curl given the gRPC port instead of the HTTP one, listen.httpPort), or a port scanner";
  // Within the refusal log's excerpt (300 characters) with the peer and OpenSSL's reason before it.
  return (
    "a site whose tls/ files are another provisioning's, or expired; a site refusing this coordinator's certificate " +
    '(its clock, the name it dials, a TLS-inspecting middlebox: its log says which); or a client without the federation\'s certificate'
  );
}

/** Where the gRPC address comes from, for the operator who must change it. */
const LISTEN_FIELDS = 'coordinator.yaml listen.host/listen.grpcPort';

/**
 * What a failed bind means, for the operator: grpc-js gives only its own text ("No address
 * added out of total 1 resolved errors: [listen EADDRINUSE: ...]"). The HTTP port's message
 * (coordinator/http/server.ts, "cannot serve HTTP on ...") has the same form.
 */
export function cannotListen(host: string, port: number, err: Error): Error {
  const where = `cannot listen for sites on ${hostPort(host, port)} (${LISTEN_FIELDS})`;
  const why = BIND_ERRORS.find(([code]) => err.message.includes(code))?.[1];
  return new Error(`${where}: ${why ?? err.message}`, { cause: err });
}

/** The errno codes a bind fails with, as grpc-js quotes them, and what each means here. */
const BIND_ERRORS: [string, string][] = [
  ['EADDRINUSE', 'address already in use — another process holds the port (another coordinator?)'],
  ['EADDRNOTAVAIL', 'address not available — listen.host is not an address of this host'],
  ['EACCES', 'permission denied — ports below 1024 need privileges; use a higher listen.grpcPort'],
];

/** A missed frame deadline, with the link speed it implies: a slow uplink reads like a silent site. */
export function frameDeadlineText(ms: number): string {
  const kbits = Math.ceil((UPLOAD_CHUNK_SIZE * 8) / ms);
  return (
    `no frame within the ${ms / 1000}s frame deadline (limits.frameTimeoutSeconds): the site went silent, or its link carries less than one ` +
    `${UPLOAD_CHUNK_SIZE / 1024} KiB chunk in that time (under about ${kbits} kbit/s; a site of a build before 2026-11-29 sends 1 MiB chunks, ${4 * kbits} kbit/s); for a slow link the coordinator's operator raises limits.frameTimeoutSeconds (coordinator.yaml)`
  );
}

/** The stream's next frame, or ProtocolError('timeout') when none comes within `ms`. */
async function nextWithin(it: AsyncIterator<unknown>, ms: number): Promise<IteratorResult<unknown>> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new ProtocolError(frameDeadlineText(ms), 'timeout')), ms);
  });
  try {
    return await Promise.race([it.next(), deadline]);
  } finally {
    clearTimeout(timer);
  }
}

/** A refusal made here, before the endpoint saw the message: the endpoint logs and counts it like its own. */
function refusedHere(endpoint: CoordinatorEndpoint, e: unknown): Error {
  if (endpoint.refuse) {
    try {
      endpoint.refuse(e);
    } catch (thrown) {
      return thrown as Error;
    }
  }
  return e as Error;
}

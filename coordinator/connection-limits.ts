/**
 * What one peer may hold open on the coordinator's gRPC port: a bounded number of
 * connections (a socket that has not finished its TLS handshake within the frame deadline
 * is closed), a bounded number of streams on each (HTTP/2 SETTINGS_MAX_CONCURRENT_STREAMS),
 * and connections without a call are closed when idle. Unbounded, 100,000 idle streams took
 * a coordinator from 195 MB to 1.2 GB, and 500 idle sockets stayed open for good.
 */
import type { Server as NetServer, Socket } from 'node:net';
import type * as grpc from '@grpc/grpc-js';
import { isLoopbackHost } from '../shared/net/loopback.ts';

/** A site needs three streams at most (Subscribe, Submit, Challenge); the rest is headroom for retries. */
export const DEFAULT_MAX_STREAMS_PER_CONNECTION = 16;
/** Seconds a peer may stay silent where a frame is due: the TLS handshake, the first and each next frame of a Submit. */
export const DEFAULT_FRAME_TIMEOUT_SECONDS = 30;
/** A connection with no call open is closed after this many frame deadlines (a site always holds its Subscribe). */
const IDLE_FRAME_DEADLINES = 4;
/**
 * Most sockets one address may have in their TLS handshake at once: a site opens one, a
 * restart a second; more from one address, with no certificate shown yet, is a flood. Not
 * applied to loopback, where every site of a one-machine federation connects from one address.
 */
export const MAX_HANDSHAKES_PER_ADDRESS = 4;

export interface ConnectionLimits {
  maxConnections: number;
  maxStreamsPerConnection: number;
  frameTimeoutMs: number;
}

/**
 * Every site holds one connection, and a site that restarts may hold a second until its old
 * one is gone; the 16 extra leave room for a few tools and probes.
 */
export function defaultMaxConnections(sites: number): number {
  return 2 * sites + 16;
}

/** Where a caller gives none (tests, tools): sized for a hundred sites. */
export const DEFAULT_CONNECTION_LIMITS: ConnectionLimits = {
  maxConnections: defaultMaxConnections(100),
  maxStreamsPerConnection: DEFAULT_MAX_STREAMS_PER_CONNECTION,
  frameTimeoutMs: DEFAULT_FRAME_TIMEOUT_SECONDS * 1000,
};

/** The grpc-js server options that carry the per-connection limits. */
export function serverLimitOptions(l: ConnectionLimits): grpc.ServerOptions {
  return {
    'grpc.max_concurrent_streams': l.maxStreamsPerConnection,
    'grpc.max_connection_idle_ms': IDLE_FRAME_DEADLINES * l.frameTimeoutMs,
  };
}

/**
 * Counts the sockets of the server's listeners and bounds them: at most `maxConnections`;
 * any that has not completed its TLS handshake within the frame deadline is closed; one
 * address holds at most MAX_HANDSHAKES_PER_ADDRESS sockets in their handshake (loopback
 * aside); and at the limit a new socket takes the place of the oldest one still in its
 * handshake (it has shown no certificate), so sockets that never start TLS cannot lock the
 * sites out: an outside attack held 40 such sockets and no site could join for as long as it
 * ran. Only when every socket has finished its handshake is a new one closed at once.
 * grpc-js has no option for any of this, so this reaches its (private) HTTP/2 servers once
 * bound; a grpc-js that no longer has them fails the coordinator's start (and
 * tests/coordinator/connection-limits.test.ts), rather than leave the port unbounded.
 * `onRefused` counts and logs each socket closed by a limit. `onTlsError` hears each failed
 * TLS handshake (its peer address and error): grpc-js closes those sockets without a word,
 * so a site whose kit comes from another provisioning run would show only as offline.
 */
export function limitConnections(
  server: grpc.Server,
  l: ConnectionLimits,
  onRefused?: () => void,
  onTlsError?: (peer: string, error: Error) => void,
  /** Addresses the per-address handshake cap leaves alone (tests name none). */
  uncapped: (address: string) => boolean = isLoopbackHost,
): { open(): number } {
  const listeners = (server as unknown as { http2Servers?: Map<NetServer, unknown> }).http2Servers;
  if (!(listeners instanceof Map) || listeners.size === 0)
    throw new Error('cannot limit gRPC connections: this @grpc/grpc-js does not expose its HTTP/2 servers');
  const open = new Set<Socket>();
  // Sockets still in their TLS handshake, oldest first (a Map keeps insertion order).
  const handshaking = new Map<string, { socket: Socket; timer: NodeJS.Timeout }>();
  const refuse = (socket: Socket) => {
    open.delete(socket);
    socket.destroy();
    onRefused?.();
  };
  const handshakesFrom = (address: string | undefined) => [...handshaking.values()].filter((h) => h.socket.remoteAddress === address).length;
  for (const h2 of listeners.keys()) {
    h2.prependListener('connection', (socket: Socket) => {
      const address = socket.remoteAddress;
      if (!uncapped(address ?? '') && handshakesFrom(address) >= MAX_HANDSHAKES_PER_ADDRESS) return refuse(socket);
      if (open.size >= l.maxConnections) {
        const oldest = handshaking.entries().next();
        if (oldest.done) return refuse(socket);
        const [oldKey, { socket: old, timer: oldTimer }] = oldest.value;
        handshaking.delete(oldKey);
        clearTimeout(oldTimer);
        refuse(old);
      }
      open.add(socket);
      const key = `${address}:${socket.remotePort}`;
      const timer = setTimeout(() => {
        handshaking.delete(key);
        socket.destroy();
      }, l.frameTimeoutMs);
      timer.unref();
      handshaking.set(key, { socket, timer });
      socket.once('close', () => {
        open.delete(socket);
        clearTimeout(timer);
        if (handshaking.get(key)?.socket === socket) handshaking.delete(key);
      });
    });
    if (onTlsError) h2.on('tlsClientError', (error: Error, tls: Socket) => onTlsError(peerOf(tls), error));
    h2.on('secureConnection', (tls: Socket) => {
      const key = `${tls.remoteAddress}:${tls.remotePort}`;
      const h = handshaking.get(key);
      if (h) clearTimeout(h.timer);
      handshaking.delete(key);
    });
  }
  return { open: () => open.size };
}

/** `address:port` of a TLS socket whose handshake failed: read from the TCP socket under it where the TLS one has closed already. */
function peerOf(tls: Socket): string {
  const raw = (tls as Socket & { _parent?: Socket | null })._parent;
  const address = tls.remoteAddress ?? raw?.remoteAddress;
  return address ? `${address}:${tls.remotePort ?? raw?.remotePort}` : 'a peer whose address was gone';
}

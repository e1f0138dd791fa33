/**
 * The coordinator's HTTP side (node:http only): the dashboard at `/` (with its
 * bundle at `/dashboard.js` and `/dashboard.css`),
 * `/healthz`, `/api/status` and `/metrics` (INTERFACES.md). Read-only by design:
 * GET and HEAD only, so nothing on this port can change the federation.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { silentLogger, type Logger } from '../../shared/logger.ts';
import { DASHBOARD_CSP, DASHBOARD_HTML } from './dashboard.ts';
import type { FederationStatus } from '../../shared/federation/status.ts';
import { dashboardAssets, type DashboardAssets } from './dashboard-assets.ts';
import { summaryReply, type SummarySource } from './summary.ts';
import { hostPort } from '../../shared/net/host-port.ts';
import { bearerMatches } from '../../shared/net/http-token.ts';
import { hostChecker, hostOf } from './host-check.ts';

export interface HttpServerOptions {
  host: string;
  /** 0 picks a free port; the bound one is returned. */
  port: number;
  status: () => FederationStatus;
  summary?: SummarySource;
  metrics: MetricsEndpoint;
  log?: Logger;
  /**
   * The bearer token every endpoint but /healthz requires (INTERFACES.md); the coordinator
   * always sets it. The page's script and stylesheet carry no federation data and stay open,
   * so a browser can load the page, which then sends the token it was given (#token=...).
   */
  token?: string;
  /**
   * Host names or IPs, besides `host` and the loopback forms, that clients may put in the
   * Host header (host-check.ts); any other Host is answered 421.
   */
  allowedHosts?: readonly string[];
  /** The dashboard's script and stylesheet (default: the bundle, see dashboard-assets.ts). */
  assets?: () => Promise<DashboardAssets>;
}

/** What the HTTP side needs of the metrics (coordinator/metrics/coordinator-metrics.ts). */
export interface MetricsEndpoint {
  httpRequest(path: string): void;
  render(): Promise<{ body: string; contentType: string }>;
}

export interface HttpServerHandle {
  port: number;
  close(): Promise<void>;
}

type Route = '/' | '/dashboard.js' | '/dashboard.css' | '/healthz' | '/api/status' | '/api/summary' | '/metrics';
const ROUTES: readonly Route[] = ['/', '/dashboard.js', '/dashboard.css', '/healthz', '/api/status', '/api/summary', '/metrics'];

interface Reply {
  status: number;
  type: string;
  body: string;
  headers?: Record<string, string>;
}

const JSON_TYPE = 'application/json; charset=utf-8';
/** Distinct refused Host values logged (the rest are refused silently). */
const MAX_LOGGED_HOSTS = 100;

/**
 * Answered whatever the Host header: liveness carries no data worth rebinding for, and a
 * probe (a load balancer's, a kubelet's) must not restart the coordinator over a name.
 */
const ANY_HOST_ROUTES: ReadonlySet<string> = new Set(['/healthz']);

/** Open without a token: liveness, and the page's static script and stylesheet (no data in them). */
const OPEN_ROUTES: ReadonlySet<string> = new Set(['/healthz', '/dashboard.js', '/dashboard.css']);

function dashboardPage(): Reply & { headers: Record<string, string> } {
  return {
    status: 200,
    type: 'text/html; charset=utf-8',
    body: DASHBOARD_HTML,
    headers: { 'content-security-policy': DASHBOARD_CSP, 'x-frame-options': 'DENY' },
  };
}

function json(status: number, doc: unknown, headers?: Record<string, string>): Reply {
  return { status, type: JSON_TYPE, body: JSON.stringify(doc) + '\n', headers };
}

export function startHttpServer(opts: HttpServerOptions): Promise<HttpServerHandle> {
  const log = (opts.log ?? silentLogger).child({ component: 'http' });

  const assets = opts.assets ?? dashboardAssets;
  const hostAllowed = hostChecker({ bindHost: opts.host, names: opts.allowedHosts ?? [] });
  const refusedHosts = new Set<string>();

  async function asset(which: 'js' | 'css'): Promise<Reply> {
    const a = await assets();
    return which === 'js'
      ? { status: 200, type: 'text/javascript; charset=utf-8', body: a.js }
      : { status: 200, type: 'text/css; charset=utf-8', body: a.css };
  }

  /** 421 for a Host this server is not known by (host-check.ts); undefined when it may answer. */
  function hostRefusal(header: string | undefined, path: string): Reply | undefined {
    if (ANY_HOST_ROUTES.has(path) || hostAllowed(header)) return undefined;
    const host = excerpt(header);
    // Once per name: a rebinding page polling the port must not flood the log.
    if (!refusedHosts.has(host) && refusedHosts.size < MAX_LOGGED_HOSTS) {
      refusedHosts.add(host);
      log.warn('http request for another host refused (421); later ones for this host are not logged', { host, path: excerpt(path) });
    }
    // Not the 404 of a known server: a DNS-rebound page learns nothing, not even the routes.
    return json(421, { error: `this server does not answer for host "${excerpt(hostOf(header) ?? header)}"; use its configured name or address (listen.httpAllowedHosts)` });
  }

  async function handle(req: IncomingMessage): Promise<Reply> {
    const path = new URL(req.url ?? '/', 'http://local').pathname;
    const misdirected = hostRefusal(req.headers.host, path);
    if (misdirected) return misdirected;
    const route = (ROUTES as readonly string[]).includes(path) ? (path as Route) : undefined;
    if (!route) return json(404, { error: 'not found', path, endpoints: ROUTES });
    if (req.method !== 'GET' && req.method !== 'HEAD')
      return json(405, { error: `method ${req.method} not allowed`, allowed: ['GET', 'HEAD'] }, { allow: 'GET, HEAD' });
    opts.metrics.httpRequest(route);
    return unauthorized(route, req.headers.authorization, opts.token) ?? serve(route);
  }

  async function serve(route: Route): Promise<Reply> {
    switch (route) {
      case '/healthz':
        return { status: 200, type: 'text/plain; charset=utf-8', body: 'ok' };
      case '/api/status':
        return json(200, opts.status());
      case '/api/summary':
        return json(...summaryReply(opts.summary));
      case '/metrics': {
        const m = await opts.metrics.render();
        return { status: 200, type: m.contentType, body: m.body };
      }
      case '/dashboard.js':
        return asset('js');
      case '/dashboard.css':
        return asset('css');
      case '/':
        return dashboardPage();
    }
  }

  async function respond(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let reply: Reply;
    try {
      reply = await handle(req);
    } catch (err) {
      // A status or metrics callback (or the dashboard bundle) failed: report it, keep serving.
      log.error('http handler failed', { path: req.url, error: (err as Error).message });
      reply = json(500, { error: 'internal error' });
    }
    if (res.destroyed) return;
    const body = Buffer.from(reply.body, 'utf8');
    res.writeHead(reply.status, {
      'content-type': reply.type,
      'content-length': String(body.length),
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
      ...reply.headers,
    });
    res.end(req.method === 'HEAD' ? undefined : body);
  }

  return listen(createServer((req, res) => void respond(req, res)), opts, log);
}

/** 401 for a route that needs the token when `authorization` does not carry it; undefined when it may answer. */
function unauthorized(route: Route, authorization: string | undefined, token: string | undefined): Reply | undefined {
  if (token === undefined || OPEN_ROUTES.has(route) || bearerMatches(authorization, token)) return undefined;
  // The page itself still comes back (with 401), so a browser given #token=... can use it.
  if (route === '/') {
    const page = dashboardPage();
    return { ...page, status: 401, headers: { ...page.headers, 'www-authenticate': 'Bearer realm="fedcausal"' } };
  }
  return json(401, { error: 'this endpoint requires Authorization: Bearer TOKEN (the http-token file of the coordinator kit)' }, { 'www-authenticate': 'Bearer realm="fedcausal"' });
}

/** `server` listening on the configured address; its handle closes it with its keep-alive sockets. */
function listen(server: Server, opts: HttpServerOptions, log: Logger): Promise<HttpServerHandle> {
  return new Promise((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) => reject(cannotServe(opts.host, opts.port, err));
    server.once('error', onError);
    server.listen(opts.port, opts.host, () => {
      server.off('error', onError);
      server.on('error', (err) => log.error('http server error', { error: err.message }));
      const port = (server.address() as AddressInfo).port;
      log.info('http listening', { host: opts.host, port });
      let closing: Promise<void> | undefined;
      resolve({
        port,
        close() {
          closing ??= new Promise<void>((done, fail) => {
            server.close((err) => (err ? fail(err) : done()));
            // Keep-alive sockets (browsers, fetch) would hold close() open until they time out.
            server.closeAllConnections();
          });
          return closing;
        },
      });
    });
  });
}

/**
 * A failed bind in the gRPC message's form (coordinator/grpc-server.ts cannotListen): the
 * fields to change, then what the errno means. Node's own text stays, errno included.
 */
function cannotServe(host: string, port: number, err: NodeJS.ErrnoException): Error {
  const why = HTTP_BIND_ERRORS.get(err.code ?? '');
  const where = `cannot serve HTTP on ${hostPort(host, port)} (coordinator.yaml listen.httpHost/listen.httpPort)`;
  return new Error(`${where}: ${err.message}${why ? ` — ${why}` : ''}`, { cause: err });
}

/** The errno codes a bind fails with, and what each means here. */
const HTTP_BIND_ERRORS = new Map([
  ['EADDRINUSE', 'another process holds the port (another coordinator?); stop it or choose another listen.httpPort'],
  ['EADDRNOTAVAIL', 'listen.httpHost is not an address of this host'],
  ['EACCES', 'ports below 1024 need privileges; use a higher listen.httpPort'],
]);

/** Header text is the client's: bounded before it reaches a log line or a reply. */
function excerpt(s: string | undefined): string {
  if (s === undefined) return '(none)';
  return s.length > 100 ? `${s.slice(0, 100)}…` : s;
}

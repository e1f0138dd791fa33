/**
 * How a site reaches the coordinator through a hospital's proxy settings. gRPC reads only the
 * lower-case grpc_proxy / https_proxy / http_proxy and no_grpc_proxy / no_proxy, takes an entry
 * of no_proxy with a space in it literally, knows no "*", and connects directly past an
 * https:// proxy URL with one line on standard error (an outside try: HTTPS_PROXY set, or
 * no_proxy="localhost, 127.0.0.1", were silently not what the IT person meant). Here they are
 * read as curl reads them (either case, entries trimmed, "*" for every host), the route is said
 * at start, and gRPC is made to follow it (applyProxyRoute).
 */
import { isIP, isIPv4 } from 'node:net';
import { hostOfAddress } from '../shared/net/host-port.ts';

export interface ProxyRoute {
  /** The HTTP CONNECT proxy the coordinator is reached through: its URL without credentials, the variable that named it. */
  proxy?: { url: string; variable: string };
  /** A proxy is set but this no_proxy entry sends the coordinator past it. */
  bypass?: { entry: string; variable: string };
  /** Settings that are not followed, and why. */
  notes: string[];
  /** The URL as given (with any credentials), for gRPC. */
  proxyUrl?: string;
}

const PROXY_VARIABLES = ['grpc_proxy', 'https_proxy', 'http_proxy'] as const;
const NO_PROXY_VARIABLES = ['no_grpc_proxy', 'no_proxy'] as const;

/** The proxy variable (either case) that names an HTTP proxy for web requests, as curl reads them; undefined where none is set. */
export function webProxyVariable(env: NodeJS.ProcessEnv): string | undefined {
  return firstSet(['https_proxy', 'http_proxy'], env)?.[0];
}

/** The first of `names` set (lower case first, then upper case), as [variable, value]. */
function firstSet(names: readonly string[], env: NodeJS.ProcessEnv): [string, string] | undefined {
  for (const name of names)
    for (const v of [name, name.toUpperCase()]) {
      const value = env[v]?.trim();
      if (value) return [v, value];
    }
  return undefined;
}

export function proxyRoute(address: string, env: NodeJS.ProcessEnv): ProxyRoute {
  const set = firstSet(PROXY_VARIABLES, env);
  if (!set) return { notes: [] };
  const [variable, given] = set;
  // HOST:PORT alone is an http:// proxy, as curl reads it (gRPC took it for no URL and went directly).
  const value = /^[a-z][a-z0-9+.-]*:\/\//i.test(given) ? given : `http://${given}`;
  let url: URL;
  const notUrl = { notes: [`${variable}=${given} is not an http:// URL (write http://HOST:PORT): not followed, the coordinator is reached directly`] };
  try {
    url = new URL(value);
  } catch {
    return notUrl;
  }
  if (url.protocol === 'https:')
    return {
      notes: [
        `${variable} is an https:// proxy URL: gRPC reaches a proxy over plain HTTP only (CONNECT), so the coordinator is reached directly; ` +
          'write http://HOST:PORT if the proxy takes plain CONNECT, as most do',
      ],
    };
  if (url.protocol !== 'http:') return notUrl;
  const host = hostOfAddress(address);
  const bypass = bypassEntry(host, env);
  if (bypass) return { bypass, notes: [] };
  const shown = `http://${url.host}`;
  // grpc-js 1.14 writes the CONNECT line without brackets (CONNECT fd00::5:7443), which proxies refuse or misread.
  const notes = isIP(host) === 6
    ? [`the coordinator's address ${address} is an IPv6 address and gRPC asks the proxy for it without brackets (CONNECT ${host}:${address.slice(address.lastIndexOf(':') + 1)}), which most proxies refuse: give its host name in site.yaml coordinator.address, or list ${host} in no_grpc_proxy if the site can reach it directly`]
    : [];
  return { proxy: { url: shown, variable }, proxyUrl: value, notes };
}

/** The no_proxy entry (trimmed) that covers `host`: the host itself, a domain it is in, an IPv4 CIDR it falls in, or "*". */
function bypassEntry(host: string, env: NodeJS.ProcessEnv): { entry: string; variable: string } | undefined {
  const set = firstSet(NO_PROXY_VARIABLES, env);
  if (!set) return undefined;
  const [variable, value] = set;
  const h = host.toLowerCase();
  for (const raw of value.split(',')) {
    // An IPv6 address may be written in brackets, as in a URL.
    const entry = raw.trim().toLowerCase().replace(/^\[(.*)\]$/, '$1');
    if (!entry) continue;
    const domain = entry.replace(/^\*?\./, '');
    // An address is covered by itself or its CIDR; a name by itself or a domain it is in.
    const suffix = isIP(h) === 0 && h.endsWith(`.${domain}`);
    if (entry === '*' || h === domain || suffix || inCidr(h, entry)) return { entry: raw.trim(), variable };
  }
  return undefined;
}

function inCidr(host: string, entry: string): boolean {
  const [ip, bits] = entry.split('/');
  const n = Number(bits);
  if (!isIPv4(host) || !ip || !isIPv4(ip) || !Number.isInteger(n) || n < 0 || n > 32) return false;
  const toInt = (a: string) => a.split('.').reduce((acc, o) => (acc << 8) + Number(o), 0) >>> 0;
  const mask = n === 0 ? 0 : (-1 << (32 - n)) >>> 0;
  return ((toInt(host) & mask) >>> 0) === ((toInt(ip) & mask) >>> 0);
}

/** The route in a message: where the site dials, through what. */
export function routeText(r: ProxyRoute): string {
  return r.proxy ? ` through the proxy ${r.proxy.url} (${r.proxy.variable})` : '';
}

/**
 * Makes gRPC follow `r`: directly (its proxy support off), or through exactly this proxy (named
 * to gRPC by its own variable, with a no-proxy list that covers nothing: the decision is made).
 * Returns the channel options to add.
 */
export function applyProxyRoute(r: ProxyRoute, env: NodeJS.ProcessEnv): Record<string, number> {
  if (!r.proxyUrl) return { 'grpc.enable_http_proxy': 0 };
  env.grpc_proxy = r.proxyUrl;
  env.no_grpc_proxy = 'no-host.invalid';
  return { 'grpc.enable_http_proxy': 1 };
}

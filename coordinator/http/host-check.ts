/**
 * The Host header check of the coordinator's HTTP side, against DNS rebinding: a web
 * page on attacker.example can make a browser on the operator's machine resolve
 * attacker.example to the coordinator's address, and then read the answers as
 * same-origin. The browser still sends `Host: attacker.example`, so answering only
 * the names this server is known by closes that door (the bearer token is the
 * other lock; this one also covers a token a browser keeps for the tab).
 *
 * Accepted: the loopback forms (localhost, 127.0.0.0/8, ::1), the bind address, the
 * names configured (listen.host, listen.httpAllowedHosts), and, when bound to a
 * wildcard address (0.0.0.0, ::), the IP addresses of this machine's interfaces: an
 * IP literal cannot be rebound, and a Kubernetes probe sends the pod IP as Host.
 * The port part is not compared: rebinding changes the name, not the port.
 */
import { isIP } from 'node:net';
import { networkInterfaces } from 'node:os';
import { isLoopbackHost } from '../../shared/net/loopback.ts';

export interface HostCheckOptions {
  /** The address the HTTP server binds. */
  bindHost: string;
  /** Further host names or IPs clients use (the coordinator's public name, an ingress name). */
  names?: readonly string[];
  /** This machine's interface addresses (tests replace it); default os.networkInterfaces(). */
  interfaceAddresses?: () => string[];
}

/** Returns whether a request's Host header names this server. */
export type HostCheck = (hostHeader: string | undefined) => boolean;

const WILDCARDS: ReadonlySet<string> = new Set(['0.0.0.0', '::', '0:0:0:0:0:0:0:0']);

export function hostChecker(opts: HostCheckOptions): HostCheck {
  const allowed = new Set([opts.bindHost, ...(opts.names ?? [])].map(normalizeName).filter((h): h is string => h !== undefined));
  const wildcard = WILDCARDS.has(normalizeName(opts.bindHost) ?? '');
  const interfaces = opts.interfaceAddresses ?? localAddresses;
  return (header) => {
    const host = hostOf(header);
    if (host === undefined) return false;
    if (isLoopbackHost(host) || allowed.has(host)) return true;
    // Re-read on each miss rather than once at start: an interface (a pod IP) may come later.
    return wildcard && isIP(host) !== 0 && interfaces().map(normalizeName).includes(host);
  };
}

/** The host part of a Host header ("name", "name:port", "[v6]", "[v6]:port"), normalized; undefined when malformed. */
export function hostOf(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  const h = header.trim();
  const m = /^\[([0-9a-fA-F:.]+)\](?::(\d{1,5}))?$/.exec(h) ?? /^([^:[\]]+)(?::(\d{1,5}))?$/.exec(h);
  if (!m) return undefined;
  return normalizeName(m[1]!);
}

/** Lowercase, no brackets, no trailing dot ("Example.ORG." and "example.org" are one name). */
function normalizeName(name: string): string | undefined {
  const n = name.trim().replace(/^\[|\]$/g, '').replace(/\.$/, '').toLowerCase();
  return n === '' ? undefined : n;
}

function localAddresses(): string[] {
  return Object.values(networkInterfaces()).flatMap((list) => (list ?? []).map((a) => a.address.replace(/%.*$/, '')));
}

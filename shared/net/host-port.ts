import { isIP } from 'node:net';

/** host:port, with IPv6 literals in brackets as gRPC targets and URLs need (`::1` alone bound nothing: "Name resolution failed for target dns:::1:31443"). */
export function hostPort(host: string, port: number): string {
  const h = host.replace(/^\[|\]$/g, '');
  return isIP(h) === 6 ? `[${h}]:${port}` : `${h}:${port}`;
}

/** The host part of a gRPC address (HOST:PORT, [IPv6]:PORT), without brackets. */
export function hostOfAddress(address: string): string {
  return /^\[(.*)\](?::\d+)?$/.exec(address)?.[1] ?? address.replace(/:\d+$/, '');
}

/**
 * What is wrong with a gRPC address a site dials (site.yaml coordinator.address), or undefined:
 * HOST:PORT, no scheme or path, a port in 1-65535, an IPv6 literal in brackets. A scheme, a path,
 * a missing or impossible port were retried for the whole connect window, then exit 1 (an outside try).
 */
export function addressProblem(address: string): string | undefined {
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(address)?.[1];
  if (scheme) return `has a scheme (${scheme}://): give HOST:PORT alone`;
  if (address !== address.trim()) return 'has spaces around it: give HOST:PORT alone';
  if (/[/?#]/.test(address)) return 'has a path: give HOST:PORT alone';
  const m = /^(\[[0-9a-fA-F:.]+\]|[^:[\]\s]+):(\d+)$/.exec(address);
  if (!m) {
    if (isIP(address) === 6) return 'is an IPv6 address without a port: give [ADDRESS]:PORT';
    // ::1:32443: an IPv6 address and a port cannot be told apart without brackets.
    const host = hostOfAddress(address);
    if (isIP(host) === 6) return `is an IPv6 address and a port without brackets: give [${host}]:${address.slice(host.length + 1)}`;
    return "has no port: give HOST:PORT (the manifest names the federation's gRPC port)";
  }
  const given = m[2]!;
  const port = Number(given);
  // 032443: read as 32443 by one tool and as octal or refused by another; say what is meant.
  if (/^0\d/.test(given) && port >= 1) return `has port ${given} with a leading zero: give ${port} if that is meant`;
  if (!(port >= 1 && port <= 65535)) return `has port ${given}, not in 1-65535`;
  return undefined;
}

import { isIP } from 'node:net';

/** host:port, with IPv6 literals in brackets as gRPC targets and URLs need (`::1` alone bound nothing: "Name resolution failed for target dns:::1:31443"). */
export function hostPort(host: string, port: number): string {
  const h = host.replace(/^\[|\]$/g, '');
  return isIP(h) === 6 ? `[${h}]:${port}` : `${h}:${port}`;
}

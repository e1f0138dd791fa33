import { createServer, type Server } from 'node:net';

/** A free loopback port (bind to 0, read it, release it), for files that must name a port up front. */
export async function freePort(): Promise<number> {
  return (await freePorts(1))[0]!;
}

/**
 * `n` distinct free loopback ports. All are held open until every one is read: two
 * freePort() calls in a row can get the same port back, since the OS may hand out a port
 * just released (seen in CI: a coordinator's gRPC and HTTP ports both 44443).
 */
export async function freePorts(n: number): Promise<number[]> {
  const servers: Server[] = [];
  try {
    const ports: number[] = [];
    for (let i = 0; i < n; i++) {
      const s = createServer();
      s.unref();
      servers.push(s);
      ports.push(
        await new Promise<number>((res, rej) => {
          s.on('error', rej);
          s.listen(0, '127.0.0.1', () => res((s.address() as { port: number }).port));
        }),
      );
    }
    return ports;
  } finally {
    await Promise.all(servers.map((s) => new Promise<void>((res) => (s.listening ? s.close(() => res()) : res()))));
  }
}

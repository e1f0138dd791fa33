/**
 * What gRPC says of a proxy on the way to the coordinator. It writes that to standard error
 * only, a raw line a second ("E Failed to connect to 127.0.0.1:33443 through proxy
 * 127.0.0.1:33128 with status 403", 800 lines over a connect window), while the site's own
 * messages said "No connection established" for a dead proxy, a refusing proxy and a coordinator
 * that is down alike (an outside try). Those lines are taken here: said once in the site's log,
 * in words, and kept for the next failure's message. Every other line goes out as gRPC writes it.
 */
import * as grpc from '@grpc/grpc-js';
import type { Logger } from '../shared/logger.ts';

const REFUSED = /Failed to connect to (\S+) through proxy (\S+) with status (\d+)/;
const UNREACHABLE = /Failed to connect to proxy (\S+) with error (.+)$/;

export class GrpcLogWatch {
  private failure: string | undefined;
  private readonly said = new Set<string>();

  constructor(private readonly log: Logger) {}

  /** From now on, gRPC's log lines pass through here (one logger per process: gRPC's). */
  install(): void {
    const line = (prefix: string) => (message?: unknown, ...rest: unknown[]) => this.line(prefix, String(message), rest);
    grpc.setLogger({ error: line('E'), info: line('I'), debug: line('D') });
  }

  /** The proxy's failure since the last call, in words; undefined when gRPC reported none. */
  takeProxyFailure(): string | undefined {
    const f = this.failure;
    this.failure = undefined;
    return f;
  }

  /** One line of gRPC's. */
  line(prefix: string, text: string, rest: unknown[] = []): void {
    const words = proxyWords(text);
    if (!words) return void console.error(`${prefix} ${text}`, ...rest);
    this.failure = words;
    if (this.said.has(words)) return;
    this.said.add(words);
    this.log.warn(words);
  }
}

/** gRPC's line about the proxy in words, or undefined when the line is not about it. */
export function proxyWords(text: string): string | undefined {
  const refused = REFUSED.exec(text);
  if (refused) {
    const [, target, proxy, status] = refused;
    const port = /:(\d+)$/.exec(target!)?.[1] ?? 'its port';
    return (
      `the proxy ${proxy} answered HTTP ${status} to CONNECT ${target}: it does not let this host through to the coordinator's port; ` +
      `ask for CONNECT to port ${port} to be allowed, or list the coordinator's host in no_grpc_proxy to reach it directly`
    );
  }
  const unreachable = UNREACHABLE.exec(text);
  if (unreachable) return `cannot connect to the proxy ${unreachable[1]} (${unreachable[2]!.trim()}): check the proxy variable (https_proxy, grpc_proxy) and that the proxy runs`;
  return undefined;
}

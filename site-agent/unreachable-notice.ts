/**
 * While a site cannot reach the coordinator it retries for up to connectTimeoutSeconds (600 s
 * by default). Its first failure is logged at once; after that, without this, it said nothing
 * until it gave up, and a wrong port or a kit from another provisioning run looked like a
 * site that hung. This says so again at warn level every UNREACHABLE_NOTICE_INTERVAL_MS,
 * naming the address, the last error and what to check. The notice keeps no clock (tests give
 * it times); `remind` asks it from a timer, so an attempt that hangs is covered too.
 */
import type { Logger } from '../shared/logger.ts';

/** How often a site that still cannot reach the coordinator says so again. */
export const UNREACHABLE_NOTICE_INTERVAL_MS = 60_000;
/** How often `remind` asks whether a notice is due: a tenth of the interval, so each comes on time. */
const REMIND_CHECK_MS = UNREACHABLE_NOTICE_INTERVAL_MS / 10;

/** What to check when the coordinator does not answer at all (refused, unreachable, timed out); connection-retry.ts's last words repeat it. */
export const CHECK_ADDRESS =
  'check coordinator.address in site.yaml (or the manifest\'s coordinator gRPC address), that the coordinator runs, ' +
  'and that the network lets this host reach that port (under systemd: the unit\'s IPAddressAllow=; through a proxy, https_proxy or grpc_proxy, ' +
  'that the proxy allows CONNECT to that port, or list the coordinator\'s host in no_grpc_proxy to bypass it)';
/** What to check when the port answers but the TLS handshake fails, where tls-hints.ts's tlsHint cannot tell more. */
export const CHECK_TLS =
  'check that this kit\'s tls/ folder comes from the same provisioning as the coordinator\'s ' +
  '(if not, ask the federation operator for this site\'s kit from the provisioning the coordinator runs)';

export class UnreachableNotice {
  /** When this outage began; undefined while the site is joined. */
  private since: number | undefined;
  private lastNotice = 0;
  private lastError = 'none yet (the first attempt has not answered)';
  /** The TLS failure's hint (tls-hints.ts's tlsHint), repeated instead of the address check; undefined when not TLS. */
  private tlsHint: string | undefined;

  constructor(
    readonly address: string,
    private readonly connectTimeoutSeconds: number,
    private readonly intervalMs = UNREACHABLE_NOTICE_INTERVAL_MS,
  ) {}

  /** An outage begins (start-up, a lost connection): the first notice is due one interval later. */
  begin(now: number): void {
    this.since = now;
    this.lastNotice = now;
  }

  /** An attempt failed (`tlsHint`: what to check, when it was the TLS handshake); an outage not yet begun begins now. */
  failed(now: number, error: string, tlsHint?: string): void {
    if (this.since === undefined) this.begin(now);
    this.lastError = error;
    this.tlsHint = tlsHint;
  }

  /** Joined: nothing more to say until the next outage. */
  reached(): void {
    this.since = undefined;
  }

  /** The notice to log at `now`, if one is due (at most one an interval). */
  due(now: number): string | undefined {
    if (this.since === undefined || now - this.lastNotice < this.intervalMs) return undefined;
    this.lastNotice = now;
    return (
      `still cannot reach the coordinator at ${this.address} after ${Math.round((now - this.since) / 1000)} s ` +
      `(last error: ${this.lastError}); retrying until connectTimeoutSeconds (${this.connectTimeoutSeconds} s): ` +
      (this.tlsHint ?? CHECK_ADDRESS)
    );
  }
}

/** Logs each notice as it falls due, from a timer that does not keep the process alive; returns its stop. */
export function remind(notice: UnreachableNotice, log: Logger): () => void {
  const timer = setInterval(() => {
    const text = notice.due(Date.now());
    if (text) log.warn(text, { address: notice.address });
  }, REMIND_CHECK_MS);
  timer.unref();
  return () => clearInterval(timer);
}

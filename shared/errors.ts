/** Named errors shared by every component; the CLI maps them to exit codes in one place. */

/** Bad user input (a file, a flag, a config field): exit code 2. `where` names the file/row/column/field. */
export class InputError extends Error {
  override name = 'InputError';
  /** Each fault on its own, uncapped: checks run together merge them into one message (shared/config/issues.ts). */
  readonly faults: readonly string[];
  constructor(message: string, options?: { cause?: unknown; faults?: readonly string[] }) {
    super(message, options);
    this.faults = options?.faults ?? [message];
  }
}

/** A message from a peer that fails verification (signature, replay, stale round, size, shape). */
export class ProtocolError extends Error {
  override name = 'ProtocolError';
  constructor(
    message: string,
    /** Machine-readable reason, also used for the gRPC status mapping and metrics labels. */
    readonly reason:
      | 'unknown-site'
      | 'bad-signature'
      | 'replay'
      | 'stale-round'
      | 'oversized'
      | 'malformed'
      | 'not-expected'
      | 'decrypt-failed'
      | 'already-connected'
      /** A count or an update outside what the site may claim (coordinator/result-bounds.ts). */
      | 'out-of-bounds'
      /** A stream that sent nothing within the frame deadline. */
      | 'timeout'
      /** The coordinator is at its limit of open streams or connections. */
      | 'busy'
      /** The TLS peer is not allowed, or is not who signed: told only PEER_REFUSED_MESSAGE, whichever. */
      | 'peer-refused'
      /** A site on another protocol version (another fedcausal release): it will be refused again until one side is upgraded. */
      | 'incompatible'
      /** A TLS handshake that failed (no certificate, or one of another federation's CA): the peer hears nothing, the coordinator logs and counts it. */
      | 'tls-handshake',
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** Exit codes, one table for the whole CLI (see ../shared/docs/INTERFACES.md). */
export const ExitCode = { ok: 0, failure: 1, badInput: 2 } as const;

export function exitCodeFor(err: unknown): number {
  return err instanceof InputError ? ExitCode.badInput : ExitCode.failure;
}

/** Errors of secure aggregation: a refusal of one message, or the end of the round. */

/** Why a party refused a message; also a metrics label once the protocol is wired into gRPC. */
export type SecAggRefusalReason =
  | 'bad-signature'
  | 'unknown-site'
  | 'misaddressed'
  | 'decrypt-failed'
  | 'double-request'
  | 'wrong-phase'
  | 'duplicate'
  | 'malformed';

/** One message was refused (forged, tampered, misrouted, or asking for what must not be revealed); the round may go on without it. */
export class SecAggRefusal extends Error {
  override name = 'SecAggRefusal';
  constructor(
    message: string,
    readonly reason: SecAggRefusalReason,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** The round cannot finish securely (too few sites left, a secret that cannot be rebuilt): no sum is released. */
export class SecAggAbort extends Error {
  override name = 'SecAggAbort';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

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
      /** A site whose schema.json is not the federation's: it will be refused again until its kit has the coordinator's schema. */
      | 'schema-mismatch'
      /** A TLS handshake that failed (no certificate, or one of another federation's CA): the peer hears nothing, the coordinator logs and counts it. */
      | 'tls-handshake'
      /** The coordinator cannot take messages now (its own disk failed, or it is stopping): the site retries, as when it is down. */
      | 'unavailable',
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** Exit codes, one table for the whole CLI (see ../shared/docs/INTERFACES.md). */
export const ExitCode = { ok: 0, failure: 1, badInput: 2 } as const;

export function exitCodeFor(err: unknown): number {
  return err instanceof InputError || (err instanceof StorageError && !err.restartable) ? ExitCode.badInput : ExitCode.failure;
}

/**
 * A fault of this host's own storage (a disk full, failing, read-only or gone; the state file
 * removed): no one's bad input and no peer's doing. The coordinator stops at its last
 * committed round, blaming no site, and exits 1, so a supervisor restarts it and it resumes
 * once the disk is back (an outside try: a full disk had every site's update refused as
 * "malformed" and burned 92 rounds in 4 s).
 */
export class StorageError extends Error {
  override name = 'StorageError';
  /**
   * False where a restart cannot help and a person must act first (the state file removed
   * under a running coordinator: a restart would start the run over): exit 2, which a
   * supervisor does not restart.
   */
  readonly restartable: boolean;
  constructor(message: string, options?: { cause?: unknown; restartable?: boolean }) {
    super(message, options);
    this.restartable = options?.restartable ?? true;
  }
}

/** errno codes of a file system that cannot store or read what it holds. */
const STORAGE_ERRNO = new Set(['ENOSPC', 'EDQUOT', 'EIO', 'EROFS', 'ENOENT', 'ENOTDIR', 'ESTALE', 'EFBIG']);

/** The process out of file descriptors: no disk's fault, and passing (a message refused, the run goes on). */
export function isDescriptorShortage(e: unknown): boolean {
  const code = (e as { code?: unknown } | null)?.code;
  return code === 'EMFILE' || code === 'ENFILE';
}

/** Whether `e` is a storage fault: a file-system errno above, or SQLite's full, I/O, read-only or can't-open errors. */
export function isStorageFault(e: unknown): boolean {
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === 'string' && (STORAGE_ERRNO.has(code) || /^SQLITE_(FULL|IOERR|READONLY|CANTOPEN)/.test(code));
}

/** `e` as a StorageError saying what could not be done where (`what`) and what to do (`remedy`); any other error as it is. */
export function asStorageError(e: unknown, what: string, remedy: string): unknown {
  if (e instanceof StorageError || !isStorageFault(e)) return e;
  return new StorageError(`${what} (${(e as Error).message.split('\n')[0]}): ${remedy}`, { cause: e });
}

import type { Logger } from '../shared/logger.ts';
import { createWinstonLogger } from '../shared/logging/winston.ts';
import { StorageError } from '../shared/errors.ts';
import { fstatSync, writeSync } from 'node:fs';

/** Results and tables go to stdout; logs go to stderr. */
export const out = (s: string): void => void process.stdout.write(s);

/**
 * Writes `s` to stdout and resolves once it is written; a failure (a full disk under `> file`)
 * is a StorageError, exit 1. Without it, scores cut short on a full disk exited 0, and
 * /dev/full ended in an uncaught error, exit 7 (an outside try).
 */
export function writeStdout(s: string): Promise<void> {
  // A file (`> scores.csv`): Node's stream for it keeps no count of a short write, and a full disk
  // cut the scores off without a word; written here, every byte is accounted for.
  const failure = (e: unknown) => new StorageError(`cannot write to standard output (${(e as Error).message}): free space on (or repair) the disk it goes to, or give --out`, { cause: e });
  try {
    if (fstatSync(1).isFile()) {
      const bytes = Buffer.from(s);
      for (let off = 0; off < bytes.length; ) off += writeSync(1, bytes, off, bytes.length - off);
      return Promise.resolve();
    }
  } catch (e) {
    // A closed standard output (`>&-`) is EBADF here.
    return Promise.reject(failure(e));
  }
  return new Promise((resolve, reject) => {
    const failed = (e: Error) => reject(failure(e));
    // Heard until the write is done: a failure comes to the callback and as an event.
    process.stdout.once('error', failed);
    try {
      process.stdout.write(s, (e) => {
        if (e) return failed(e);
        process.stdout.off('error', failed);
        resolve();
      });
    } catch (e) {
      failed(e as Error);
    }
  });
}

/**
 * The process logger, from the environment: FEDCAUSAL_LOG=json|pretty (default: pretty
 * on a terminal, JSON otherwise) and FEDCAUSAL_LOG_LEVEL (default info).
 */
export function cliLogger(env: NodeJS.ProcessEnv = process.env, level = 'info'): Logger {
  const pretty = env.FEDCAUSAL_LOG === 'pretty' || (env.FEDCAUSAL_LOG !== 'json' && process.stderr.isTTY);
  return createWinstonLogger({ format: pretty ? 'pretty' : 'json', level: env.FEDCAUSAL_LOG_LEVEL ?? level });
}

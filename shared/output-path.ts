/**
 * Checks and prepares where a command writes, before it does the work: a run that trains
 * for minutes must not fail at the end on a path it could have refused at once.
 * Folders are made one level at a time: Node's recursive mkdir loops forever under /proc.
 */
import { closeSync, existsSync, fchmodSync, fsyncSync, mkdirSync, openSync, readSync, realpathSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { basename, dirname, join, resolve } from 'node:path';
import { InputError, StorageError } from './errors.ts';

const why = (e: unknown): string => (e as NodeJS.ErrnoException).code ?? (e as Error).message;

/** A disk that is full or failing: a freed or repaired disk cures it, so it is not bad input (exit 1: a supervisor retries). */
const DISK_FAULTS = new Set(['ENOSPC', 'EDQUOT', 'EIO', 'ESTALE', 'EFBIG']);

/**
 * Makes `dir` and any missing parents (new ones with `mode`); a failure is bad input naming the
 * folder and the flag it came from, or a StorageError when the disk is full or failing.
 */
export function prepareOutputDir(dir: string, what: string, mode?: number): string {
  const abs = resolve(dir);
  const missing: string[] = [];
  for (let p = abs; !existsSync(p); p = dirname(p)) {
    missing.unshift(p);
    if (dirname(p) === p) break;
  }
  try {
    if (!missing.length && !statSync(abs).isDirectory()) throw new InputError(`${what} ${dir}: exists and is not a folder`);
    for (const p of missing) mkdirSync(p, mode);
    probe(join(abs, `.fedcausal-write-test-${process.pid}`));
  } catch (e) {
    if (e instanceof InputError) throw e;
    if (DISK_FAULTS.has(why(e))) throw new StorageError(`${what} ${dir}: cannot write there (${why(e)}): free space on (or repair) that disk and start again`, { cause: e });
    throw new InputError(`${what} ${dir}: cannot write there (${why(e)})`, { cause: e });
  }
  return abs;
}

/** Checks that the file `path` can be written (its folder is made if missing); an existing file is left as it is. */
export function checkOutputFile(path: string, what: string): string {
  const abs = resolve(path);
  try {
    prepareOutputDir(dirname(abs), 'folder');
  } catch (e) {
    throw new InputError(`${what} ${path}: ${(e as Error).message}`);
  }
  if (existsSync(abs) && statSync(abs).isDirectory()) throw new InputError(`${what} ${path}: is a folder; give a file name`);
  try {
    const existed = existsSync(abs);
    closeSync(openSync(abs, 'a'));
    if (!existed) rmSync(abs);
  } catch (e) {
    throw new InputError(`${what} ${path}: cannot write there (${why(e)})`);
  }
  return abs;
}

/** A new file written and flushed to the disk; 'wx': never through a file or link already in its place. `mode` exactly, not as the umask leaves it. */
export function writeDurably(path: string, data: string | Uint8Array, mode?: number): void {
  const fd = openNew(path, mode);
  try {
    writeFileSync(fd, data); // loops until all is written, unlike writeSync
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** A new file's descriptor ('wx'), with `mode` exactly where given; closed again (and, `removeOnFailure`, removed) if the mode cannot be set. */
function openNew(path: string, mode?: number, removeOnFailure = false): number {
  const fd = openSync(path, 'wx', mode);
  try {
    if (mode !== undefined) fchmodSync(fd, mode);
  } catch (e) {
    closeSync(fd);
    if (removeOnFailure) rmSync(path, { force: true });
    throw e;
  }
  return fd;
}

/**
 * `path` written whole or not at all: a hidden file of a random name beside it, flushed, then
 * renamed into place (a full disk leaves the old file, or none, never a cut-off one). Errors
 * are the file system's, for the caller to name.
 */
export function writeFileWhole(path: string, data: string | Uint8Array, mode = 0o600): void {
  const file = openFileWhole(path, mode);
  try {
    file.write(data);
    file.commit();
  } catch (e) {
    file.abort();
    throw e;
  }
}

/** A file written in parts, whole or not at all (writeFileWhole): `commit` puts it in place, `abort` leaves no trace. */
export interface WholeFile {
  write(data: string | Uint8Array): void;
  commit(): void;
  abort(): void;
}

export function openFileWhole(path: string, mode = 0o600): WholeFile {
  // Not named after `path`: a name near the 255-byte limit would not take a suffix.
  const partial = join(dirname(path), `.fedcausal-${randomBytes(6).toString('hex')}.partial`);
  let fd: number | undefined = openNew(partial, mode, true);
  const close = () => {
    if (fd !== undefined) closeSync(fd);
    fd = undefined;
  };
  return {
    write: (data) => writeFileSync(fd!, data), // loops until all is written, unlike writeSync
    commit: () => {
      fsyncSync(fd!);
      close();
      renameSync(partial, path);
    },
    abort: () => {
      try {
        close();
      } finally {
        rmSync(partial, { force: true });
      }
    },
  };
}

/** Creates and removes a file: mode bits alone do not say (root, read-only mounts, /proc). */
function probe(file: string): void {
  closeSync(openSync(file, 'wx'));
  rmSync(file);
}

/** Enough bytes for a PEM's first line: a key file is never read beyond that to check it. */
const PEM_HEAD_BYTES = 64;

/**
 * Refuses an existing, non-empty `path` that does not start with a PEM block of `label`
 * (e.g. "CERTIFICATE"): replacing an earlier output of the same kind is expected, while a
 * mistyped flag must not overwrite a private key, a manifest or a configuration.
 */
export function checkReplacesOnlyPem(path: string, label: string, what: string): void {
  if (!existsSync(path) || statSync(path).isDirectory()) return;
  const head = Buffer.alloc(PEM_HEAD_BYTES);
  const fd = openSync(path, 'r');
  let n: number;
  try {
    n = readSync(fd, head, 0, PEM_HEAD_BYTES, 0);
  } finally {
    closeSync(fd);
  }
  const start = head.subarray(0, n).toString('latin1').trimStart();
  if (start !== '' && !start.startsWith(`-----BEGIN ${label}-----`))
    throw new InputError(`${what} ${path}: exists and is not a ${label} PEM; refusing to overwrite it (give a file name of its own)`);
}

/** `path` with its folder's symbolic links resolved (the file itself may not exist yet), to compare paths. */
export function canonicalPath(path: string): string {
  const abs = resolve(path);
  return existsSync(dirname(abs)) ? join(realpathSync(dirname(abs)), basename(abs)) : abs;
}

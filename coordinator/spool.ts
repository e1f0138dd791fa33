import { closeSync, mkdirSync, mkdtempSync, openSync, readSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { asStorageError } from '../shared/errors.ts';
// The spool lives under stateDir: a fault of it is one of the state's disk, with the same remedy.
import { STATE_REMEDY } from './state/store.ts';

/**
 * Holds a received update's ciphertext chunks until the whole message has been
 * verified, so a site that fails mid-stream never touches the aggregate. The file
 * spool keeps coordinator memory flat (model-size, not sites x model-size); the
 * memory spool serves in-process simulation.
 */
export interface Spool {
  append(chunk: Uint8Array): void;
  chunks(): Iterable<Uint8Array>;
  dispose(): void;
}

export class MemorySpool implements Spool {
  private readonly parts: Uint8Array[] = [];
  append(chunk: Uint8Array): void {
    this.parts.push(chunk);
  }
  chunks(): Iterable<Uint8Array> {
    return this.parts;
  }
  dispose(): void {
    this.parts.length = 0;
  }
}

/**
 * A file-system fault of the spool as a StorageError (the coordinator's disk, not the
 * sending site: an outside try saw a full disk refuse every site's update as "malformed").
 */
function spooling<T>(what: string, path: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    throw asStorageError(e, `cannot ${what} ${path} (the coordinator's spool of received updates)`, STATE_REMEDY);
  }
}

export class FileSpool implements Spool {
  private static dir: string | undefined;
  private readonly path: string;
  private readonly fd: number;
  private readonly sizes: number[] = [];
  private disposed = false;

  constructor(name: string) {
    FileSpool.dir ??= mkdtempSync(join(tmpdir(), 'fedcausal-spool-'));
    const path = join(FileSpool.dir, `${name}-${process.hrtime.bigint()}`);
    this.path = path;
    this.fd = spooling('create', path, () => openSync(path, 'w+', 0o600));
  }
  append(chunk: Uint8Array): void {
    spooling('write', this.path, () => writeSync(this.fd, chunk));
    this.sizes.push(chunk.length);
  }
  *chunks(): Iterable<Uint8Array> {
    let pos = 0;
    for (const size of this.sizes) {
      const buf = new Uint8Array(size);
      spooling('read', this.path, () => readSync(this.fd, buf, 0, size, pos));
      pos += size;
      yield buf;
    }
  }
  /** Best effort and once: it runs where something already failed, and must not hide that failure behind its own (EBADF on a second close). */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    try {
      closeSync(this.fd);
    } catch {
      // The descriptor is gone either way.
    }
    try {
      rmSync(this.path, { force: true });
    } catch {
      // The next start empties the spool folder (useDir).
    }
  }
  /**
   * Spools under `dir` (the coordinator's state directory), emptied first: what a killed
   * coordinator left there is half-received updates nobody will ask for. Only the holder
   * of the state file's lock calls this, so no other coordinator is using the folder.
   */
  static useDir(dir: string): void {
    spooling('empty the folder', dir, () => {
      rmSync(dir, { recursive: true, force: true });
      mkdirSync(dir, { recursive: true, mode: 0o700 });
    });
    FileSpool.dir = dir;
  }

  /** Removes the spool folder at shutdown; best effort (the next start empties it), so that a failing disk's error is the one the run ends with. */
  static cleanup(): void {
    try {
      if (FileSpool.dir) rmSync(FileSpool.dir, { recursive: true, force: true });
    } catch {
      // Left for the next start's useDir.
    }
    FileSpool.dir = undefined;
  }
}

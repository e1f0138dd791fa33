/**
 * The state file as files: made private to this process's user, and guarded while the
 * coordinator runs. The file this process opened, removed or replaced under it, or written by
 * another process (a backup copied over it in place, which an outside try saw corrupt 171
 * committed rounds without a word), is a storage fault the coordinator stops on (exit 2: a
 * restart would start the run over), with the state it still holds open saved beside it.
 */
import { chmodSync, closeSync, existsSync, mkdirSync, openSync, rmSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { asStorageError, StorageError } from '../../shared/errors.ts';

/** What to do about a storage fault of the state. */
export const DISK_REMEDY = 'free space on (or repair) the disk that holds stateDir (coordinator.yaml)';
export const STATE_REMEDY = `${DISK_REMEDY}; the run stops at its last committed round, and a restart resumes it from there`;

/** The files of one SQLite database in WAL mode. */
const dbFiles = (path: string) => [path, `${path}-wal`, `${path}-shm`];

export const sizeOf = (path: string): number | undefined => (existsSync(path) ? statSync(path).size : undefined);

export class StateFileGuard {
  /** The file this process opened. */
  private readonly identity: { dev: number; ino: number };
  /** The file's size and modification time after this process's last write: a change between two of its writes is another process's. */
  private written: { size: number; mtimeMs: number };
  private rescued: string | undefined;

  /** `saveTo(path)` writes the state this process holds open to a new file (SQLite's VACUUM INTO). */
  constructor(
    readonly path: string,
    private readonly saveTo: (path: string) => void,
  ) {
    const st = statSync(path);
    this.identity = { dev: st.dev, ino: st.ino };
    this.written = { size: st.size, mtimeMs: st.mtimeMs };
  }

  /** Before a write: throws a StorageError where the file is not the one opened as this process left it. */
  check(): void {
    let st;
    try {
      st = statSync(this.path);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw asStorageError(e, `cannot read the coordinator state ${this.path}`, STATE_REMEDY);
      throw new StorageError(`the coordinator state ${this.path} was removed while the coordinator ran: ${this.rescue()}`, { cause: e, restartable: false });
    }
    if (st.ino !== this.identity.ino || st.dev !== this.identity.dev)
      throw new StorageError(`the coordinator state ${this.path} was replaced while the coordinator ran: ${this.rescue()}`, { restartable: false });
    if (st.size !== this.written.size || st.mtimeMs !== this.written.mtimeMs)
      throw new StorageError(`the coordinator state ${this.path} was written by another process while the coordinator ran (a copy over it?): ${this.rescue()}`, { restartable: false });
  }

  /** Remembers the file as this process left it (the checkpoints and SQLite's own ones change it). */
  noteWritten(): void {
    try {
      const st = statSync(this.path);
      this.written = { size: st.size, mtimeMs: st.mtimeMs };
    } catch {
      // Gone: the next write says so.
    }
  }

  /**
   * The state this process still holds open, saved beside where it was: the only copy left once
   * the file was removed (a restart would otherwise start the run over). Said with what to do;
   * the coordinator then stops with exit 2, for a person to choose. Once: the writes after the
   * first (message ids still coming in) would each save another copy.
   */
  private rescue(): string {
    return (this.rescued ??= this.saveOpenState());
  }

  private saveOpenState(): string {
    const saved = `${this.path}.recovered-${new Date().toISOString().replace(/[:.]/g, '-')}`;
    try {
      mkdirSync(dirname(saved), { recursive: true, mode: 0o700 });
      this.saveTo(saved);
      // As private as the state itself (VACUUM INTO creates it under the process's umask).
      chmodSync(saved, 0o600);
      return `its last committed state is saved as ${saved}: to resume the run, move that file to ${this.path} and start the coordinator; to start a new run, start it without`;
    } catch (e) {
      return `its last committed state could not be saved (${(e as Error).message}): restore ${this.path} from a backup to resume the run`;
    }
  }
}

/** A new state file, private to this process's user (its -wal and -shm files take its mode): the state holds every site's figures. */
export function create(path: string): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  for (const f of dbFiles(path)) rmSync(f, { force: true });
  try {
    closeSync(openSync(path, 'wx', 0o600));
  } catch (e) {
    throw asStorageError(e, `cannot create the coordinator state ${path}`, STATE_REMEDY);
  }
}

/** A state file restored or copied under a wider umask made private again (its -wal and -shm take its mode). */
export function private600(path: string): void {
  for (const f of dbFiles(path))
    try {
      if (existsSync(f) && (statSync(f).mode & 0o077) !== 0) chmodSync(f, 0o600);
    } catch {
      // Not ours to change (another owner): opening it says what is wrong, if anything.
    }
}

export function removeCreated(path: string): void {
  for (const f of dbFiles(path)) rmSync(f, { force: true });
}


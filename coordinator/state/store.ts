/**
 * The coordinator's durable state: one SQLite file (better-sqlite3) under its state
 * directory. Each committed round is one transaction, so a kill -9 at any moment leaves
 * either the previous round or this one, never half of it; a restart resumes from there.
 *
 * The file is the federation's, not a cache: a corrupt one, one from another federation
 * or configuration, or one written by a newer format is refused with a message, never
 * overwritten. An exclusive lock keeps a second coordinator off the same file.
 *
 * A fault of the disk under it (full, failing, read-only, the file removed) is a StorageError,
 * never a site's fault nor a reason to move the file away: the run stops at its last committed
 * round and a restart resumes it once the disk is back. The WAL is checkpointed into the file
 * after each commit, so a copy of coordinator.sqlite alone, taken between rounds, is a whole
 * backup (an outside try restored the file alone and found it empty: the rounds were in -wal).
 */
import Database from 'better-sqlite3';
import { existsSync } from 'node:fs';
import { asStorageError, InputError, isStorageFault, StorageError } from '../../shared/errors.ts';
import { create, DISK_REMEDY, private600, removeCreated, sizeOf, STATE_REMEDY, StateFileGuard } from './state-file.ts';

export { STATE_REMEDY } from './state-file.ts';

/** 'FCS1': marks the file as a fedcausal coordinator state (PRAGMA application_id). */
const APPLICATION_ID = 0x46435331;
/** Bumped on any incompatible change to the tables below (PRAGMA user_version). */
export const STATE_FORMAT = 1;

const TABLES = `
  CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
  CREATE TABLE IF NOT EXISTS setup (id INTEGER PRIMARY KEY CHECK (id = 1), json TEXT NOT NULL, global BLOB NOT NULL);
  CREATE TABLE IF NOT EXISTS checkpoint (
    id INTEGER PRIMARY KEY CHECK (id = 1), round INTEGER NOT NULL, global BLOB NOT NULL,
    strategy BLOB, loop TEXT NOT NULL);
  CREATE TABLE IF NOT EXISTS rounds (round INTEGER PRIMARY KEY, record TEXT NOT NULL);
  CREATE TABLE IF NOT EXISTS replay (message_id TEXT PRIMARY KEY, created_at INTEGER NOT NULL);
`;

/** What the statistics rounds agreed (feature space, prior, decision...): JSON, opaque here. */
export type SetupState = Record<string, unknown>;

/** One committed round: the record for the history plus everything the next round starts from. */
export interface RoundCommit {
  round: number;
  record: unknown;
  global: Float32Array;
  /** The strategy's own state (server optimizer moments), if it keeps any. */
  strategy?: Uint8Array;
  /** The loop's small state (debiasing monitor, site membership): JSON. */
  loop: Record<string, unknown>;
}

export interface SavedState {
  setup: SetupState;
  /** The initial global model (round 0) when no round is committed yet. */
  global: Float32Array;
  round: number;
  strategy?: Uint8Array;
  loop: Record<string, unknown>;
  history: unknown[];
  finished?: { at: string; results: string };
}

export class CoordinatorStore {
  /** The file is still the one opened, written by this process alone (state-file.ts). */
  private readonly guard: StateFileGuard;

  private constructor(
    private readonly db: Database.Database,
    readonly path: string,
  ) {
    this.guard = new StateFileGuard(path, (to) => void this.db.prepare('VACUUM INTO ?').run(to));
  }

  /**
   * Opens (or creates) the state file for `federation` with configuration `fingerprint`.
   * Throws InputError naming the file and what to do when it cannot be used.
   */
  static open(path: string, federation: string, fingerprint: string, parts: Record<string, string> = {}, legacy?: ConfigIdentity): CoordinatorStore {
    const fresh = !existsSync(path);
    // An empty file holds no run: most likely a copy or restore that did not complete, so it is
    // said, not silently started over (the operator meant to resume something).
    if (!fresh && sizeOf(path) === 0 && !sizeOf(`${path}-wal`))
      throw new InputError(`coordinator state ${path} is empty (0 bytes): it holds no run to resume (a copy or restore that did not complete?); put a whole copy in its place to resume, or delete it to start a new run`);
    if (fresh) create(path);
    else private600(path);
    const refuse = (why: string): never => {
      throw new InputError(`coordinator state ${path} ${why}; it is left as it is (move it away to start a new run)`);
    };
    // Anything SQLite says while opening or checking: the file is in use or is not ours to read.
    const unusable = (e: unknown): never => {
      if (e instanceof InputError) throw e;
      if ((e as { code?: string }).code === 'SQLITE_BUSY')
        throw new InputError(`coordinator state ${path} is in use by another coordinator process (it holds the file for as long as it runs): stop that one first; two coordinators on one state would interleave two runs`);
      if (nativeModuleMissing(e)) throw new InputError(nativeModuleText(path, e as Error), { cause: e });
      // A full or failing disk is not the file's fault: keep it, and say to start again once the disk is back.
      if (fresh ? isStorageFault(e) : openFault(e))
        throw new StorageError(
          fresh
            ? `cannot create the coordinator state ${path} (${(e as Error).message}): ${DISK_REMEDY} and start again`
            : `cannot open the coordinator state ${path} (${(e as Error).message}): it is kept as it is; ${DISK_REMEDY} and start again: the run resumes from its last committed round`,
          { cause: e },
        );
      return refuse(`cannot be read as a coordinator state file (${(e as Error).message})`);
    };
    let db: Database.Database;
    try {
      db = new Database(path, { fileMustExist: true, timeout: 1000 });
      // A second coordinator on the same file would interleave two runs: hold the lock for life.
      db.pragma('locking_mode = EXCLUSIVE');
      db.pragma('journal_mode = WAL');
      // FULL: a committed round survives a power cut, not only a process kill.
      db.pragma('synchronous = FULL');
      if (!fresh) {
        const check = db.pragma('quick_check', { simple: true });
        if (check !== 'ok') refuse(`is corrupt (${String(check)})`);
      }
    } catch (e) {
      if (fresh) removeCreated(path);
      return unusable(e);
    }
    const store = new CoordinatorStore(db, path);
    try {
      if (fresh) store.init(federation, fingerprint, parts);
      else store.checkOwnership(federation, { fingerprint, parts }, legacy, refuse);
      store.checkpoint();
      store.guard.noteWritten();
    } catch (e) {
      db.close();
      // What a failed first start created holds nothing: left, it refused every later start.
      if (fresh) removeCreated(path);
      unusable(e);
    }
    return store;
  }

  /** A write to the state, or a StorageError naming the file and what to do; first, the file is checked to be the one opened. */
  private write<T>(what: string, fn: () => T): T {
    this.guard.check();
    try {
      return fn();
    } catch (e) {
      throw asStorageError(e, `cannot ${what} in the coordinator state ${this.path}`, STATE_REMEDY);
    } finally {
      this.guard.noteWritten();
    }
  }

  /** Moves what the WAL holds into the file itself (the file alone is then the whole state). */
  private checkpoint(): void {
    this.db.pragma('wal_checkpoint(TRUNCATE)');
  }

  private init(federation: string, fingerprint: string, parts: Record<string, string>): void {
    this.db.transaction(() => {
      this.db.pragma(`application_id = ${APPLICATION_ID}`);
      this.db.pragma(`user_version = ${STATE_FORMAT}`);
      this.db.exec(TABLES);
      const put = this.db.prepare('INSERT INTO meta (key, value) VALUES (?, ?)');
      put.run('federation', federation);
      put.run('fingerprint', fingerprint);
      if (Object.keys(parts).length) put.run('fingerprintParts', JSON.stringify(parts));
      put.run('fingerprintForm', FINGERPRINT_FORM);
      put.run('created', new Date().toISOString());
    })();
  }

  /** `legacy`: the configuration as builds before FINGERPRINT_FORM fingerprinted it, for a state file one of them wrote. */
  private checkOwnership(federation: string, current: ConfigIdentity, legacy: ConfigIdentity | undefined, refuse: (why: string) => never): void {
    const app = this.db.pragma('application_id', { simple: true }) as number;
    if (app !== APPLICATION_ID) refuse('is not a fedcausal coordinator state file');
    const format = this.db.pragma('user_version', { simple: true }) as number;
    if (format > STATE_FORMAT) refuse(`was written by a newer fedcausal (state format ${format}, this one reads up to ${STATE_FORMAT})`);
    if (format < STATE_FORMAT) refuse(`has state format ${format}, which this fedcausal no longer reads (format ${STATE_FORMAT})`);
    const meta = new Map((this.db.prepare('SELECT key, value FROM meta').all() as { key: string; value: string }[]).map((r) => [r.key, r.value]));
    if (meta.get('federation') !== federation) refuse(`belongs to federation "${meta.get('federation')}", not "${federation}"`);
    const { fingerprint, parts } = meta.get('fingerprintForm') === FINGERPRINT_FORM ? current : (legacy ?? current);
    if (meta.get('fingerprint') !== fingerprint) {
      const changed = changedParts(meta.get('fingerprintParts'), parts);
      refuse(
        `was written with a different configuration (${changed.length ? `${changed.join(', ')} changed since` : 'model, strategy, seed, schema or sites changed since'}), ` +
          'so the run cannot resume under this one: put the configuration back to resume it',
      );
    }
    // Takes the exclusive lock now, so a second coordinator fails here rather than at its first commit.
    this.db.prepare("INSERT OR REPLACE INTO meta (key, value) VALUES ('opened', ?)").run(new Date().toISOString());
  }

  /** The state to resume from, or undefined when the statistics rounds never completed. */
  load(): SavedState | undefined {
    const setup = this.db.prepare('SELECT json, global FROM setup WHERE id = 1').get() as { json: string; global: Buffer } | undefined;
    if (!setup) return undefined;
    const cp = this.db.prepare('SELECT round, global, strategy, loop FROM checkpoint WHERE id = 1').get() as
      | { round: number; global: Buffer; strategy: Buffer | null; loop: string }
      | undefined;
    const history = (this.db.prepare('SELECT record FROM rounds ORDER BY round').all() as { record: string }[]).map((r) => JSON.parse(r.record) as unknown);
    const finished = this.finished();
    return {
      setup: JSON.parse(setup.json) as SetupState,
      global: floats(cp?.global ?? setup.global),
      round: cp?.round ?? 0,
      ...(cp?.strategy ? { strategy: new Uint8Array(cp.strategy) } : {}),
      loop: cp ? (JSON.parse(cp.loop) as Record<string, unknown>) : {},
      history,
      ...(finished ? { finished } : {}),
    };
  }

  /** Records what the statistics rounds agreed and the initial model: round 0. */
  commitSetup(setup: SetupState, global: Float32Array): void {
    this.write('save the agreed setup', () => {
      this.db.prepare('INSERT OR REPLACE INTO setup (id, json, global) VALUES (1, ?, ?)').run(JSON.stringify(setup), bytes(global));
      this.checkpoint();
    });
  }

  /** One round, all or nothing. */
  commitRound(c: RoundCommit): void {
    this.write(`commit round ${c.round}`, () => {
      this.db.transaction(() => {
        this.db.prepare('INSERT OR REPLACE INTO rounds (round, record) VALUES (?, ?)').run(c.round, JSON.stringify(c.record));
        this.db
          .prepare('INSERT OR REPLACE INTO checkpoint (id, round, global, strategy, loop) VALUES (1, ?, ?, ?, ?)')
          .run(c.round, bytes(c.global), c.strategy ? Buffer.from(c.strategy) : null, JSON.stringify(c.loop));
      })();
      this.checkpoint();
    });
  }

  /** When and where the run finished, if it did: read alone, without the model and history. */
  finished(): { at: string; results: string } | undefined {
    const f = this.meta('finished');
    return f ? (JSON.parse(f) as { at: string; results: string }) : undefined;
  }

  /** Marks the run finished (its report written): a restart then says so instead of running again. */
  finish(results: string): void {
    this.write('mark the run finished', () => {
      this.db.prepare("INSERT OR REPLACE INTO meta (key, value) VALUES ('finished', ?)").run(JSON.stringify({ at: new Date().toISOString(), results }));
      this.checkpoint();
    });
  }

  /** The sites of this federation's first decoded secure statistics sum: every later one must be over the same, across restarts. */
  statsSumSites(): string[] | undefined {
    const v = this.meta('statsSumSites');
    return v ? (JSON.parse(v) as string[]) : undefined;
  }
  rememberStatsSumSites(sites: readonly string[]): void {
    this.write('save the sites of the statistics sum', () => this.db.prepare("INSERT OR REPLACE INTO meta (key, value) VALUES ('statsSumSites', ?)").run(JSON.stringify([...sites].sort())));
  }

  /** Message ids seen within the replay window, so a restart cannot be used to replay them. */
  rememberMessage(id: string, createdAt: number): void {
    this.write('save a message id (replay guard)', () => this.db.prepare('INSERT OR IGNORE INTO replay (message_id, created_at) VALUES (?, ?)').run(id, createdAt));
  }
  seenMessages(since: number): [string, number][] {
    return (this.db.prepare('SELECT message_id, created_at FROM replay WHERE created_at >= ?').all(since) as { message_id: string; created_at: number }[]).map((r) => [r.message_id, r.created_at]);
  }
  forgetMessagesBefore(createdAt: number): void {
    this.write('forget old message ids', () => this.db.prepare('DELETE FROM replay WHERE created_at < ?').run(createdAt));
  }

  private meta(key: string): string | undefined {
    return (this.db.prepare('SELECT value FROM meta WHERE key = ?').get(key) as { value: string } | undefined)?.value;
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}

/**
 * A fault opening an existing state that a freed or repaired disk ends: the file is not to blame.
 * (Creating one, every storage fault is the disk's: SQLite says "unable to open" when no inode is
 * left for its log.)
 */
function openFault(e: unknown): boolean {
  const code = String((e as { code?: unknown }).code);
  return isStorageFault(e) && !code.startsWith('SQLITE_CANTOPEN') && !code.startsWith('SQLITE_READONLY');
}

function bytes(a: Float32Array): Buffer {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength);
}

function floats(b: Buffer): Float32Array {
  // Copy: the Buffer may sit at an offset not aligned for Float32Array.
  const out = new Float32Array(b.byteLength / 4);
  new Uint8Array(out.buffer).set(b);
  return out;
}

/** A configuration as a state file records it: its fingerprint, and each part's, to name what changed. */
export interface ConfigIdentity {
  fingerprint: string;
  parts: Record<string, string>;
}

/**
 * How the fingerprint of a state file written by this build was made: over canonical JSON (keys
 * sorted, a set's members sorted), so reordering coordinator.yaml's keys is no other configuration
 * (it refused to resume: "model, strategy changed since"). Files without it were written over
 * the keys in written order, and are compared so.
 */
const FINGERPRINT_FORM = 'canonical-1';

/** The parts whose hashes differ between the saved run and this configuration (none known: a state file written before parts were kept). */
function changedParts(saved: string | undefined, parts: Record<string, string>): string[] {
  if (!saved) return [];
  let old: Record<string, string>;
  try {
    old = JSON.parse(saved) as Record<string, string>;
  } catch {
    return [];
  }
  const changed = [...new Set([...Object.keys(old), ...Object.keys(parts)])].filter((k) => old[k] !== parts[k]);
  // A setting's own part (`model.hiddenDim`) is compared only with a state that kept such parts (an older one kept `model` alone).
  const finer = (k: string) => k.includes('.');
  const keptFiner = (top: string) => Object.keys(old).some((k) => k.startsWith(`${top}.`));
  const named = changed.filter((k) => !finer(k) || keptFiner(k.split('.')[0]!));
  // Where a setting is named, its part's name adds nothing.
  return named.filter((k) => finer(k) || !named.some((n) => n.startsWith(`${k}.`))).sort();
}

/** better-sqlite3's native module missing or built for another Node: not the state file's fault. */
export function nativeModuleMissing(e: unknown): boolean {
  const code = (e as { code?: string }).code;
  return code === 'ERR_DLOPEN_FAILED' || /bindings file|NODE_MODULE_VERSION|better_sqlite3\.node/.test(String((e as Error).message));
}

function nativeModuleText(path: string, e: Error): string {
  return (
    `cannot open the coordinator state ${path}: the SQLite module (better-sqlite3) cannot be loaded on this host (${e.message.split('\n')[0]}). ` +
    'It is a native module built for one Node version: run `npm rebuild better-sqlite3` in the fedcausal install folder (it needs g++, make and python3), see docs/deploy-coordinator.md'
  );
}

import { closeSync, mkdirSync, mkdtempSync, openSync, readSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

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

export class FileSpool implements Spool {
  private static dir: string | undefined;
  private readonly path: string;
  private readonly fd: number;
  private readonly sizes: number[] = [];

  constructor(name: string) {
    FileSpool.dir ??= mkdtempSync(join(tmpdir(), 'fedcausal-spool-'));
    this.path = join(FileSpool.dir, `${name}-${process.hrtime.bigint()}`);
    this.fd = openSync(this.path, 'w+', 0o600);
  }
  append(chunk: Uint8Array): void {
    writeSync(this.fd, chunk);
    this.sizes.push(chunk.length);
  }
  *chunks(): Iterable<Uint8Array> {
    let pos = 0;
    for (const size of this.sizes) {
      const buf = new Uint8Array(size);
      readSync(this.fd, buf, 0, size, pos);
      pos += size;
      yield buf;
    }
  }
  dispose(): void {
    closeSync(this.fd);
    rmSync(this.path, { force: true });
  }
  /**
   * Spools under `dir` (the coordinator's state directory), emptied first: what a killed
   * coordinator left there is half-received updates nobody will ask for. Only the holder
   * of the state file's lock calls this, so no other coordinator is using the folder.
   */
  static useDir(dir: string): void {
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    FileSpool.dir = dir;
  }

  /** Removes the spool folder at shutdown. */
  static cleanup(): void {
    if (FileSpool.dir) rmSync(FileSpool.dir, { recursive: true, force: true });
    FileSpool.dir = undefined;
  }
}

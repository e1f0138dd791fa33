import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileSpool } from '../../coordinator/spool.ts';
import { StorageError } from '../../shared/errors.ts';

test('a spool folder under the state directory starts empty: a killed coordinator\'s leftovers go', () => {
  const state = mkdtempSync(join(tmpdir(), 'fedcausal-spool-test-'));
  try {
    const dir = join(state, 'spool');
    mkdirSync(dir);
    writeFileSync(join(dir, 'cleveland-123'), 'half an update');
    FileSpool.useDir(dir);
    assert.deepEqual(readdirSync(dir), []);
    const s = new FileSpool('va');
    s.append(Uint8Array.from([1, 2, 3]));
    s.append(Uint8Array.from([4]));
    assert.deepEqual([...s.chunks()].map((c) => [...c]), [[1, 2, 3], [4]]);
    assert.equal(readdirSync(dir).length, 1);
    s.dispose();
    assert.deepEqual(readdirSync(dir), []);
    FileSpool.cleanup();
    assert.equal(existsSync(dir), false);
  } finally {
    rmSync(state, { recursive: true, force: true });
  }
});

test("the spool's folder gone (its disk's fault): a StorageError naming the file and the remedy; disposing twice and cleaning up after it throw nothing", () => {
  const state = mkdtempSync(join(tmpdir(), 'fedcausal-spool-test-'));
  try {
    const dir = join(state, 'spool');
    FileSpool.useDir(dir);
    const held = new FileSpool('a');
    held.append(Uint8Array.from([1]));
    rmSync(dir, { recursive: true, force: true });
    assert.throws(() => new FileSpool('b'), (e: unknown) => e instanceof StorageError && e.message.includes(join(dir, 'b-')) && /ENOENT/.test(e.message) && /free space on \(or repair\) the disk that holds stateDir/.test(e.message));
    held.dispose();
    held.dispose();
    FileSpool.cleanup();
  } finally {
    rmSync(state, { recursive: true, force: true });
  }
});

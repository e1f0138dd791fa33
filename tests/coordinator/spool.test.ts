import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileSpool } from '../../coordinator/spool.ts';

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

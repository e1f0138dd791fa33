import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { provisionFederation } from '../../cli/provision.ts';
import { tempDir, federationYaml } from './provision-helpers.ts';

test('under umask 000 every kit file is 0600 (start.sh 0700) and every folder 0700', async (t) => {
  const dir = tempDir(t);
  const before = process.umask(0o000);
  t.after(() => process.umask(before));
  const out = join(dir, 'out');
  await provisionFederation(federationYaml(dir), out);
  const entries = readdirSync(out, { recursive: true, withFileTypes: true });
  assert.ok(entries.length > 20, 'the whole federation was walked');
  assert.equal(statSync(out).mode & 0o777, 0o700, 'DIR itself');
  for (const e of entries) {
    const path = join(e.parentPath, e.name);
    const mode = statSync(path).mode & 0o777;
    const want = e.isDirectory() ? 0o700 : e.name === 'start.sh' ? 0o700 : 0o600;
    assert.equal(mode.toString(8), want.toString(8), path);
  }
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { accessHint } from '../../shared/access-hint.ts';

const denied = Object.assign(new Error('EACCES: permission denied'), { code: 'EACCES' });

function kit(t: { after: (fn: () => void) => void }): { root: string; file: string } {
  const root = mkdtempSync(join(tmpdir(), 'fedcausal-access-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  chmodSync(root, 0o755); // mkdtemp makes it 0700: the folder under test is the kit's
  const dir = join(root, 'kit');
  mkdirSync(dir, { mode: 0o700 });
  chmodSync(dir, 0o700);
  const file = join(dir, 'site.yaml');
  writeFileSync(file, 'site: a\n', { mode: 0o600 });
  chmodSync(file, 0o600);
  return { root, file };
}

// Ids that own nothing here: the hint is computed from the modes, whoever runs the test.
const stranger = { uid: 54321, gid: 54321, groups: [] };

test('a refused read names the uid and the first folder on the path it may not enter', (t) => {
  const { root, file } = kit(t);
  const hint = accessHint(file, denied, stranger);
  const st = statSync(join(root, 'kit'));
  assert.match(hint, /^; this process runs as uid 54321, gid 54321, which may not enter the folder /);
  assert.ok(hint.includes(`${join(root, 'kit')} (owner uid ${st.uid}, gid ${st.gid}, mode 0700)`), hint);
  assert.match(hint, /run as uid 999/);
});

test('with the folder open, the hint gives the file\'s owner and mode', (t) => {
  const { root, file } = kit(t);
  chmodSync(join(root, 'kit'), 0o755);
  const hint = accessHint(file, denied, stranger);
  assert.match(hint, /, and the file is owner uid \d+, gid \d+, mode 0600: make it readable by that uid/);
});

test('a folder open to the group lets in a member of it', (t) => {
  const { root, file } = kit(t);
  const st = statSync(join(root, 'kit'));
  chmodSync(join(root, 'kit'), 0o710);
  assert.match(accessHint(file, denied, { uid: 54321, gid: 54321, groups: [st.gid] }), /the file is owner/);
  assert.match(accessHint(file, denied, stranger), /may not enter the folder/);
});

test('no hint for other errors', () => {
  assert.equal(accessHint('/nowhere/site.yaml', Object.assign(new Error('gone'), { code: 'ENOENT' }), stranger), '');
  assert.equal(accessHint('/nowhere/site.yaml', new Error('no code'), stranger), '');
  assert.equal(accessHint('/nowhere/site.yaml', undefined, stranger), '');
});

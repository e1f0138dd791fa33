import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InputError } from '../../../shared/errors.ts';
import { generateIdentity, readIdentityFile, writeIdentityFile } from '../../../shared/crypto/keys.ts';
import { checkKeyFileMode, readKeyPem } from '../../../shared/crypto/key-file-mode.ts';
import { loadSiteTls } from '../../../shared/pki/kit-tls.ts';

function temp(t: { after(f: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'fedcausal-keymode-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test('an identity file open to others is refused, naming the file, its mode and the fix; 0640 still loads', (t) => {
  const path = join(temp(t), 'identity.json');
  writeIdentityFile(path, generateIdentity());
  chmodSync(path, 0o644);
  assert.throws(
    () => readIdentityFile(path),
    (e: unknown) => e instanceof InputError && e.message === `identity file ${path} has mode 0644, which lets other users of this host access it; refusing to load it. Fix it with: chmod 600 ${path}`,
  );
  chmodSync(path, 0o601);
  assert.throws(() => readIdentityFile(path), /mode 0601/);
  chmodSync(path, 0o640); // group access is the operator's choice; only "others" is refused
  assert.ok(readIdentityFile(path).signing.publicKey.length === 32);
});

test('a TLS private key open to others is refused', (t) => {
  const path = join(temp(t), 'client.key.pem');
  writeFileSync(path, 'x', { mode: 0o600 });
  assert.equal(readKeyPem(path), 'x');
  chmodSync(path, 0o604);
  assert.throws(() => readKeyPem(path), (e: unknown) => e instanceof InputError && /client\.key\.pem has mode 0604.*chmod 600/.test(e.message));
});

test('a kit without tls/ is refused with the missing file named and a hint to re-provision', (t) => {
  const kit = temp(t);
  const config = join(kit, 'site.yaml');
  assert.throws(
    () => loadSiteTls(config),
    (e: unknown) => e instanceof InputError && e.message.startsWith(`${join(kit, 'tls')} is missing: there is no tls/ folder beside ${config}`) && /re-provision the federation/.test(e.message),
  );
});

test('a missing secret file says how to get it back: a key from a backup (no one else holds it), a token from the coordinator kit', () => {
  const dir = mkdtempSync(join(tmpdir(), 'fedcausal-missing-'));
  try {
    assert.throws(() => checkKeyFileMode(join(dir, 'identity.json'), 'identity file'), /identity file .*identity\.json is missing: put it back beside the config from a backup; no one else holds a copy/);
    assert.throws(() => checkKeyFileMode(join(dir, 'tok'), 'HTTP token file'), /HTTP token file .*tok is missing: pass the coordinator kit's http-token/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

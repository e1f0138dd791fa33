import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InputError } from '../../../shared/errors.ts';
import { bearerMatches, clientHttpToken, loadKitHttpToken, newHttpToken, readTokenFile } from '../../../shared/net/http-token.ts';

test('bearerMatches: only "Bearer <the token>"', () => {
  const token = newHttpToken();
  assert.ok(token.length >= 40);
  assert.notEqual(newHttpToken(), token);
  assert.equal(bearerMatches(`Bearer ${token}`, token), true);
  assert.equal(bearerMatches(`bearer ${token}`, token), true);
  for (const h of [undefined, '', token, `Bearer ${token}x`, `Bearer ${token.slice(1)}`, `Basic ${token}`, 'Bearer '])
    assert.equal(bearerMatches(h, token), false, String(h));
  // Same length, one character off, anywhere: refused (a comparison of lengths alone passed every other test).
  for (const i of [0, Math.floor(token.length / 2), token.length - 1]) {
    const other = token.slice(0, i) + (token[i] === 'A' ? 'B' : 'A') + token.slice(i + 1);
    assert.equal(bearerMatches(`Bearer ${other}`, token), false, `character ${i} changed`);
  }
  assert.equal(bearerMatches(`Bearer ${token} extra`, token), false, 'the token with more after it');
  assert.equal(bearerMatches(`Basic Bearer ${token}`, token), false, 'the scheme first, not inside');
});

test('a token file holding too short a token is refused', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'fedcausal-token-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'http-token');
  writeFileSync(file, 'short-token\n', { mode: 0o600 });
  assert.throws(() => readTokenFile(file), (e: unknown) => e instanceof InputError && e.message === `${file}: not an HTTP token (expected the line provision wrote)`);
});

test('token files: read from the kit, refused when others may read them or when absent', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'fedcausal-token-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const config = join(dir, 'coordinator.yaml');
  assert.throws(() => loadKitHttpToken(config), (e: unknown) => e instanceof InputError && /http-token is missing: .* Write a new one there \(openssl rand -hex 32 > .*http-token; chmod 600 .*\) and restart the coordinator/.test(e.message));
  const file = join(dir, 'http-token');
  writeFileSync(file, 'x'.repeat(43) + '\n', { mode: 0o600 });
  chmodSync(file, 0o600);
  assert.equal(loadKitHttpToken(config), 'x'.repeat(43));
  chmodSync(file, 0o644);
  assert.throws(
    () => readTokenFile(file),
    (e: unknown) =>
      e instanceof InputError &&
      e.message === `HTTP token file ${file} has mode 0644, which lets other users of this host access it; refusing to load it. Fix it with: chmod 600 ${file}`,
  );
  chmodSync(file, 0o600);
  assert.equal(clientHttpToken(file, {}), 'x'.repeat(43));
  assert.equal(clientHttpToken(undefined, { FEDCAUSAL_HTTP_TOKEN: ' from-env ' }), 'from-env');
  assert.equal(clientHttpToken(undefined, {}), undefined);
});

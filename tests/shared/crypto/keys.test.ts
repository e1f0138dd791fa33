import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import nacl from 'tweetnacl';
import { InputError } from '../../../shared/errors.ts';
import {
  decodeKey,
  encodeKey,
  fingerprint,
  generateIdentity,
  publicIdentity,
  readIdentityFile,
  writeIdentityFile,
} from '../../../shared/crypto/keys.ts';

function tempDir(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'fedcausal-keys-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function assertInputError(fn: () => unknown, ...mentions: string[]): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof InputError, `expected InputError, got ${String(err)}`);
    for (const m of mentions) assert.ok(err.message.includes(m), `message ${JSON.stringify(err.message)} should mention ${m}`);
    return true;
  });
}

test('generateIdentity makes working Ed25519 and X25519 key pairs', () => {
  const id = generateIdentity();
  assert.equal(id.signing.publicKey.length, 32);
  assert.equal(id.signing.secretKey.length, 64);
  assert.equal(id.box.publicKey.length, 32);
  assert.equal(id.box.secretKey.length, 32);
  const msg = new TextEncoder().encode('hello');
  assert.ok(nacl.sign.detached.verify(msg, nacl.sign.detached(msg, id.signing.secretKey), id.signing.publicKey));
  assert.deepEqual(nacl.scalarMult.base(id.box.secretKey), id.box.publicKey);
  assert.notDeepEqual(generateIdentity().signing.publicKey, id.signing.publicKey);
});

test('encodeKey/decodeKey round-trip, including views into larger buffers', () => {
  const big = new Uint8Array(40).map((_, i) => i);
  const view = big.subarray(4, 36);
  const s = encodeKey(view);
  assert.equal(s, Buffer.from(big.slice(4, 36)).toString('base64'));
  const back = decodeKey(s, 32, 'key');
  assert.deepEqual([...back], [...view]);
  assert.equal(back.byteOffset, 0);
  assert.equal(back.buffer.byteLength, 32);
  assert.deepEqual([...decodeKey(` ${s}\n`, 32, 'key')], [...view]); // stray whitespace from env vars/files
});

test('decodeKey rejects bad input naming what it was, without echoing the value', () => {
  const good = encodeKey(new Uint8Array(32).fill(7));
  assertInputError(() => decodeKey('not base64!!', 32, 'sites[2].signingPublicKey'), 'sites[2].signingPublicKey', 'not valid base64');
  assertInputError(() => decodeKey(good.slice(0, -1), 32, 'k'), 'not valid base64');
  assertInputError(() => decodeKey('', 32, 'k'), 'not valid base64');
  assertInputError(() => decodeKey(encodeKey(new Uint8Array(31)), 32, 'box key'), 'box key', '31 bytes', 'expected 32');
  assertInputError(() => decodeKey(42 as unknown as string, 32, 'k'), 'k must be a base64 string', 'number');
  try {
    decodeKey(`${good.slice(0, 10)}*${good.slice(11)}`, 32, 'secret');
    assert.fail('should throw');
  } catch (err) {
    assert.ok(!(err as Error).message.includes(good.slice(0, 10)), 'secret material must not appear in errors');
  }
});

test('fingerprint is the first 16 hex chars of sha256', () => {
  const k = new Uint8Array(32).fill(1);
  assert.equal(fingerprint(k), createHash('sha256').update(k).digest('hex').slice(0, 16));
  assert.match(fingerprint(k), /^[0-9a-f]{16}$/);
  assert.notEqual(fingerprint(k), fingerprint(new Uint8Array(32).fill(2)));
});

test('publicIdentity exposes only the public keys', () => {
  const id = generateIdentity();
  const pub = publicIdentity(id);
  assert.deepEqual(Object.keys(pub).sort(), ['boxPublicKey', 'signingPublicKey']);
  assert.deepEqual(decodeKey(pub.signingPublicKey, 32, 's'), id.signing.publicKey);
  assert.deepEqual(decodeKey(pub.boxPublicKey, 32, 'b'), id.box.publicKey);
});

test('identity file is written with mode 0600 and reads back identical', (t) => {
  const path = join(tempDir(t), 'site.identity.json');
  const id = generateIdentity();
  writeIdentityFile(path, id);
  if (process.platform !== 'win32') assert.equal(statSync(path).mode & 0o777, 0o600);
  const back = readIdentityFile(path);
  assert.deepEqual(back.signing.publicKey, id.signing.publicKey);
  assert.deepEqual(back.signing.secretKey, id.signing.secretKey);
  assert.deepEqual(back.box.publicKey, id.box.publicKey);
  assert.deepEqual(back.box.secretKey, id.box.secretKey);
  assert.equal(JSON.parse(readFileSync(path, 'utf8')).version, 1);
});

test('writeIdentityFile refuses to clobber an identity unless told to, and then replaces it 0600', (t) => {
  const dir = tempDir(t);
  const path = join(dir, 'id.json');
  writeFileSync(path, 'old', { mode: 0o644 });
  assertInputError(() => writeIdentityFile(path, generateIdentity()), path, 'already exists');
  assert.equal(readFileSync(path, 'utf8'), 'old');
  const id = generateIdentity();
  writeIdentityFile(path, id, { overwrite: true });
  if (process.platform !== 'win32') assert.equal(statSync(path).mode & 0o777, 0o600);
  assert.deepEqual(readIdentityFile(path).box.secretKey, id.box.secretKey);
  assert.deepEqual(readdirSync(dir), ['id.json'], 'no temporary file left behind');
});

test('writeIdentityFile reports an unwritable path as InputError', (t) => {
  const path = join(tempDir(t), 'missing-dir', 'id.json');
  assertInputError(() => writeIdentityFile(path, generateIdentity()), path);
});

test('malformed identity files are InputErrors naming the path and the problem', (t) => {
  const dir = tempDir(t);
  const id = generateIdentity();
  const good = {
    version: 1,
    signing: { publicKey: encodeKey(id.signing.publicKey), secretKey: encodeKey(id.signing.secretKey) },
    box: { publicKey: encodeKey(id.box.publicKey), secretKey: encodeKey(id.box.secretKey) },
  };
  const other = generateIdentity();
  const cases: [string, string, string][] = [
    ['not-json', '{"version": 1,', 'not valid JSON'],
    ['array', '[]', 'must be a JSON object'],
    ['version', JSON.stringify({ ...good, version: 2 }), '"version" must be 1'],
    ['no-box', JSON.stringify({ ...good, box: undefined }), '"box" must be a JSON object'],
    ['short-key', JSON.stringify({ ...good, box: { ...good.box, publicKey: encodeKey(new Uint8Array(16)) } }), 'box.publicKey decodes to 16 bytes'],
    ['missing-key', JSON.stringify({ ...good, signing: { publicKey: good.signing.publicKey } }), 'signing.secretKey must be a base64 string'],
    ['mismatch-sign', JSON.stringify({ ...good, signing: { ...good.signing, publicKey: encodeKey(other.signing.publicKey) } }), 'signing.publicKey does not belong'],
    ['mismatch-box', JSON.stringify({ ...good, box: { ...good.box, publicKey: encodeKey(other.box.publicKey) } }), 'box.publicKey does not belong'],
  ];
  for (const [name, text, mention] of cases) {
    const path = join(dir, `${name}.json`);
    writeFileSync(path, text, { mode: 0o600 });
    assertInputError(() => readIdentityFile(path), path, mention);
  }
  const missing = join(dir, 'nope.json');
  assertInputError(() => readIdentityFile(missing), missing, 'is missing: put it back beside the config from a backup');
  // Sanity: the unmodified document is accepted, so the cases above fail for their stated reason.
  const okPath = join(dir, 'ok.json');
  writeFileSync(okPath, JSON.stringify(good), { mode: 0o600 });
  assert.deepEqual(readIdentityFile(okPath).signing.publicKey, id.signing.publicKey);
});

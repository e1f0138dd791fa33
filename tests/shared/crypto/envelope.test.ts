import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import nacl from 'tweetnacl';
import { ProtocolError } from '../../../shared/errors.ts';
import { generateIdentity } from '../../../shared/crypto/keys.ts';
import {
  DEFAULT_CHUNK_SIZE,
  MAX_HEADER_BYTES,
  PayloadOpener,
  PayloadSealer,
  TAG_BYTES,
  openPayload,
  sealPayload,
  verifyHeader,
} from '../../../shared/crypto/envelope.ts';
import type { SealMeta, SealedHeader, SealedPayload, VerifyLimits } from '../../../shared/crypto/envelope.ts';

const siteA = generateIdentity();
const siteB = generateIdentity();
const coordinator = generateIdentity();
const registry = new Map([
  ['site-a', siteA.signing.publicKey],
  ['site-b', siteB.signing.publicKey],
]);
const lookup = (site: string) => registry.get(site);
const limits: VerifyLimits = { maxPayloadBytes: 64 * 1024 * 1024, maxChunkSize: 4 * 1024 * 1024 };
const meta: SealMeta = { federation: 'fed-1', round: 3, site: 'site-a', kind: 'fit-result' };

function sealEncrypted(payload: Uint8Array, chunkSize?: number, m: SealMeta = meta): SealedPayload {
  return sealPayload(m, payload, {
    signingSecretKey: siteA.signing.secretKey,
    recipientBoxPublicKey: coordinator.box.publicKey,
    ...(chunkSize !== undefined ? { chunkSize } : {}),
  });
}

function sealPlain(payload: Uint8Array, chunkSize?: number): SealedPayload {
  return sealPayload({ ...meta, kind: 'task' }, payload, {
    signingSecretKey: siteA.signing.secretKey,
    ...(chunkSize !== undefined ? { chunkSize } : {}),
  });
}

/** Verify, then open every chunk in order: the receiver's full path. */
function receive(sealed: SealedPayload, boxSecret: Uint8Array | undefined = coordinator.box.secretKey): Uint8Array {
  const header = verifyHeader(sealed.header, sealed.signature, lookup, limits);
  return openPayload(header, sealed.header, sealed.chunks, boxSecret);
}

function rejects(fn: () => unknown, reason: ProtocolError['reason'], mention?: string | RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof ProtocolError, `expected ProtocolError, got ${String(err)}`);
    assert.equal(err.reason, reason, `wrong reason; message: ${err.message}`);
    if (typeof mention === 'string') assert.ok(err.message.includes(mention), `${JSON.stringify(err.message)} should mention ${mention}`);
    else if (mention) assert.match(err.message, mention);
    return true;
  });
}

function flip(bytes: Uint8Array, at: number): Uint8Array {
  const copy = Uint8Array.from(bytes);
  copy[at]! ^= 0x01;
  return copy;
}

/** Signs arbitrary header JSON as site A, to reach the shape checks behind the signature. */
function signedRaw(fields: Record<string, unknown>): { header: Uint8Array; signature: Uint8Array } {
  const header = new TextEncoder().encode(JSON.stringify(fields));
  return { header, signature: nacl.sign.detached(header, siteA.signing.secretKey) };
}

function parsedHeader(sealed: SealedPayload): SealedHeader {
  return JSON.parse(new TextDecoder().decode(sealed.header)) as SealedHeader;
}

test('round trip, encrypted and plain, at chunk boundaries', () => {
  const cs = 64;
  for (const size of [0, 1, cs - 1, cs, cs + 1, 3 * cs, 3 * cs + 5]) {
    const payload = new Uint8Array(randomBytes(size));
    const wantChunks = Math.max(1, Math.ceil(size / cs));

    const enc = sealEncrypted(payload, cs);
    assert.equal(enc.chunks.length, wantChunks, `encrypted chunk count for ${size}`);
    enc.chunks.forEach((c, i) => {
      const plainLen = i < wantChunks - 1 ? cs : size - (wantChunks - 1) * cs;
      assert.equal(c.length, plainLen + TAG_BYTES, `chunk ${i} of ${size}`);
    });
    assert.deepEqual(receive(enc), payload, `encrypted payload of ${size} bytes`);

    const plain = sealPlain(payload, cs);
    assert.equal(plain.chunks.length, wantChunks, `plain chunk count for ${size}`);
    assert.deepEqual(receive(plain, undefined), payload, `plain payload of ${size} bytes`);
  }
});

test('round trip of a few MiB with the default 1 MiB chunks', () => {
  const payload = new Uint8Array(randomBytes(3 * DEFAULT_CHUNK_SIZE + 17));
  const enc = sealEncrypted(payload);
  assert.equal(enc.chunks.length, 4);
  assert.ok(enc.chunks.every((c) => c.length <= DEFAULT_CHUNK_SIZE + TAG_BYTES));
  assert.deepEqual(receive(enc), payload);
  const plain = sealPlain(payload);
  assert.equal(plain.chunks.length, 4);
  assert.deepEqual(receive(plain, undefined), payload);
});

test('header is canonical signed JSON describing the payload', () => {
  const payload = new Uint8Array(randomBytes(200));
  const before = Date.now();
  const plain = sealPlain(payload, 64);
  const h = parsedHeader(plain);
  const text = new TextDecoder().decode(plain.header);
  assert.deepEqual(Object.keys(JSON.parse(text)), Object.keys(JSON.parse(text)).sort(), 'keys sorted');
  assert.ok(!/\s/.test(text), 'no whitespace');
  assert.equal(h.version, 1);
  assert.equal(h.federation, 'fed-1');
  assert.equal(h.round, 3);
  assert.equal(h.site, 'site-a');
  assert.equal(h.kind, 'task');
  assert.match(h.messageId, /^[0-9a-f]{32}$/);
  assert.ok(h.createdAt >= before && h.createdAt <= Date.now() + 1);
  assert.equal(h.payloadLength, 200);
  assert.equal(h.chunkSize, 64);
  assert.equal(h.chunkCount, 4);
  assert.equal(h.encrypted, false);
  assert.equal(h.ephemeralPublicKey, undefined);
  assert.equal(h.payloadSha256, createHash('sha256').update(payload).digest('hex'));
  assert.ok(nacl.sign.detached.verify(plain.header, plain.signature, siteA.signing.publicKey));

  const enc = sealEncrypted(payload, 64);
  const he = parsedHeader(enc);
  assert.equal(he.encrypted, true);
  assert.equal(Buffer.from(he.ephemeralPublicKey!, 'base64').length, 32);
  // Keyed digest: the header alone must not let an observer confirm a guessed plaintext.
  assert.notEqual(he.payloadSha256, h.payloadSha256);
  assert.match(he.payloadSha256, /^[0-9a-f]{64}$/);
  assert.deepEqual(verifyHeader(enc.header, enc.signature, lookup, limits), he);
});

test('each message gets a fresh id and ephemeral key; ciphertext hides the plaintext', () => {
  const payload = new Uint8Array(128).fill(0x41);
  const one = sealEncrypted(payload, 64);
  const two = sealEncrypted(payload, 64);
  assert.notEqual(parsedHeader(one).messageId, parsedHeader(two).messageId);
  assert.notEqual(parsedHeader(one).ephemeralPublicKey, parsedHeader(two).ephemeralPublicKey);
  assert.notDeepEqual(one.chunks[0], two.chunks[0]);
  assert.ok(!Buffer.from(one.chunks[0]!).includes(Buffer.alloc(16, 0x41)), 'plaintext visible in ciphertext');
});

test('plain chunks are views of the payload, not copies', () => {
  const payload = new Uint8Array(randomBytes(150));
  const plain = sealPlain(payload, 64);
  for (const c of plain.chunks) assert.equal(c.buffer, payload.buffer);
  assert.deepEqual(plain.chunks.map((c) => c.byteOffset - payload.byteOffset), [0, 64, 128]);
});

test('PayloadSealer produces chunks lazily and reproducibly, and they open', () => {
  const payload = new Uint8Array(randomBytes(300));
  const sealer = new PayloadSealer(meta, payload, {
    signingSecretKey: siteA.signing.secretKey,
    recipientBoxPublicKey: coordinator.box.publicKey,
    chunkSize: 128,
  });
  assert.equal(sealer.chunkCount, 3);
  assert.deepEqual(sealer.chunk(1), sealer.chunk(1), 'retrying a chunk yields the same bytes');
  assert.throws(() => sealer.chunk(3), RangeError);
  const header = verifyHeader(sealer.header, sealer.signature, lookup, limits);
  assert.deepEqual(header, sealer.sealedHeader);
  assert.deepEqual(openPayload(header, sealer.header, [...sealer.chunks()], coordinator.box.secretKey), payload);
});

test('the same sealed message can be opened twice with fresh openers', () => {
  const payload = new Uint8Array(randomBytes(500));
  const enc = sealEncrypted(payload, 128);
  const header = verifyHeader(enc.header, enc.signature, lookup, limits);
  for (let pass = 0; pass < 2; pass++) {
    const opener = new PayloadOpener(header, enc.header, coordinator.box.secretKey);
    const parts = enc.chunks.map((c, i) => Buffer.from(opener.open(i, c)));
    opener.finish();
    assert.deepEqual(new Uint8Array(Buffer.concat(parts)), payload, `pass ${pass}`);
  }
});

test('any flipped header byte is rejected; a changed value is bad-signature', () => {
  const enc = sealEncrypted(new Uint8Array(randomBytes(100)), 64);
  const text = new TextDecoder().decode(enc.header);
  const at = text.indexOf('"round":3') + '"round":'.length;
  rejects(() => verifyHeader(flip(enc.header, at), enc.signature, lookup, limits), 'bad-signature', 'site-a');
  for (let i = 0; i < enc.header.length; i += 5) {
    assert.throws(() => verifyHeader(flip(enc.header, i), enc.signature, lookup, limits), ProtocolError, `byte ${i}`);
  }
});

test('any flipped or missing signature byte is bad-signature', () => {
  const enc = sealEncrypted(new Uint8Array(10), 64);
  for (const i of [0, 17, 31, 32, 63]) {
    rejects(() => verifyHeader(enc.header, flip(enc.signature, i), lookup, limits), 'bad-signature');
  }
  rejects(() => verifyHeader(enc.header, enc.signature.subarray(0, 63), lookup, limits), 'bad-signature', '63 bytes');
  rejects(() => verifyHeader(enc.header, new Uint8Array(0), lookup, limits), 'bad-signature');
});

test('a header signed by site A but claiming site B is bad-signature', () => {
  const forged = sealEncrypted(new Uint8Array(10), 64, { ...meta, site: 'site-b' });
  rejects(() => verifyHeader(forged.header, forged.signature, lookup, limits), 'bad-signature', 'site-b');
});

test('an unregistered site is unknown-site', () => {
  const sealed = sealEncrypted(new Uint8Array(10), 64, { ...meta, site: 'site-z' });
  rejects(() => verifyHeader(sealed.header, sealed.signature, lookup, limits), 'unknown-site', 'site-z');
});

test('oversized payloads, chunks and headers are refused', () => {
  const sealed = sealEncrypted(new Uint8Array(1000), 256);
  rejects(() => verifyHeader(sealed.header, sealed.signature, lookup, { maxPayloadBytes: 999, maxChunkSize: 1024 }), 'oversized', '1000 bytes');
  verifyHeader(sealed.header, sealed.signature, lookup, { maxPayloadBytes: 1000, maxChunkSize: 256 }); // limits are inclusive
  rejects(() => verifyHeader(sealed.header, sealed.signature, lookup, { maxPayloadBytes: 5000, maxChunkSize: 255 }), 'oversized', 'chunk size 256');
  const huge = new Uint8Array(MAX_HEADER_BYTES + 1).fill(0x20);
  rejects(() => verifyHeader(huge, sealed.signature, lookup, limits), 'oversized', 'header');
});

test('signed but malformed headers are rejected naming the field', () => {
  const good = parsedHeader(sealEncrypted(new Uint8Array(100), 64)) as unknown as Record<string, unknown>;
  // The untouched header passes, so each failure below is due to its edit.
  const ok = signedRaw(good);
  verifyHeader(ok.header, ok.signature, lookup, limits);
  const without = (k: string) => Object.fromEntries(Object.entries(good).filter(([key]) => key !== k));
  const cases: [Record<string, unknown>, string][] = [
    [{ ...good, version: 2 }, '"version"'],
    [without('round'), '"round"'],
    [{ ...good, round: -1 }, '"round"'],
    [{ ...good, round: 1.5 }, '"round"'],
    [{ ...good, createdAt: '0' }, '"createdAt"'],
    [{ ...good, federation: '' }, '"federation"'],
    [without('kind'), '"kind"'],
    [{ ...good, messageId: 'abc' }, '"messageId"'],
    [{ ...good, payloadSha256: 'ABCD' }, '"payloadSha256"'],
    [{ ...good, chunkSize: 0 }, '"chunkSize"'],
    [{ ...good, chunkCount: 3 }, '"chunkCount"'],
    [{ ...good, encrypted: 'yes' }, '"encrypted"'],
    [without('ephemeralPublicKey'), '"ephemeralPublicKey"'],
    [{ ...good, encrypted: false }, '"ephemeralPublicKey"'],
    [{ ...good, extra: 1 }, '"extra"'],
  ];
  for (const [fields, mention] of cases) {
    const raw = signedRaw(fields);
    rejects(() => verifyHeader(raw.header, raw.signature, lookup, limits), 'malformed', mention);
  }
  const notJson = signedRaw({});
  const bytes = new TextEncoder().encode('{"site":"site-a",');
  rejects(() => verifyHeader(bytes, notJson.signature, lookup, limits), 'malformed', 'JSON');
  const arr = new TextEncoder().encode('[1]');
  rejects(() => verifyHeader(arr, notJson.signature, lookup, limits), 'malformed', 'object');
  const noSite = signedRaw({ ...good, site: 7 });
  rejects(() => verifyHeader(noSite.header, noSite.signature, lookup, limits), 'malformed', '"site"');
});

test('a flipped byte anywhere in an encrypted chunk is decrypt-failed', () => {
  const cs = 64;
  const enc = sealEncrypted(new Uint8Array(randomBytes(3 * cs)), cs);
  const header = verifyHeader(enc.header, enc.signature, lookup, limits);
  for (let i = 0; i < enc.chunks.length; i++) {
    for (const at of [0, cs - 1, cs, cs + TAG_BYTES - 1]) {
      const chunks = enc.chunks.map((c, j) => (j === i ? flip(c, at) : c));
      rejects(() => openPayload(header, enc.header, chunks, coordinator.box.secretKey), 'decrypt-failed', `chunk ${i}`);
    }
  }
});

test('a flipped byte in a plain chunk is caught by the signed digest at finish()', () => {
  const plain = sealPlain(new Uint8Array(randomBytes(200)), 64);
  const header = verifyHeader(plain.header, plain.signature, lookup, limits);
  for (let i = 0; i < plain.chunks.length; i++) {
    const chunks = plain.chunks.map((c, j) => (j === i ? flip(c, 3) : c));
    rejects(() => openPayload(header, plain.header, chunks), 'bad-signature', 'digest');
  }
});

test('the wrong recipient key, or none, cannot open an encrypted payload', () => {
  const enc = sealEncrypted(new Uint8Array(randomBytes(100)), 64);
  const header = verifyHeader(enc.header, enc.signature, lookup, limits);
  rejects(() => openPayload(header, enc.header, enc.chunks, siteB.box.secretKey), 'decrypt-failed');
  rejects(() => openPayload(header, enc.header, enc.chunks), 'decrypt-failed', 'no box secret key');
});

test('requireEncrypted refuses a plain payload', () => {
  const plain = sealPlain(new Uint8Array(10), 64);
  const header = verifyHeader(plain.header, plain.signature, lookup, limits);
  rejects(
    () => openPayload(header, plain.header, plain.chunks, coordinator.box.secretKey, { requireEncrypted: true }),
    'malformed',
    'not encrypted',
  );
});

for (const mode of ['encrypted', 'plain'] as const) {
  test(`${mode}: chunks reordered, dropped, duplicated, truncated or extra are rejected`, () => {
    const cs = 64;
    const payload = new Uint8Array(randomBytes(3 * cs)); // equal-size chunks, so only position gives them away
    const sealed = mode === 'encrypted' ? sealEncrypted(payload, cs) : sealPlain(payload, cs);
    const key = mode === 'encrypted' ? coordinator.box.secretKey : undefined;
    const header = verifyHeader(sealed.header, sealed.signature, lookup, limits);
    const [c0, c1, c2] = sealed.chunks as [Uint8Array, Uint8Array, Uint8Array];
    const contentReason = mode === 'encrypted' ? 'decrypt-failed' : 'bad-signature';

    // Indices out of order.
    const o1 = new PayloadOpener(header, sealed.header, key);
    rejects(() => o1.open(1, c1), 'malformed', 'expected chunk 0');
    rejects(() => o1.open(0, c0), 'malformed'); // poisoned after a failure
    // Dropped (index gap).
    const o2 = new PayloadOpener(header, sealed.header, key);
    o2.open(0, c0);
    rejects(() => o2.open(2, c2), 'malformed', 'expected chunk 1');
    // Duplicated index.
    const o3 = new PayloadOpener(header, sealed.header, key);
    o3.open(0, c0);
    rejects(() => o3.open(0, c0), 'malformed', 'out of order');
    // Truncated: final chunk missing.
    const o4 = new PayloadOpener(header, sealed.header, key);
    o4.open(0, c0);
    o4.open(1, c1);
    rejects(() => o4.finish(), 'malformed', 'got 2 of 3 chunks');
    // Extra chunk after the last.
    const o5 = new PayloadOpener(header, sealed.header, key);
    [c0, c1, c2].forEach((c, i) => o5.open(i, c));
    rejects(() => o5.open(3, c2), 'malformed', 'beyond the 3 chunks');
    // Wrong size.
    const o6 = new PayloadOpener(header, sealed.header, key);
    rejects(() => o6.open(0, c0.subarray(1)), 'malformed', 'expected');

    // Contents swapped / dropped / duplicated under honest-looking indices.
    rejects(() => openPayload(header, sealed.header, [c1, c0, c2], key), contentReason);
    rejects(() => openPayload(header, sealed.header, [c0, c2, c2], key), contentReason);
    rejects(() => openPayload(header, sealed.header, [c0, c0, c1, c2], key), mode === 'encrypted' ? 'decrypt-failed' : 'malformed');
    rejects(() => openPayload(header, sealed.header, [c0, c2], key), mode === 'encrypted' ? 'decrypt-failed' : 'malformed');
    rejects(() => openPayload(header, sealed.header, [c0, c1], key), 'malformed', 'got 2 of 3');

    // Untampered still opens, and a finished opener refuses more work.
    const o7 = new PayloadOpener(header, sealed.header, key);
    [c0, c1, c2].forEach((c, i) => o7.open(i, c));
    o7.finish();
    rejects(() => o7.finish(), 'malformed', 'already finished');
  });
}

test('a chunk moved from another message with the same shape is decrypt-failed', () => {
  const cs = 64;
  const one = sealEncrypted(new Uint8Array(randomBytes(2 * cs)), cs);
  const two = sealEncrypted(new Uint8Array(randomBytes(2 * cs)), cs);
  const header = verifyHeader(one.header, one.signature, lookup, limits);
  rejects(() => openPayload(header, one.header, [one.chunks[0]!, two.chunks[1]!], coordinator.box.secretKey), 'decrypt-failed', 'chunk 1');
});

test('sealPayload refuses to produce a header a receiver would reject', () => {
  const opts = { signingSecretKey: siteA.signing.secretKey };
  assert.throws(() => sealPayload({ ...meta, round: -1 }, new Uint8Array(1), opts), /round/);
  assert.throws(() => sealPayload(meta, new Uint8Array(1), { ...opts, chunkSize: 0 }), /chunkSize/);
  assert.throws(() => sealPayload({ ...meta, messageId: 'x' }, new Uint8Array(1), opts), /messageId/);
  assert.throws(() => sealPayload(meta, new Uint8Array(1), { signingSecretKey: new Uint8Array(32) }), /signingSecretKey/);
  assert.throws(
    () => sealPayload({ ...meta, federation: 'f'.repeat(MAX_HEADER_BYTES) }, new Uint8Array(1), opts),
    /over the 16384-byte limit/,
  );
  assert.throws(
    () => sealPayload(meta, new Uint8Array(1), { ...opts, recipientBoxPublicKey: new Uint8Array(32) }),
    /low-order/,
  );
});

test('a precomputed plain digest seals the same message; a wrong one is caught at finish', () => {
  const coord = generateIdentity();
  const payload = new Uint8Array(3000).map((_, i) => i % 251);
  const digest = createHash('sha256').update(payload).digest('hex');
  const lookup = () => coord.signing.publicKey;
  const limits = { maxPayloadBytes: 1 << 20, maxChunkSize: 1024 };
  const meta = { federation: 'f', round: 1, site: 's', kind: 'task-fit' };
  const good = sealPayload(meta, payload, { signingSecretKey: coord.signing.secretKey, chunkSize: 1024, plainDigest: digest });
  const h = verifyHeader(good.header, good.signature, lookup, limits);
  assert.equal(h.payloadSha256, digest);
  assert.deepEqual(openPayload(h, good.header, good.chunks), payload);
  const bad = sealPayload(meta, payload, { signingSecretKey: coord.signing.secretKey, chunkSize: 1024, plainDigest: '0'.repeat(64) });
  const hb = verifyHeader(bad.header, bad.signature, lookup, limits);
  assert.throws(() => openPayload(hb, bad.header, bad.chunks), (e: unknown) => e instanceof ProtocolError && e.reason === 'bad-signature');
});

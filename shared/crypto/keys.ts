/**
 * Long-term identities: an Ed25519 key pair that signs every message a party
 * sends, and an X25519 key pair that payloads are encrypted to. Both come from
 * tweetnacl; keys travel in config and identity files as base64.
 *
 * Identity file (JSON, mode 0600):
 *   { "version": 1,
 *     "signing": { "publicKey": b64(32), "secretKey": b64(64) },
 *     "box":     { "publicKey": b64(32), "secretKey": b64(32) } }
 */
import { closeSync, fchmodSync, fsyncSync, openSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, basename, join } from 'node:path';
import { createHash, randomBytes } from 'node:crypto';
import nacl from 'tweetnacl';
import { InputError } from '../errors.ts';
import { checkKeyFileMode } from './key-file-mode.ts';
import { readKitText } from '../input-file.ts';

export const SIGNING_PUBLIC_KEY_BYTES = nacl.sign.publicKeyLength; // 32
export const SIGNING_SECRET_KEY_BYTES = nacl.sign.secretKeyLength; // 64
export const SIGNATURE_BYTES = nacl.sign.signatureLength; // 64
export const BOX_PUBLIC_KEY_BYTES = nacl.box.publicKeyLength; // 32
export const BOX_SECRET_KEY_BYTES = nacl.box.secretKeyLength; // 32

/** Ed25519 (nacl.sign). secretKey is tweetnacl's 64-byte form (seed || public key). */
export interface SigningKeyPair {
  publicKey: Uint8Array;
  secretKey: Uint8Array;
}

/** X25519 (nacl.box). */
export interface BoxKeyPair {
  publicKey: Uint8Array;
  secretKey: Uint8Array;
}

export interface Identity {
  signing: SigningKeyPair;
  box: BoxKeyPair;
}

/** What a party shares with its peers (e.g. a site's entry in the coordinator's registry). */
export interface PublicIdentity {
  signingPublicKey: string;
  boxPublicKey: string;
}

export function generateIdentity(): Identity {
  return { signing: nacl.sign.keyPair(), box: nacl.box.keyPair() };
}

export function encodeKey(k: Uint8Array): string {
  return Buffer.from(k.buffer, k.byteOffset, k.byteLength).toString('base64');
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/**
 * Strict base64 -> bytes of exactly `expectedLength`. Node's decoder silently
 * skips junk, so the shape is checked first. Messages name `what` but never echo
 * the value: it may be a secret key.
 */
export function decodeKey(s: string, expectedLength: number, what: string): Uint8Array {
  if (typeof s !== 'string') throw new InputError(`${what} must be a base64 string, got ${describeType(s)}`);
  const trimmed = s.trim();
  if (trimmed === '' || !BASE64.test(trimmed)) throw new InputError(`${what} is not valid base64`);
  const bytes = Buffer.from(trimmed, 'base64');
  if (bytes.length !== expectedLength) {
    throw new InputError(`${what} decodes to ${bytes.length} bytes, expected ${expectedLength}`);
  }
  // Copy out of Buffer's shared allocation pool so the key owns its memory.
  return new Uint8Array(bytes);
}

/** First 16 hex chars of SHA-256: short enough for logs, long enough to tell keys apart. */
export function fingerprint(publicKey: Uint8Array): string {
  return createHash('sha256').update(publicKey).digest('hex').slice(0, 16);
}

export function publicIdentity(identity: Identity): PublicIdentity {
  return { signingPublicKey: encodeKey(identity.signing.publicKey), boxPublicKey: encodeKey(identity.box.publicKey) };
}

/**
 * Writes the identity as JSON readable only by its owner (0600). Refuses to
 * replace an existing file unless `overwrite`: a site whose keys are clobbered
 * can no longer talk to the coordinator it registered with. With `overwrite`
 * the new file is written beside the old one and renamed over it, so a crash
 * never leaves a half-written identity.
 */
export function writeIdentityFile(path: string, identity: Identity, opts: { overwrite?: boolean } = {}): void {
  checkIdentity(identity, 'identity');
  const text =
    JSON.stringify(
      {
        version: 1,
        signing: { publicKey: encodeKey(identity.signing.publicKey), secretKey: encodeKey(identity.signing.secretKey) },
        box: { publicKey: encodeKey(identity.box.publicKey), secretKey: encodeKey(identity.box.secretKey) },
      },
      null,
      2,
    ) + '\n';
  const target = opts.overwrite ? join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`) : path;
  let fd: number;
  try {
    // 'wx' = O_CREAT|O_EXCL: atomic "create only if absent", with the mode set at creation.
    fd = openSync(target, 'wx', 0o600);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') {
      throw new InputError(`identity file ${path} already exists; refusing to overwrite it (its secret keys would be lost)`);
    }
    throw new InputError(`cannot create identity file ${path}: ${(err as Error).message}`, { cause: err });
  }
  try {
    fchmodSync(fd, 0o600); // the umask can only remove bits, but be exact
    writeFileSync(fd, text); // loops until all is written, unlike writeSync
    fsyncSync(fd);
  } catch (err) {
    closeSync(fd);
    rmSync(target, { force: true });
    throw new InputError(`cannot write identity file ${path}: ${(err as Error).message}`, { cause: err });
  }
  closeSync(fd);
  if (target !== path) {
    try {
      renameSync(target, path);
    } catch (err) {
      rmSync(target, { force: true });
      throw new InputError(`cannot replace identity file ${path}: ${(err as Error).message}`, { cause: err });
    }
  }
}

/** Reads and fully validates an identity file; every problem is an InputError naming the path and field. */
export function readIdentityFile(path: string): Identity {
  checkKeyFileMode(path, 'identity file');
  const text = readKitText(path, 'identity file');
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new InputError(`identity file ${path} is not valid JSON: ${(err as Error).message}`, { cause: err });
  }
  const where = `identity file ${path}`;
  const root = asObject(doc, where);
  if (root.version !== 1) {
    // JSON.stringify gives undefined for a missing field, though typed string.
    throw new InputError(`${where}: "version" must be 1, got ${(JSON.stringify(root.version) as string | undefined) ?? 'nothing'}`);
  }
  const signing = asObject(root.signing, `${where}: "signing"`);
  const box = asObject(root.box, `${where}: "box"`);
  const identity: Identity = {
    signing: {
      publicKey: decodeKey(signing.publicKey as string, SIGNING_PUBLIC_KEY_BYTES, `${where}: signing.publicKey`),
      secretKey: decodeKey(signing.secretKey as string, SIGNING_SECRET_KEY_BYTES, `${where}: signing.secretKey`),
    },
    box: {
      publicKey: decodeKey(box.publicKey as string, BOX_PUBLIC_KEY_BYTES, `${where}: box.publicKey`),
      secretKey: decodeKey(box.secretKey as string, BOX_SECRET_KEY_BYTES, `${where}: box.secretKey`),
    },
  };
  checkIdentity(identity, where);
  return identity;
}

/** Lengths, and that each public key really belongs to its secret key (catches hand-edited files). */
function checkIdentity(identity: Identity, where: string): void {
  // Callers may hand in objects built by hand: any part may be missing until checked here.
  const loose = identity as { signing?: Partial<Identity['signing']>; box?: Partial<Identity['box']> } | undefined;
  const lengths: [Uint8Array | undefined, number, string][] = [
    [loose?.signing?.publicKey, SIGNING_PUBLIC_KEY_BYTES, 'signing.publicKey'],
    [loose?.signing?.secretKey, SIGNING_SECRET_KEY_BYTES, 'signing.secretKey'],
    [loose?.box?.publicKey, BOX_PUBLIC_KEY_BYTES, 'box.publicKey'],
    [loose?.box?.secretKey, BOX_SECRET_KEY_BYTES, 'box.secretKey'],
  ];
  for (const [key, length, name] of lengths) {
    if (!(key instanceof Uint8Array) || key.length !== length) {
      throw new InputError(`${where}: ${name} must be ${length} bytes`);
    }
  }
  const signingPublic = nacl.sign.keyPair.fromSecretKey(identity.signing.secretKey).publicKey;
  // tweetnacl's 64-byte secret key embeds its public half; derive from the seed to check both.
  const fromSeed = nacl.sign.keyPair.fromSeed(identity.signing.secretKey.subarray(0, 32)).publicKey;
  if (!bytesEqual(signingPublic, identity.signing.publicKey) || !bytesEqual(fromSeed, identity.signing.publicKey)) {
    throw new InputError(`${where}: signing.publicKey does not belong to signing.secretKey`);
  }
  if (!bytesEqual(nacl.box.keyPair.fromSecretKey(identity.box.secretKey).publicKey, identity.box.publicKey)) {
    throw new InputError(`${where}: box.publicKey does not belong to box.secretKey`);
  }
}

function asObject(v: unknown, where: string): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) {
    throw new InputError(`${where} must be a JSON object, got ${describeType(v)}`);
  }
  return v as Record<string, unknown>;
}

function describeType(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'null';
  return Array.isArray(v) ? 'an array' : typeof v;
}

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

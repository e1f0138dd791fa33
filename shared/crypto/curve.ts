/**
 * Ed25519 signatures and X25519 agreements through Node's built-in crypto (OpenSSL), on
 * the same raw keys tweetnacl makes: a key is wrapped in its fixed DER prefix. Same
 * results as tweetnacl, about 50x faster per operation (docs/secagg.md, Measurements):
 * every envelope is signed and verified once, and a secure round's sites verify every
 * advertisement and t survivor signatures, so this fixed per-message cost adds up.
 */
import { createPrivateKey, createPublicKey, diffieHellman, sign, verify, type KeyObject } from 'node:crypto';

/** DER prefixes of a raw 32-byte key (RFC 8410). */
const ED25519_SPKI = Buffer.from('302a300506032b6570032100', 'hex');
const ED25519_PKCS8 = Buffer.from('302e020100300506032b657004220420', 'hex');
const X25519_SPKI = Buffer.from('302a300506032b656e032100', 'hex');
const X25519_PKCS8 = Buffer.from('302e020100300506032b656e04220420', 'hex');

/** Enrolled signing keys are few and reused every round: parse each once. */
const MAX_CACHED_KEYS = 4096;
const edPublicKeys = new Map<string, KeyObject>();

function der(prefix: Buffer, raw: Uint8Array): Buffer {
  return Buffer.concat([prefix, Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength)]);
}

function edPublic(raw: Uint8Array): KeyObject {
  const id = Buffer.from(raw).toString('hex');
  let k = edPublicKeys.get(id);
  if (!k) {
    if (edPublicKeys.size >= MAX_CACHED_KEYS) edPublicKeys.clear();
    k = createPublicKey({ key: der(ED25519_SPKI, raw), format: 'der', type: 'spki' });
    edPublicKeys.set(id, k);
  }
  return k;
}

/** Ed25519 signature with a tweetnacl secret key (64 bytes: the 32-byte seed, then the public key). */
export function ed25519Sign(message: Uint8Array, secretKey: Uint8Array): Uint8Array {
  const key = createPrivateKey({ key: der(ED25519_PKCS8, secretKey.subarray(0, 32)), format: 'der', type: 'pkcs8' });
  return new Uint8Array(sign(null, message, key));
}

/** False for a bad signature, and for a key or signature of the wrong size or not on the curve. */
export function ed25519Verify(message: Uint8Array, signature: Uint8Array, publicKey: Uint8Array): boolean {
  if (publicKey.length !== 32 || signature.length !== 64) return false;
  try {
    return verify(null, message, edPublic(publicKey), signature);
  } catch {
    return false;
  }
}

/**
 * Raw X25519 agreement. OpenSSL refuses an all-zero result (a low-order public key): that
 * comes back as all zeros, for the caller's check.
 */
export function x25519(secretKey: Uint8Array, publicKey: Uint8Array): Uint8Array {
  try {
    const privateKey = createPrivateKey({ key: der(X25519_PKCS8, secretKey), format: 'der', type: 'pkcs8' });
    const peer = createPublicKey({ key: der(X25519_SPKI, publicKey), format: 'der', type: 'spki' });
    return new Uint8Array(diffieHellman({ privateKey, publicKey: peer }));
  } catch {
    return new Uint8Array(32);
  }
}

/**
 * Per-round X25519 key pairs (tweetnacl; agreements through node:crypto, curve.ts) and the keys derived from their agreements.
 * Every derived key is HKDF-SHA256 of the raw agreement, salted with the session (so a
 * key never repeats across rounds) and bound to its purpose and the ordered pair of sites.
 */
import { createHash, hkdfSync } from 'node:crypto';
import nacl from 'tweetnacl';
import { x25519 } from '../crypto/curve.ts';
import { SecAggRefusal } from './errors.ts';

export interface RoundKeyPair {
  publicKey: Uint8Array;
  secretKey: Uint8Array;
}

export const KEY_BYTES = 32;

export function roundKeyPair(): RoundKeyPair {
  return nacl.box.keyPair();
}

export function publicKeyOf(secretKey: Uint8Array): Uint8Array {
  return nacl.scalarMult.base(secretKey);
}

/** The session binds every derived key and signature to one federation, round and purpose. */
export function sessionSalt(session: string): Buffer {
  return createHash('sha256').update(`fedcausal-secagg/v1|${session}`).digest();
}

export type KeyPurpose = 'pair-mask' | 'share-box' | 'self-mask';

/** Raw X25519 agreement; an all-zero result means a low-order public key, which a peer could force. */
export function agree(secretKey: Uint8Array, peerPublicKey: Uint8Array): Uint8Array {
  const shared = x25519(secretKey, peerPublicKey);
  if (shared.every((b) => b === 0)) throw new SecAggRefusal('key agreement gave the all-zero secret (low-order public key)', 'malformed');
  return shared;
}

/** HKDF-SHA256 of secret material into `bytes` bytes; the pair is sorted so both ends derive the same key. */
export function deriveKey(ikm: Uint8Array, session: string, purpose: KeyPurpose, pair: readonly string[], bytes = KEY_BYTES): Buffer {
  const info = JSON.stringify([purpose, ...[...pair].sort()]);
  return Buffer.from(hkdfSync('sha256', ikm, sessionSalt(session), info, bytes));
}

/**
 * Shares travel through the coordinator sealed to their recipient: chacha20-poly1305
 * under a key from the X25519 agreement of the two sites' encryption keys. The
 * associated data and the plaintext both name sender and recipient (the paper's
 * u || v || shares), so a share re-addressed or replayed to another site is refused.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { SecAggRefusal } from './errors.ts';
import type { EncryptedShare } from './messages.ts';

const NONCE_BYTES = 12;
const TAG_BYTES = 16;

export interface SharePair {
  /** Share of the sender's mask private key s_u^SK. */
  maskKeyShare: Uint8Array;
  /** Share of the sender's self-mask seed b_u. */
  selfMaskShare: Uint8Array;
}

function aad(session: string, from: string, to: string): Buffer {
  return Buffer.from(JSON.stringify(['share', session, from, to]));
}

export function sealShares(key: Uint8Array, session: string, from: string, to: string, shares: SharePair): EncryptedShare {
  const nonce = randomBytes(NONCE_BYTES);
  const plain = Buffer.from(
    JSON.stringify([from, to, Buffer.from(shares.maskKeyShare).toString('base64'), Buffer.from(shares.selfMaskShare).toString('base64')]),
  );
  const cipher = createCipheriv('chacha20-poly1305', key, nonce, { authTagLength: TAG_BYTES });
  cipher.setAAD(aad(session, from, to), { plaintextLength: plain.length });
  const body = Buffer.concat([cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
  return { from, to, nonce: new Uint8Array(nonce), ciphertext: new Uint8Array(body) };
}

/** Opens a share addressed to `me`; any mismatch or failed tag is a refusal, never a partial result. */
export function openShares(key: Uint8Array, session: string, me: string, e: EncryptedShare): SharePair {
  if (e.to !== me) throw new SecAggRefusal(`a share from ${e.from} is addressed to ${e.to}, not to ${me}`, 'misaddressed');
  if (e.nonce.length !== NONCE_BYTES || e.ciphertext.length < TAG_BYTES) throw new SecAggRefusal(`the share from ${e.from} is malformed`, 'malformed');
  const body = Buffer.from(e.ciphertext);
  let plain: Buffer;
  try {
    const d = createDecipheriv('chacha20-poly1305', key, e.nonce, { authTagLength: TAG_BYTES });
    d.setAAD(aad(session, e.from, e.to), { plaintextLength: body.length - TAG_BYTES });
    d.setAuthTag(body.subarray(body.length - TAG_BYTES));
    plain = Buffer.concat([d.update(body.subarray(0, body.length - TAG_BYTES)), d.final()]);
  } catch (err) {
    throw new SecAggRefusal(`the share from ${e.from} does not decrypt (tampered, or sealed for another site or round)`, 'decrypt-failed', { cause: err });
  }
  const fields: unknown = JSON.parse(plain.toString('utf8'));
  if (!Array.isArray(fields) || fields.length !== 4 || fields.some((f) => typeof f !== 'string')) {
    throw new SecAggRefusal(`the share from ${e.from} is malformed`, 'malformed');
  }
  const [from, to, s, b] = fields as string[];
  if (from !== e.from || to !== me) throw new SecAggRefusal(`the share from ${e.from} names ${from} -> ${to} inside`, 'misaddressed');
  return { maskKeyShare: new Uint8Array(Buffer.from(s!, 'base64')), selfMaskShare: new Uint8Array(Buffer.from(b!, 'base64')) };
}

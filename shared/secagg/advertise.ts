/** Signing and checking round-0 key advertisements with the sites' long-term Ed25519 keys. */
import { createHash } from 'node:crypto';
import nacl from 'tweetnacl';
import { ed25519Sign, ed25519Verify } from '../crypto/curve.ts';
import { SecAggRefusal } from './errors.ts';
import type { KeyAdvertisement } from './messages.ts';
import type { RoundPlan } from './round-plan.ts';

function digest(session: string, site: string, encryptionKey: Uint8Array, maskKey: Uint8Array): Uint8Array {
  const text = JSON.stringify(['advertise', session, site, Buffer.from(encryptionKey).toString('base64'), Buffer.from(maskKey).toString('base64')]);
  return createHash('sha256').update(text).digest();
}

export function signAdvertisement(session: string, site: string, encryptionKey: Uint8Array, maskKey: Uint8Array, signingSecretKey: Uint8Array): KeyAdvertisement {
  const signature = ed25519Sign(digest(session, site, encryptionKey, maskKey), signingSecretKey);
  return { site, encryptionKey, maskKey, signature };
}

/** Refuses an advertisement from an uninvited site, of the wrong shape, or not signed by the site's enrolled key. */
export function verifyAdvertisement(plan: RoundPlan, a: KeyAdvertisement): void {
  const key = plan.signingKey(a.site);
  if (!key) throw new SecAggRefusal(`key advertisement from ${String(a.site)}, which is not invited to this round`, 'unknown-site');
  const lengths = [a.encryptionKey, a.maskKey, a.signature].map((x) => (x instanceof Uint8Array ? x.length : -1));
  if (lengths[0] !== 32 || lengths[1] !== 32 || lengths[2] !== nacl.sign.signatureLength) {
    throw new SecAggRefusal(`key advertisement from ${a.site} is malformed`, 'malformed');
  }
  if (!ed25519Verify(digest(plan.session, a.site, a.encryptionKey, a.maskKey), a.signature, key)) {
    throw new SecAggRefusal(`key advertisement from ${a.site} is not signed by its enrolled key`, 'bad-signature');
  }
  if (Buffer.from(a.encryptionKey).equals(Buffer.from(a.maskKey))) {
    throw new SecAggRefusal(`key advertisement from ${a.site} uses one key for both purposes`, 'malformed');
  }
}

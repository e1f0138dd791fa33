/**
 * How a site certificate is bound to the site's Ed25519 signing key: one SAN URI
 *
 *   urn:fedcausal:site:<site name>:ed25519:<public key, base64url without padding>
 *
 * The CA asserts the pair when it signs; the coordinator reads it back and checks
 * that the site on the TLS connection is the one whose key signed the envelope.
 * A URI SAN (not a private extension) keeps the binding visible to any tool
 * (`openssl x509 -text`) and parseable without custom ASN.1.
 */
import { timingSafeEqual } from 'node:crypto';
import { SIGNING_PUBLIC_KEY_BYTES, decodeKey } from '../crypto/keys.ts';
import { SITE_NAME_PATTERN } from '../federation/manifest.ts';
import { InputError } from '../errors.ts';

export const SITE_URI_PREFIX = 'urn:fedcausal:site:';
const SITE_URI = /^urn:fedcausal:site:([^:]+):ed25519:([A-Za-z0-9_-]+)$/;

/** `signingPublicKey` is base64 as manifest.json and identity.json hold it. */
export function siteBindingUri(site: string, signingPublicKey: string): string {
  if (!SITE_NAME_PATTERN.test(site)) throw new InputError(`site name must match ${SITE_NAME_PATTERN}, got ${JSON.stringify(site)}`);
  const key = decodeKey(signingPublicKey, SIGNING_PUBLIC_KEY_BYTES, `Ed25519 public key of site ${site}`);
  return `${SITE_URI_PREFIX}${site}:ed25519:${Buffer.from(key).toString('base64url')}`;
}

/** The site and key (base64) in a binding URI, or undefined when it is not a well-formed one. */
export function parseSiteBindingUri(uri: string): { site: string; signingPublicKey: string } | undefined {
  const m = SITE_URI.exec(uri);
  if (!m || !SITE_NAME_PATTERN.test(m[1]!)) return undefined;
  const key = Buffer.from(m[2]!, 'base64url');
  // Re-encoding must give the same text: rejects padding tricks and trailing junk the decoder skips.
  if (key.length !== SIGNING_PUBLIC_KEY_BYTES || key.toString('base64url') !== m[2]) return undefined;
  return { site: m[1]!, signingPublicKey: key.toString('base64') };
}

/**
 * True when the certified site is `site` and its key is `signingPublicKey` (base64):
 * the check the coordinator makes between a connection's certificate and the
 * site and key of the envelope received on it.
 */
export function peerMatchesSigner(peer: { site: string; ed25519PublicKey: string }, signer: { site: string; signingPublicKey: string }): boolean {
  const a = Buffer.from(peer.ed25519PublicKey, 'base64');
  const b = Buffer.from(signer.signingPublicKey, 'base64');
  const keysEqual = a.length === SIGNING_PUBLIC_KEY_BYTES && a.length === b.length && timingSafeEqual(a, b);
  return keysEqual && peer.site === signer.site;
}

/**
 * The coordinator's check of a site's client certificate, run at every
 * connection (TLS has already checked the chain; this adds revocation, usage and
 * the site binding, and does not rely on how TLS was configured).
 *
 * The result's `reason` is for the coordinator's log; the peer is told only
 * PEER_REFUSED_MESSAGE whatever went wrong, so a refusal never says whether a
 * name is enrolled or which check failed.
 */
import { parseSiteBindingUri, SITE_URI_PREFIX } from './binding.ts';
import { isRevoked, type VerifiedCrl } from './crl.ts';
import { toArrayBuffer, x509 } from './x509.ts';

/** The one message a refused peer sees (gRPC UNAUTHENTICATED). */
export const PEER_REFUSED_MESSAGE = 'client certificate refused by the federation';

export type PeerRefusalCode =
  | 'no-certificate'
  | 'malformed'
  | 'untrusted'
  | 'not-yet-valid'
  | 'expired'
  | 'revoked'
  | 'wrong-usage'
  | 'bad-binding'
  /** The coordinator's own trust material is out of date: every peer is refused until an operator acts. */
  | 'trust-expired';

export type PeerCheck =
  | {
      ok: true;
      site: string;
      /** Base64, as manifest.json holds signingPublicKey. */
      ed25519PublicKey: string;
      serialNumber: string;
      notAfter: Date;
    }
  /** `site`: the site a revoked certificate was issued to, where it says (the operator revoked it and reads the log for it). */
  | { ok: false; code: PeerRefusalCode; reason: string; site?: string };

export interface PeerTrust {
  /** loadCaCertificate(ca.pem) */
  caCert: x509.X509Certificate;
  /** loadCrl(crl.pem, caCert): required, so revocation cannot be skipped by omission. */
  crl: VerifiedCrl;
  now?: Date;
}

/** `cert`: PEM or DER as TLS hands it over (grpc-js: call.getAuthContext().sslPeerCertificate.raw). */
export async function checkPeer(cert: string | Uint8Array | null | undefined, trust: PeerTrust): Promise<PeerCheck> {
  const now = trust.now ?? new Date();
  if (cert === undefined || cert === null || cert.length === 0) return refuse('no-certificate', 'the peer presented no certificate');

  const { caCert, crl } = trust;
  const stale = trustRefusal(caCert, crl, now);
  if (stale) return stale;

  const leaf = parseCertificate(cert);
  if (!leaf) return refuse('malformed', 'the peer certificate does not parse as X.509');

  // Signature first: nothing else in the certificate is worth reading until the CA vouches for it.
  if (!(await signedBy(leaf, caCert))) return refuse('untrusted', `the peer certificate is not signed by the federation CA (issuer ${excerpt(leaf.issuer)})`);

  return validityRefusal(leaf, crl, now) ?? siteOf(leaf);
}

function refuse(code: PeerRefusalCode, reason: string): PeerCheck {
  return { ok: false, code, reason };
}

/** The coordinator's own CA certificate and revocation list, checked before the peer's: out of date, they refuse everyone. */
function trustRefusal(caCert: x509.X509Certificate, crl: VerifiedCrl, now: Date): PeerCheck | undefined {
  if (now < caCert.notBefore || now > caCert.notAfter)
    return refuse('trust-expired', `the federation CA certificate is valid ${caCert.notBefore.toISOString()} to ${caCert.notAfter.toISOString()}`);
  if (crl.nextUpdate !== undefined && now > crl.nextUpdate)
    return refuse('trust-expired', `the revocation list expired at ${crl.nextUpdate.toISOString()}; issue a new one with the CA key`);
  return undefined;
}

/** The peer's certificate, or undefined where it does not parse. */
function parseCertificate(cert: string | Uint8Array): x509.X509Certificate | undefined {
  try {
    return new x509.X509Certificate(typeof cert === 'string' ? cert : toArrayBuffer(cert));
  } catch {
    return undefined;
  }
}

/** Issued by the CA's name and carrying its signature; any error on the way is a no. */
async function signedBy(leaf: x509.X509Certificate, caCert: x509.X509Certificate): Promise<boolean> {
  try {
    return (
      leaf.issuerName.toString() === caCert.subjectName.toString() &&
      (await leaf.verify({ publicKey: await caVerifyKey(caCert, leaf), signatureOnly: true }))
    );
  } catch {
    return false;
  }
}

/** A signed certificate outside its validity period or revoked. */
function validityRefusal(leaf: x509.X509Certificate, crl: VerifiedCrl, now: Date): PeerCheck | undefined {
  if (now < leaf.notBefore) return refuse('not-yet-valid', `the peer certificate is valid from ${leaf.notBefore.toISOString()}`);
  if (now > leaf.notAfter) return refuse('expired', `the peer certificate expired at ${leaf.notAfter.toISOString()}`);
  if (isRevoked(crl, leaf.serialNumber)) {
    const site = revokedSite(leaf);
    return { ...refuse('revoked', `the peer certificate (serial ${leaf.serialNumber}${site ? `, site "${site}"` : ''}) is revoked`), ...(site ? { site } : {}) };
  }
  return undefined;
}

/** A valid certificate's usage and site binding: the site it speaks for, or the refusal. */
function siteOf(leaf: x509.X509Certificate): PeerCheck {
  let usage: string | undefined;
  let binding: { site: string; signingPublicKey: string } | string;
  try {
    usage = checkClientUsage(leaf);
    binding = readBinding(leaf);
  } catch {
    // The library throws on extensions it cannot decode (e.g. an otherName SAN): signed by us, yet not ours.
    return refuse('malformed', 'the peer certificate has an extension that does not decode');
  }
  if (usage) return refuse('wrong-usage', usage);
  if (typeof binding === 'string') return refuse('bad-binding', binding);
  return { ok: true, site: binding.site, ed25519PublicKey: binding.signingPublicKey, serialNumber: leaf.serialNumber, notAfter: leaf.notAfter };
}

/** The site a revoked certificate names, if its binding reads (a revoked site left running retries for good: its name tells the operator which). */
function revokedSite(leaf: x509.X509Certificate): string | undefined {
  try {
    const b = readBinding(leaf);
    return typeof b === 'string' ? undefined : b.site;
  } catch {
    return undefined;
  }
}

/**
 * The CA's public key imported once per CA certificate and signature algorithm:
 * importing it on every check cost ten times the verification itself.
 */
const verifyKeys = new WeakMap<x509.X509Certificate, Map<string, Promise<CryptoKey>>>();
function caVerifyKey(caCert: x509.X509Certificate, leaf: x509.X509Certificate): Promise<CryptoKey> {
  const alg = { ...caCert.publicKey.algorithm, ...leaf.signatureAlgorithm };
  const id = JSON.stringify(alg);
  let byAlg = verifyKeys.get(caCert);
  if (!byAlg) verifyKeys.set(caCert, (byAlg = new Map<string, Promise<CryptoKey>>()));
  let key = byAlg.get(id);
  if (!key) {
    key = caCert.publicKey.export(alg, ['verify']);
    // A failed import is not cached: the next check tries again.
    key.catch(() => byAlg.delete(id));
    byAlg.set(id, key);
  }
  return key;
}

/** A site certificate: not a CA, usable for signatures, issued for TLS clients. */
function checkClientUsage(leaf: x509.X509Certificate): string | undefined {
  if (leaf.getExtension(x509.BasicConstraintsExtension)?.ca) return 'the peer certificate is a CA certificate, not a site certificate';
  const ku = leaf.getExtension(x509.KeyUsagesExtension);
  if (ku && (ku.usages & x509.KeyUsageFlags.digitalSignature) === 0) return 'the peer certificate does not allow digital signatures';
  const eku = leaf.getExtension(x509.ExtendedKeyUsageExtension);
  if (!eku?.usages.includes(x509.ExtendedKeyUsage.clientAuth)) return 'the peer certificate is not issued for TLS clients (no clientAuth usage)';
  return undefined;
}

/** Exactly one binding URI, well formed, naming the same site as the subject CN. */
function readBinding(leaf: x509.X509Certificate): { site: string; signingPublicKey: string } | string {
  const sans = leaf.getExtensions(x509.SubjectAlternativeNameExtension);
  const uris = sans.flatMap((ext) => ext.names.items.filter((n) => n.type === 'url' && n.value.startsWith(SITE_URI_PREFIX)).map((n) => n.value));
  if (uris.length !== 1) return `the peer certificate has ${uris.length} site binding URIs, expected 1`;
  const binding = parseSiteBindingUri(uris[0]!);
  if (!binding) return `the peer certificate's site binding ${excerpt(uris[0]!)} is malformed`;
  const cns = leaf.subjectName.getField('CN');
  if (cns.length !== 1 || cns[0] !== binding.site)
    return `the peer certificate's subject ${excerpt(leaf.subject)} does not name the bound site "${binding.site}"`;
  return binding;
}

/** Certificate text is chosen by whoever made it: bounded and quoted before it reaches a log. */
function excerpt(s: string): string {
  return JSON.stringify(s.length > 120 ? `${s.slice(0, 120)}…` : s);
}

/**
 * Why the coordinator refused this site, as far as the site's own kit can tell. The
 * coordinator answers every identity refusal with the same PEER_REFUSED_MESSAGE (it must not
 * say who is enrolled or which check failed), so the site compares its own files instead:
 * the site and key its certificate is bound to (tls/client.pem), the signing key in
 * identity.json, and the key the kit's manifest.json enrolls for this site. Where those
 * disagree a restart cannot cure the refusal: the error is an InputError (exit 2), so a
 * supervisor does not restart the site forever. Where they agree the cause may be the
 * coordinator's (its revocation list out of date, its clock, a manifest it has not loaded
 * yet), which it can fix while the site's supervisor keeps retrying: exit 1.
 */
import { X509Certificate } from 'node:crypto';
import { InputError } from '../shared/errors.ts';
import { parseSiteBindingUri, SITE_URI_PREFIX } from '../shared/pki/binding.ts';
import { refusalReason } from '../shared/transport/grpc-proto.ts';

/** The kit's files a refusal is judged on. */
export interface KitIdentity {
  /** site.yaml's `site`. */
  site: string;
  certFile: string;
  certPem: string | Buffer;
  identityFile: string;
  /** identity.json's signing public key. */
  signingPublicKey: Uint8Array;
  /** manifest.json's sites with their signing keys (base64). */
  enrolled: { name: string; signingPublicKey: string }[];
}

/** Where the refused call was: Challenge presents only the certificate, the join also a signature by identity.json. */
export type RefusedAt = 'challenge' | 'join';

/** The error a refusal (gRPC UNAUTHENTICATED) becomes: what the coordinator said, then which file to look at. */
export function kitRefusal(err: Error, kit: KitIdentity, at: RefusedAt): Error {
  const { text, kitAtFault } = judgeKit(kit, at, refusalReason(err));
  const message = `the coordinator refused this site (${err.message}); ${text}`;
  return kitAtFault ? new InputError(message, { cause: err }) : new Error(message, { cause: err });
}

/** Which file of the kit is the likely culprit, or an honest "cannot tell" with what to ask. */
export function refusalCulprit(kit: KitIdentity, at: RefusedAt, reason?: string): string {
  return judgeKit(kit, at, reason).text;
}

/** refusalCulprit's text, and whether the kit's own files are at fault (kitAtFault: false when they agree). */
function judgeKit(kit: KitIdentity, at: RefusedAt, reason?: string): { text: string; kitAtFault: boolean } {
  const text = kitCulprit(kit, reason);
  return text ? { text, kitAtFault: true } : { text: `this kit's ${kit.certFile}, ${kit.identityFile} and manifest.json agree with each other, so this site cannot tell which check failed (the coordinator gives no reason, by design)${whatElse(at)}`, kitAtFault: false };
}

/** The kit file at fault, or undefined when the kit's files agree with each other. */
function kitCulprit(kit: KitIdentity, reason?: string): string | undefined {
  const restore = 'install the files from this site\'s kit as provisioned';
  // Not an identity refusal: the coordinator opened nothing this kit sealed for it.
  if (reason === 'decrypt-failed')
    return `the coordinator could not decrypt this site's join: the kit's manifest.json names another coordinator key than the coordinator holds (a kit from another provisioning run); ${restore}`;
  const cert = certificateBinding(kit.certPem);
  if (!cert) return `${kit.certFile} is not a fedcausal site certificate (it has no single, well-formed site binding); ${restore}`;
  if (cert.site !== kit.site)
    return `${kit.certFile} is the certificate of site "${cert.site}", not of "${kit.site}" (this kit's tls/ files come from another site's kit); ${restore}`;
  const enrolledKey = kit.enrolled.find((s) => s.name === kit.site)?.signingPublicKey;
  const identityKey = Buffer.from(kit.signingPublicKey);
  const certMatchesManifest = enrolledKey !== undefined && sameKey(cert.signingPublicKey, enrolledKey);
  const identityMatchesManifest = enrolledKey !== undefined && identityKey.equals(Buffer.from(enrolledKey, 'base64'));
  if (certMatchesManifest && !identityMatchesManifest) return `${identityCulprit(kit, identityKey)}; ${restore}`;
  if (!certMatchesManifest && identityMatchesManifest)
    return `${kit.certFile} is bound to another signing key than this site's identity.json and manifest.json (a certificate from an earlier provisioning of "${kit.site}" or another kit); ${restore}`;
  if (!certMatchesManifest && sameKey(cert.signingPublicKey, identityKey.toString('base64')))
    return `${kit.identityFile} and ${kit.certFile} agree with each other but not with manifest.json, which enrolls another key for "${kit.site}" (the site was re-keyed, add-site --replace, and this kit mixes old and new files); install the whole latest kit`;
  if (!certMatchesManifest) return `none of ${kit.certFile}, ${kit.identityFile} and manifest.json agree on this site's signing key; ${restore}`;
  return undefined;
}

/** identity.json holds a key the manifest does not enroll for this site: whose, if anyone's. */
function identityCulprit(kit: KitIdentity, identityKey: Buffer): string {
  const owner = kit.enrolled.find((s) => identityKey.equals(Buffer.from(s.signingPublicKey, 'base64')));
  if (owner) return `${kit.identityFile} holds the keys of site "${owner.name}", not of "${kit.site}" (another site's identity.json)`;
  return `${kit.identityFile} holds a signing key that manifest.json does not enroll for "${kit.site}" (an identity.json from another kit or another provisioning run)`;
}

/** With a consistent kit: what the refused call still tells, and where the real reason is. */
function whatElse(at: RefusedAt): string {
  const which =
    at === 'challenge'
      ? ': the certificate itself was refused, before identity.json was used (this site revoked, the certificate expired, or the coordinator\'s CA or revocation list out of date)'
      : ': the certificate passed and the join signed with identity.json was refused (the coordinator\'s manifest may enroll another key for this site, or not list it yet: a kit older than the coordinator\'s, or a site added with add-site before the coordinator was restarted with the new manifest.json)';
  return `${which}; the coordinator's log names the reason (ask its operator)`;
}

/** The site and signing key (base64) a certificate is bound to, or undefined when it is not one site binding. */
export function certificateBinding(certPem: string | Buffer): { site: string; signingPublicKey: string } | undefined {
  let sans: string;
  try {
    sans = new X509Certificate(certPem).subjectAltName ?? '';
  } catch {
    return undefined;
  }
  const uris = sans
    .split(', ')
    .filter((n) => n.startsWith(`URI:${SITE_URI_PREFIX}`))
    .map((n) => n.slice('URI:'.length));
  return uris.length === 1 ? parseSiteBindingUri(uris[0]!) : undefined;
}

function sameKey(a: string, b: string): boolean {
  return Buffer.from(a, 'base64').equals(Buffer.from(b, 'base64'));
}

/**
 * The federation CA: a self-signed ECDSA P-256 root that signs the coordinator's
 * server certificate, one client certificate per site and the revocation list.
 * pathLen 0: it signs leaves only, so a stolen leaf key can never mint others.
 * Its private key is for the provisioning machine alone; kits carry the
 * certificate (ca.pem) and never the key.
 */
import { createPrivateKey, createPublicKey } from 'node:crypto';
import { SITE_NAME_PATTERN } from '../federation/manifest.ts';
import { exportPrivateKeyPem, generateTlsKeyPair, importPrivateKeyPem } from './keys.ts';
import { DAY_MS, SIGNING_ALGORITHM, parseCertificate, x509 } from './x509.ts';
import { InputError } from '../errors.ts';

export const DEFAULT_CA_VALIDITY_DAYS = 5 * 365;
/** Certificates start this long before "now", so a peer whose clock is a little behind still accepts them. */
export const CLOCK_SKEW_MS = 5 * 60_000;

export interface FederationCa {
  federation: string;
  certificate: x509.X509Certificate;
  /** Non-extractable once loaded from disk; only createFederationCa's result can export it (keyPem). */
  privateKey: CryptoKey;
}

export interface CreatedCa extends FederationCa {
  /** ca.pem: goes into every kit. */
  certPem: string;
  /** ca.key.pem: PKCS#8, stays on the provisioning machine (0600). */
  keyPem: string;
}

export function caSubject(federation: string): string {
  return `CN=fedcausal ${federation} federation CA, O=fedcausal ${federation}`;
}

export async function createFederationCa(opts: { federation: string; validityDays?: number; now?: Date }): Promise<CreatedCa> {
  const { federation } = opts;
  if (!SITE_NAME_PATTERN.test(federation))
    throw new InputError(`federation name must match ${SITE_NAME_PATTERN}, got ${JSON.stringify(federation)}`);
  const validityDays = opts.validityDays ?? DEFAULT_CA_VALIDITY_DAYS;
  checkDays(validityDays, 'CA validity');
  const now = opts.now ?? new Date();
  const keys = await generateTlsKeyPair();
  const certificate = await x509.X509CertificateGenerator.createSelfSigned({
    name: caSubject(federation),
    keys,
    notBefore: new Date(now.getTime() - CLOCK_SKEW_MS),
    notAfter: new Date(now.getTime() + validityDays * DAY_MS),
    signingAlgorithm: SIGNING_ALGORITHM,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { federation, certificate, privateKey: keys.privateKey, certPem: certificate.toString('pem'), keyPem: await exportPrivateKeyPem(keys.privateKey) };
}

/**
 * Reads the CA back on the provisioning machine (to add or revoke a site). Refuses
 * a key that is not the certificate's, or a certificate that is not a CA: issuing
 * with the wrong pair would give certificates nobody accepts.
 */
export async function loadFederationCa(opts: { certPem: string; keyPem: string }): Promise<FederationCa> {
  const certificate = loadCaCertificate(opts.certPem);
  const privateKey = await importPrivateKeyPem(opts.keyPem, 'CA private key');
  const derivedSpki = createPublicKey(createPrivateKey(opts.keyPem)).export({ type: 'spki', format: 'der' });
  if (!Buffer.from(certificate.publicKey.rawData).equals(derivedSpki))
    throw new InputError('CA private key does not belong to the CA certificate');
  const federation = /^CN=fedcausal (\S+) federation CA/.exec(certificate.subject)?.[1];
  if (federation === undefined) throw new InputError(`CA certificate subject "${certificate.subject}" is not a fedcausal federation CA`);
  return { federation, certificate, privateKey };
}

/** Parses ca.pem and checks it is a CA certificate (what checkPeer and the coordinator trust). */
export function loadCaCertificate(pem: string): x509.X509Certificate {
  const cert = parseCertificate(pem, 'CA certificate');
  const bc = cert.getExtension(x509.BasicConstraintsExtension);
  if (!bc?.ca) throw new InputError('CA certificate is not a CA (basicConstraints cA is not set)');
  return cert;
}

export function checkDays(days: number, what: string): void {
  if (!Number.isFinite(days) || days <= 0) throw new InputError(`${what} must be a positive number of days, got ${days}`);
}

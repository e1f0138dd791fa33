/**
 * Leaf certificates signed by the federation CA: the coordinator's server
 * certificate (serverAuth, SAN = the names and IPs sites dial) and one client
 * certificate per site (clientAuth, CN = site, bound to its Ed25519 key; see
 * binding.ts). Issuing one never touches any other: adding a site is one call.
 */
import { isIP } from 'node:net';
import { siteBindingUri } from './binding.ts';
import { CLOCK_SKEW_MS, checkDays, type FederationCa } from './ca.ts';
import { exportPrivateKeyPem, generateTlsKeyPair } from './keys.ts';
import { DAY_MS, SIGNING_ALGORITHM, x509 } from './x509.ts';
import { InputError } from '../errors.ts';

export const DEFAULT_LEAF_VALIDITY_DAYS = 2 * 365;

export interface IssuedCertificate {
  certificate: x509.X509Certificate;
  certPem: string;
  /** Hex serial number: what a revocation names. */
  serialNumber: string;
  /** PKCS#8 PEM of a key generated here; absent when the caller supplied the public key (e.g. from a CSR). */
  keyPem?: string;
}

export interface LeafOptions {
  /** Default DEFAULT_LEAF_VALIDITY_DAYS, never past the CA's own expiry. */
  validityDays?: number;
  now?: Date;
  /** The holder's key when it was generated elsewhere (a hospital keeping its key off the provisioning machine). */
  publicKey?: CryptoKey | x509.PublicKey;
}

export async function issueServerCertificate(
  ca: FederationCa,
  opts: LeafOptions & { dnsNames?: string[]; ipAddresses?: string[] },
): Promise<IssuedCertificate> {
  const dnsNames = opts.dnsNames ?? [];
  const ipAddresses = (opts.ipAddresses ?? []).map((ip) => ip.replace(/^\[|\]$/g, ''));
  for (const ip of ipAddresses) if (isIP(ip) === 0) throw new InputError(`not an IP address: ${JSON.stringify(ip)}`);
  if (dnsNames.length + ipAddresses.length === 0) throw new InputError('a server certificate needs at least one DNS name or IP address');
  return issueLeaf(ca, opts, {
    subject: `CN=fedcausal ${ca.federation} coordinator, O=fedcausal ${ca.federation}`,
    sans: [...dnsNames.map((value) => ({ type: 'dns' as const, value })), ...ipAddresses.map((value) => ({ type: 'ip' as const, value }))],
    usage: x509.ExtendedKeyUsage.serverAuth,
  });
}

/** `signingPublicKey`: the site's Ed25519 key, base64 as in manifest.json. */
export async function issueSiteCertificate(
  ca: FederationCa,
  opts: LeafOptions & { site: string; signingPublicKey: string },
): Promise<IssuedCertificate> {
  return issueLeaf(ca, opts, {
    subject: `CN=${opts.site}, O=fedcausal ${ca.federation}`,
    sans: [{ type: 'url', value: siteBindingUri(opts.site, opts.signingPublicKey) }],
    usage: x509.ExtendedKeyUsage.clientAuth,
  });
}

async function issueLeaf(
  ca: FederationCa,
  opts: LeafOptions,
  leaf: { subject: string; sans: x509.JsonGeneralNames; usage: x509.ExtendedKeyUsage },
): Promise<IssuedCertificate> {
  const validityDays = opts.validityDays ?? DEFAULT_LEAF_VALIDITY_DAYS;
  checkDays(validityDays, 'certificate validity');
  const now = opts.now ?? new Date();
  // A leaf outliving its CA would be refused by every TLS stack after the CA expires anyway.
  const notAfter = new Date(Math.min(now.getTime() + validityDays * DAY_MS, ca.certificate.notAfter.getTime()));
  const generated = opts.publicKey ? undefined : await generateTlsKeyPair();
  const publicKey = opts.publicKey ?? generated!.publicKey;
  const certificate = await x509.X509CertificateGenerator.create({
    subject: leaf.subject,
    issuer: ca.certificate.subjectName,
    publicKey,
    signingKey: ca.privateKey,
    notBefore: new Date(now.getTime() - CLOCK_SKEW_MS),
    notAfter,
    signingAlgorithm: SIGNING_ALGORITHM,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([leaf.usage], false),
      new x509.SubjectAlternativeNameExtension(leaf.sans, false),
      await x509.SubjectKeyIdentifierExtension.create(publicKey),
      await x509.AuthorityKeyIdentifierExtension.create(ca.certificate.publicKey),
    ],
  });
  return {
    certificate,
    certPem: certificate.toString('pem'),
    serialNumber: certificate.serialNumber,
    ...(generated ? { keyPem: await exportPrivateKeyPem(generated.privateKey) } : {}),
  };
}

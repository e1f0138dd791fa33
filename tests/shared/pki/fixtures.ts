/** Shared PKI material for the tests: a real CA, real certificates, real keys (generated once per file). */
import { encodeKey, generateIdentity } from '../../../shared/crypto/keys.ts';
import { createFederationCa, loadCaCertificate, type CreatedCa } from '../../../shared/pki/ca.ts';
import { issueCrl, loadCrl, type VerifiedCrl } from '../../../shared/pki/crl.ts';
import { issueServerCertificate, issueSiteCertificate, type IssuedCertificate } from '../../../shared/pki/issue.ts';
import type { x509 } from '../../../shared/pki/x509.ts';

export interface Federation {
  ca: CreatedCa;
  caCert: x509.X509Certificate;
  emptyCrl: VerifiedCrl;
  server: IssuedCertificate;
  site: IssuedCertificate;
  /** The Ed25519 key (base64) the site certificate is bound to. */
  siteKey: string;
}

export async function makeFederation(federation = 'fed-test', site = 'hospital-a'): Promise<Federation> {
  const ca = await createFederationCa({ federation });
  const caCert = loadCaCertificate(ca.certPem);
  const siteKey = encodeKey(generateIdentity().signing.publicKey);
  return {
    ca,
    caCert,
    emptyCrl: await loadCrl((await issueCrl(ca)).crlPem, caCert),
    server: await issueServerCertificate(ca, { dnsNames: ['localhost'], ipAddresses: ['127.0.0.1', '::1'] }),
    site: await issueSiteCertificate(ca, { site, signingPublicKey: siteKey }),
    siteKey,
  };
}

export function newSigningKey(): string {
  return encodeKey(generateIdentity().signing.publicKey);
}

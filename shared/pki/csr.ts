/**
 * Certificate requests, so a hospital can keep its TLS private key on its own
 * machine: it makes a key and a CSR (createSiteCsr), sends only the CSR, and the
 * provisioning machine certifies the CSR's key (csrPublicKey, then
 * issueSiteCertificate with `publicKey`). The CSR's subject never names the certificate: the site
 * name and Ed25519 key in the certificate come from the manifest, never from the
 * requester.
 */
import { InputError } from '../errors.ts';
import { exportPrivateKeyPem, generateTlsKeyPair } from './keys.ts';
import { KEY_ALGORITHM, SIGNING_ALGORITHM, x509 } from './x509.ts';

/** A fresh P-256 key (PKCS#8 PEM, to keep at the site, 0600) and a CSR for it (to send). */
export async function createSiteCsr(site: string): Promise<{ csrPem: string; keyPem: string }> {
  const keys = await generateTlsKeyPair();
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({ name: `CN=${site}`, keys, signingAlgorithm: SIGNING_ALGORITHM });
  return { csrPem: csr.toString('pem'), keyPem: await exportPrivateKeyPem(keys.privateKey) };
}

/** The public key of a CSR whose self-signature verifies (proof that the requester holds the private key). */
export async function csrPublicKey(csrPem: string): Promise<x509.PublicKey> {
  let csr: x509.Pkcs10CertificateRequest;
  try {
    csr = new x509.Pkcs10CertificateRequest(csrPem);
  } catch (err) {
    throw new InputError(`certificate request is not a valid PKCS#10 CSR: ${(err as Error).message}`, { cause: err });
  }
  const alg = csr.publicKey.algorithm as EcKeyAlgorithm;
  if (alg.name !== KEY_ALGORITHM.name || alg.namedCurve !== KEY_ALGORITHM.namedCurve)
    throw new InputError(`certificate request key must be ECDSA P-256, got ${alg.name}${alg.namedCurve ? ` ${alg.namedCurve}` : ''}`);
  let ok = false;
  try {
    ok = await csr.verify();
  } catch {
    ok = false;
  }
  if (!ok) throw new InputError('certificate request signature does not verify (the request was altered, or its key is not the signer)');
  return csr.publicKey;
}

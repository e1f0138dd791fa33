import { test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate as NodeCert, createPrivateKey, createPublicKey } from 'node:crypto';
import { checkPeer } from '../../../shared/pki/check-peer.ts';
import { createSiteCsr, csrPublicKey } from '../../../shared/pki/csr.ts';
import { issueSiteCertificate } from '../../../shared/pki/issue.ts';
import { generateTlsKeyPair } from '../../../shared/pki/keys.ts';
import { SIGNING_ALGORITHM, x509 } from '../../../shared/pki/x509.ts';
import { makeFederation, newSigningKey } from './fixtures.ts';

const f = await makeFederation();

test("a hospital's CSR is certified for its own key; the site name and Ed25519 key come from the caller, not the CSR", async () => {
  const { csrPem, keyPem } = await createSiteCsr('hospital-a');
  const key = newSigningKey();
  const issued = await issueSiteCertificate(f.ca, { site: 'hospital-a', signingPublicKey: key, publicKey: await csrPublicKey(csrPem) });
  assert.equal(issued.keyPem, undefined);
  assert.deepEqual(
    new NodeCert(issued.certPem).publicKey.export({ type: 'spki', format: 'der' }),
    createPublicKey(createPrivateKey(keyPem)).export({ type: 'spki', format: 'der' }),
  );
  const r = await checkPeer(issued.certPem, { caCert: f.caCert, crl: f.emptyCrl });
  assert.deepEqual(r.ok && [r.site, r.ed25519PublicKey], ['hospital-a', key]);
});

test('a CSR whose signature does not verify, or with another key type, or garbage, is refused', async () => {
  const { csrPem } = await createSiteCsr('hospital-a');
  const csr = new x509.Pkcs10CertificateRequest(csrPem);
  const der = new Uint8Array(csr.rawData);
  // Alter one byte of the signed subject ("hospital-a" -> "hospital-b").
  const at = Buffer.from(der).indexOf(Buffer.from('hospital-a'));
  assert.ok(at > 0);
  der[at + 9] = 'b'.charCodeAt(0);
  await assert.rejects(csrPublicKey(x509.PemConverter.encode(der, 'CERTIFICATE REQUEST')), /signature does not verify/);

  const p384 = (await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-384' }, true, ['sign', 'verify']));
  const other = await x509.Pkcs10CertificateRequestGenerator.create({ name: 'CN=x', keys: p384, signingAlgorithm: { name: 'ECDSA', hash: 'SHA-384' } });
  await assert.rejects(csrPublicKey(other.toString('pem')), /must be ECDSA P-256/);
  await assert.rejects(csrPublicKey('not a csr'), /not a valid PKCS#10 CSR/);
  // Control: an untouched CSR from the same generator passes.
  const keys = await generateTlsKeyPair();
  const good = await x509.Pkcs10CertificateRequestGenerator.create({ name: 'CN=x', keys, signingAlgorithm: SIGNING_ALGORITHM });
  assert.ok(await csrPublicKey(good.toString('pem')));
});

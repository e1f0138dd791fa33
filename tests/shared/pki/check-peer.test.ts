import { test } from 'node:test';
import assert from 'node:assert/strict';
import { peerMatchesSigner, siteBindingUri } from '../../../shared/pki/binding.ts';
import { createFederationCa } from '../../../shared/pki/ca.ts';
import { checkPeer, type PeerCheck, type PeerTrust } from '../../../shared/pki/check-peer.ts';
import { issueCrl, loadCrl, revoke } from '../../../shared/pki/crl.ts';
import { issueSiteCertificate } from '../../../shared/pki/issue.ts';
import { generateTlsKeyPair } from '../../../shared/pki/keys.ts';
import { DAY_MS, SIGNING_ALGORITHM, x509 } from '../../../shared/pki/x509.ts';
import { makeFederation, newSigningKey } from './fixtures.ts';

const f = await makeFederation('fed-test', 'hospital-a');
const trust: PeerTrust = { caCert: f.caCert, crl: f.emptyCrl };

function refusedWith(r: PeerCheck, code: string): void {
  assert.equal(r.ok, false, `expected refusal ${code}, got ${JSON.stringify(r)}`);
  if (!r.ok) assert.equal(r.code, code, r.reason);
}

/** A certificate signed by our CA with hand-picked subject and extensions: what a buggy or hostile issuer might produce. */
async function signedByCa(subject: string, extensions: x509.Extension[]): Promise<string> {
  const keys = await generateTlsKeyPair();
  const cert = await x509.X509CertificateGenerator.create({
    subject,
    issuer: f.ca.certificate.subjectName,
    publicKey: keys.publicKey,
    signingKey: f.ca.privateKey,
    signingAlgorithm: SIGNING_ALGORITHM,
    notBefore: new Date(Date.now() - 60_000),
    notAfter: new Date(Date.now() + DAY_MS),
    extensions,
  });
  return cert.toString('pem');
}
const clientEku = new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.clientAuth]);
const san = (...uris: string[]) => new x509.SubjectAlternativeNameExtension(uris.map((value) => ({ type: 'url' as const, value })));

test('a valid site certificate names its site and its Ed25519 key (PEM or DER)', async () => {
  for (const input of [f.site.certPem, new Uint8Array(f.site.certificate.rawData), Buffer.from(f.site.certificate.rawData)]) {
    const r = await checkPeer(input, trust);
    assert.equal(r.ok, true, JSON.stringify(r));
    if (!r.ok) return;
    assert.equal(r.site, 'hospital-a');
    assert.equal(r.ed25519PublicKey, f.siteKey);
    assert.equal(r.serialNumber, f.site.serialNumber);
    assert.equal(peerMatchesSigner(r, { site: 'hospital-a', signingPublicKey: f.siteKey }), true);
  }
});

test('no certificate is refused', async () => {
  for (const none of [undefined, null, '', new Uint8Array(0)]) refusedWith(await checkPeer(none, trust), 'no-certificate');
});

test('bytes that are not a certificate are refused', async () => {
  refusedWith(await checkPeer(new Uint8Array([0x30, 0x03, 0x02, 0x01, 0x01]), trust), 'malformed');
  refusedWith(await checkPeer('-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n', trust), 'malformed');
});

test('a self-signed site certificate is refused, even one naming our CA as issuer', async () => {
  const keys = await generateTlsKeyPair();
  const uri = siteBindingUri('hospital-a', f.siteKey);
  for (const name of ['CN=hospital-a, O=fedcausal fed-test', f.ca.certificate.subject]) {
    const cert = await x509.X509CertificateGenerator.createSelfSigned({
      name,
      keys,
      signingAlgorithm: SIGNING_ALGORITHM,
      extensions: [clientEku, san(uri)],
    });
    refusedWith(await checkPeer(cert.toString('pem'), trust), 'untrusted');
  }
});

test("another federation's certificate is refused, even with the same federation, site name and key", async () => {
  const other = await createFederationCa({ federation: 'fed-test' });
  const theirs = await issueSiteCertificate(other, { site: 'hospital-a', signingPublicKey: f.siteKey });
  assert.equal(theirs.certificate.issuer, f.caCert.subject); // same name: only the signature tells them apart
  refusedWith(await checkPeer(theirs.certPem, trust), 'untrusted');
});

test('an expired certificate is refused, and one not yet valid', async () => {
  const threeYearsAgo = new Date(Date.now() - 3 * 365 * DAY_MS);
  const expired = await issueSiteCertificate(f.ca, { site: 'hospital-a', signingPublicKey: f.siteKey, now: threeYearsAgo, validityDays: 1 });
  refusedWith(await checkPeer(expired.certPem, trust), 'expired');
  const future = await issueSiteCertificate(f.ca, { site: 'hospital-a', signingPublicKey: f.siteKey, now: new Date(Date.now() + 10 * DAY_MS) });
  refusedWith(await checkPeer(future.certPem, trust), 'not-yet-valid');
  // The same valid certificate, checked at a time past its end.
  refusedWith(await checkPeer(f.site.certPem, { ...trust, now: new Date(f.site.certificate.notAfter.getTime() + 1000) }), 'expired');
});

test('a revoked certificate is refused; the other sites still connect', async () => {
  const b = await issueSiteCertificate(f.ca, { site: 'hospital-b', signingPublicKey: newSigningKey() });
  const crl = await loadCrl((await revoke(f.ca, f.emptyCrl, [{ serialNumber: f.site.serialNumber, reason: x509.X509CrlReason.keyCompromise }])).crlPem, f.caCert);
  const r = await checkPeer(f.site.certPem, { ...trust, crl });
  refusedWith(r, 'revoked');
  // The site it was issued to is named, for the operator who revoked it and reads the coordinator's log.
  assert.equal(!r.ok && r.site, 'hospital-a');
  assert.equal((await checkPeer(b.certPem, { ...trust, crl })).ok, true);
});

test('a certificate not issued for TLS clients is refused: the server certificate, the CA itself, no EKU', async () => {
  refusedWith(await checkPeer(f.server.certPem, trust), 'wrong-usage');
  refusedWith(await checkPeer(f.ca.certPem, trust), 'wrong-usage');
  const uri = siteBindingUri('hospital-a', f.siteKey);
  refusedWith(await checkPeer(await signedByCa('CN=hospital-a', [san(uri)]), trust), 'wrong-usage');
  const noSign = new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyEncipherment, true);
  refusedWith(await checkPeer(await signedByCa('CN=hospital-a', [clientEku, noSign, san(uri)]), trust), 'wrong-usage');
});

test('a missing, doubled, malformed or mismatched site binding is refused', async () => {
  const uri = siteBindingUri('hospital-a', f.siteKey);
  const cases: [string, x509.Extension[]][] = [
    ['CN=hospital-a', [clientEku]],
    ['CN=hospital-a', [clientEku, san(uri, siteBindingUri('hospital-a', newSigningKey()))]],
    ['CN=hospital-a', [clientEku, san(`${uri.slice(0, -2)}`)]], // truncated key
    ['CN=hospital-b', [clientEku, san(uri)]], // CN and binding disagree
    ['CN=hospital-a, CN=hospital-b', [clientEku, san(uri)]],
  ];
  for (const [subject, exts] of cases) refusedWith(await checkPeer(await signedByCa(subject, exts), trust), 'bad-binding');
  // The control: the same construction with a proper binding passes, so the refusals above are about the binding.
  assert.equal((await checkPeer(await signedByCa('CN=hospital-a', [clientEku, san(uri)]), trust)).ok, true);
});

test("a valid certificate whose Ed25519 key is not the envelope signer's does not match", async () => {
  const r = await checkPeer(f.site.certPem, trust);
  assert.equal(r.ok, true);
  if (!r.ok) return;
  assert.equal(peerMatchesSigner(r, { site: 'hospital-a', signingPublicKey: newSigningKey() }), false);
  assert.equal(peerMatchesSigner(r, { site: 'hospital-b', signingPublicKey: f.siteKey }), false);
});

test('trust material out of date refuses everyone (fail closed): CA expired, revocation list past nextUpdate', async () => {
  refusedWith(await checkPeer(f.site.certPem, { ...trust, now: new Date(f.caCert.notAfter.getTime() + 1000) }), 'trust-expired');
  const shortCrl = await loadCrl((await issueCrl(f.ca, { validityDays: 1 })).crlPem, f.caCert);
  assert.equal((await checkPeer(f.site.certPem, { ...trust, crl: shortCrl })).ok, true);
  refusedWith(await checkPeer(f.site.certPem, { ...trust, crl: shortCrl, now: new Date(Date.now() + 2 * DAY_MS) }), 'trust-expired');
});

test('refusal reasons quote certificate text bounded, whatever its size', async () => {
  const keys = await generateTlsKeyPair();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({ name: `CN=${'x'.repeat(10_000)}`, keys, signingAlgorithm: SIGNING_ALGORITHM });
  const r = await checkPeer(cert.toString('pem'), trust);
  refusedWith(r, 'untrusted');
  if (!r.ok) assert.ok(r.reason.length < 300, `${r.reason.length} characters`);
});

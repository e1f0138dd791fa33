import { test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate as NodeCert, createPrivateKey, createPublicKey } from 'node:crypto';
import { DEFAULT_CA_VALIDITY_DAYS, createFederationCa, loadCaCertificate, loadFederationCa } from '../../../shared/pki/ca.ts';
import { DEFAULT_LEAF_VALIDITY_DAYS, issueServerCertificate, issueSiteCertificate } from '../../../shared/pki/issue.ts';
import { generateTlsKeyPair } from '../../../shared/pki/keys.ts';
import { DAY_MS, x509 } from '../../../shared/pki/x509.ts';
import { makeFederation, newSigningKey } from './fixtures.ts';

const SERVER_AUTH = '1.3.6.1.5.5.7.3.1';
const CLIENT_AUTH = '1.3.6.1.5.5.7.3.2';
const f = await makeFederation();
// OpenSSL's reading (through node:crypto), independent of the library that wrote the certificates.
const caNode = new NodeCert(f.ca.certPem);

test('the CA is a self-signed P-256 CA, valid for the default 5 years, its key exported as PKCS#8', () => {
  assert.equal(caNode.ca, true);
  assert.equal(caNode.verify(caNode.publicKey), true);
  assert.equal(caNode.publicKey.asymmetricKeyDetails?.namedCurve, 'prime256v1');
  const days = (Date.parse(caNode.validTo) - Date.parse(caNode.validFrom)) / DAY_MS;
  assert.ok(Math.abs(days - DEFAULT_CA_VALIDITY_DAYS) < 1, `${days} days`);
  assert.match(f.ca.keyPem, /^-----BEGIN PRIVATE KEY-----\n/);
  // The exported key is the certificate's key.
  assert.deepEqual(
    createPublicKey(createPrivateKey(f.ca.keyPem)).export({ type: 'spki', format: 'der' }),
    caNode.publicKey.export({ type: 'spki', format: 'der' }),
  );
  const bc = f.ca.certificate.getExtension(x509.BasicConstraintsExtension);
  assert.equal(bc?.ca, true);
  assert.equal(bc?.pathLength, 0);
  assert.equal(f.ca.certificate.getExtension(x509.KeyUsagesExtension)?.usages, x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign);
});

test('CA validity is configurable and a non-positive one is refused', async () => {
  const ca = await createFederationCa({ federation: 'short', validityDays: 30 });
  const days = (ca.certificate.notAfter.getTime() - Date.now()) / DAY_MS;
  assert.ok(days > 29.9 && days <= 30, `${days}`);
  await assert.rejects(createFederationCa({ federation: 'short', validityDays: 0 }), /positive number of days/);
  await assert.rejects(createFederationCa({ federation: 'Bad Name' }), /federation name must match/);
});

test('the server certificate: signed by the CA, serverAuth only, SAN has the DNS names and IPs', () => {
  const c = new NodeCert(f.server.certPem);
  assert.equal(c.verify(caNode.publicKey), true);
  assert.equal(c.checkIssued(caNode), true);
  assert.equal(c.ca, false);
  assert.deepEqual(c.keyUsage, [SERVER_AUTH]);
  assert.equal(c.checkHost('localhost'), 'localhost');
  assert.equal(c.checkIP('127.0.0.1'), '127.0.0.1');
  assert.equal(c.checkIP('::1'), '::1');
  assert.equal(c.checkIP('10.0.0.1'), undefined);
  assert.equal(c.checkHost('coordinator.example.org'), undefined);
  assert.match(f.server.keyPem!, /^-----BEGIN PRIVATE KEY-----\n/);
});

test('a server certificate needs a name, and IPs must be IPs (brackets allowed for IPv6)', async () => {
  await assert.rejects(issueServerCertificate(f.ca, {}), /at least one DNS name or IP address/);
  await assert.rejects(issueServerCertificate(f.ca, { ipAddresses: ['not-an-ip'] }), /not an IP address/);
  const c = await issueServerCertificate(f.ca, { ipAddresses: ['[::1]'] });
  assert.equal(new NodeCert(c.certPem).checkIP('::1'), '::1');
});

test('a site certificate: CN = site, clientAuth only, bound to the Ed25519 key, 2 years by default', () => {
  const c = new NodeCert(f.site.certPem);
  assert.equal(c.verify(caNode.publicKey), true);
  assert.match(c.subject, /^CN=hospital-a$/m);
  assert.deepEqual(c.keyUsage, [CLIENT_AUTH]);
  const b64url = Buffer.from(f.siteKey, 'base64').toString('base64url');
  assert.equal(c.subjectAltName, `URI:urn:fedcausal:site:hospital-a:ed25519:${b64url}`);
  const days = (Date.parse(c.validTo) - Date.now()) / DAY_MS;
  assert.ok(Math.abs(days - DEFAULT_LEAF_VALIDITY_DAYS) < 1, `${days}`);
  assert.equal(f.site.serialNumber, c.serialNumber.toLowerCase());
});

test('a leaf never outlives its CA', async () => {
  const ca = await createFederationCa({ federation: 'short', validityDays: 10 });
  const leaf = await issueSiteCertificate(ca, { site: 'a', signingPublicKey: newSigningKey(), validityDays: 365 });
  assert.equal(leaf.certificate.notAfter.getTime(), ca.certificate.notAfter.getTime());
});

test('a site added later is signed by the same CA; earlier certificates are untouched', async () => {
  const before = f.site.certPem;
  const later = await issueSiteCertificate(f.ca, { site: 'hospital-z', signingPublicKey: newSigningKey() });
  assert.equal(new NodeCert(later.certPem).verify(caNode.publicKey), true);
  assert.notEqual(later.serialNumber, f.site.serialNumber);
  assert.equal(f.site.certPem, before);
});

test('a key generated elsewhere (e.g. at the hospital) is certified without its private half', async () => {
  const keys = await generateTlsKeyPair();
  const issued = await issueSiteCertificate(f.ca, { site: 'hospital-b', signingPublicKey: newSigningKey(), publicKey: keys.publicKey });
  assert.equal(issued.keyPem, undefined);
  const spki = Buffer.from(await crypto.subtle.exportKey('spki', keys.publicKey));
  assert.deepEqual(new NodeCert(issued.certPem).publicKey.export({ type: 'spki', format: 'der' }), spki);
});

test('the CA loads back from its PEM files and issues; a wrong key or a leaf as CA is refused', async () => {
  const loaded = await loadFederationCa({ certPem: f.ca.certPem, keyPem: f.ca.keyPem });
  assert.equal(loaded.federation, 'fed-test');
  const leaf = await issueSiteCertificate(loaded, { site: 'hospital-c', signingPublicKey: newSigningKey() });
  assert.equal(new NodeCert(leaf.certPem).verify(caNode.publicKey), true);
  const other = await createFederationCa({ federation: 'fed-test' });
  await assert.rejects(loadFederationCa({ certPem: f.ca.certPem, keyPem: other.keyPem }), /does not belong to the CA certificate/);
  assert.throws(() => loadCaCertificate(f.site.certPem), /is not a CA/);
  assert.throws(() => loadCaCertificate('not a certificate'), /not a valid X.509 certificate/);
  await assert.rejects(loadFederationCa({ certPem: f.ca.certPem, keyPem: f.site.certPem }), /PRIVATE KEY/);
});

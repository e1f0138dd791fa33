import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createFederationCa } from '../../../shared/pki/ca.ts';
import { isOlderCrl, isRevoked, issueCrl, loadCrl, normalizeSerial, revoke } from '../../../shared/pki/crl.ts';
import { issueSiteCertificate } from '../../../shared/pki/issue.ts';
import { x509 } from '../../../shared/pki/x509.ts';
import { makeFederation, newSigningKey } from './fixtures.ts';

const f = await makeFederation();

test('a fresh CRL is empty, PEM-labelled "X509 CRL", signed by the CA and valid until the CA expires', async () => {
  const { crlPem } = await issueCrl(f.ca);
  assert.match(crlPem, /^-----BEGIN X509 CRL-----\n/);
  const crl = await loadCrl(crlPem, f.caCert);
  assert.equal(crl.revokedSerials.size, 0);
  assert.equal(crl.nextUpdate?.getTime(), f.caCert.notAfter.getTime());
});

test('revoke() accumulates entries and moves thisUpdate strictly forward', async () => {
  const b = await issueSiteCertificate(f.ca, { site: 'hospital-b', signingPublicKey: newSigningKey() });
  const now = new Date();
  const first = await loadCrl((await revoke(f.ca, undefined, [{ serialNumber: f.site.serialNumber }], { now })).crlPem, f.caCert);
  const second = await loadCrl((await revoke(f.ca, first, [{ serialNumber: b.serialNumber }], { now })).crlPem, f.caCert);
  assert.equal(isRevoked(first, f.site.serialNumber), true);
  assert.equal(isRevoked(first, b.serialNumber), false);
  assert.equal(isRevoked(second, f.site.serialNumber), true);
  assert.equal(isRevoked(second, b.serialNumber), true);
  assert.ok(second.thisUpdate > first.thisUpdate);
  assert.equal(isOlderCrl(first, second), true);
  assert.equal(isOlderCrl(second, first), false);
  // Revoking twice keeps one entry.
  const again = await loadCrl((await revoke(f.ca, second, [{ serialNumber: b.serialNumber }])).crlPem, f.caCert);
  assert.equal(again.revokedSerials.size, 2);
});

test('a CRL signed by another CA, even one with the same federation name, is refused', async () => {
  const other = await createFederationCa({ federation: 'fed-test' });
  const { crlPem } = await issueCrl(other, { entries: [{ serialNumber: 'ab' }] });
  await assert.rejects(loadCrl(crlPem, f.caCert), /not signed by the federation CA/);
});

test('a CRL with one altered byte is refused; garbage is refused', async () => {
  const { crl } = await issueCrl(f.ca, { entries: [{ serialNumber: '0badc0de' }] });
  const der = new Uint8Array(crl.rawData);
  // Flip a bit inside the signed serial number (the DER is found by its bytes, not by offset guessing).
  const at = Buffer.from(der).indexOf(Buffer.from('0badc0de', 'hex'));
  assert.ok(at > 0);
  der[at] = der[at]! ^ 0x01;
  assert.equal(new x509.X509Crl(der).entries[0]!.serialNumber, '0aadc0de');
  await assert.rejects(loadCrl(der, f.caCert), /not signed by the federation CA/);
  await assert.rejects(loadCrl('-----BEGIN X509 CRL-----\nAAAA\n-----END X509 CRL-----\n', f.caCert), /not a valid X.509 CRL/);
});

test('serial numbers compare by value, whatever the case or leading zero bytes', () => {
  assert.equal(normalizeSerial('00AB12'), 'ab12');
  assert.equal(normalizeSerial('ab12'), 'ab12');
  assert.equal(normalizeSerial('00'), '00');
  assert.throws(() => normalizeSerial('xyz'), /hex bytes/);
});

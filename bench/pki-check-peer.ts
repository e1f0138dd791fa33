/**
 * Cost of checkPeer, the per-connection certificate check, and of issuing one
 * site certificate, in this process. Standalone (not in bench/run.ts):
 *   node --import tsx bench/pki-check-peer.ts [checks]
 */
import { encodeKey, generateIdentity } from '../shared/crypto/keys.ts';
import { createFederationCa, loadCaCertificate } from '../shared/pki/ca.ts';
import { checkPeer } from '../shared/pki/check-peer.ts';
import { loadCrl, revoke } from '../shared/pki/crl.ts';
import { issueSiteCertificate } from '../shared/pki/issue.ts';
import { median } from './workload.ts';

const checks = Number(process.argv[2] ?? 2000);
const ca = await createFederationCa({ federation: 'bench' });
const caCert = loadCaCertificate(ca.certPem);

const issueMs: number[] = [];
const sites = [];
for (let i = 0; i < 50; i++) {
  const t = performance.now();
  sites.push(await issueSiteCertificate(ca, { site: `site-${i}`, signingPublicKey: encodeKey(generateIdentity().signing.publicKey) }));
  issueMs.push(performance.now() - t);
}
// A CRL with 1000 revoked serials: revocation lookups must not grow with the list.
const entries = Array.from({ length: 1000 }, (_, i) => ({ serialNumber: (0x1000 + i).toString(16).padStart(8, '0') }));
const crl = await loadCrl((await revoke(ca, undefined, entries)).crlPem, caCert);
const der = sites.map((s) => new Uint8Array(s.certificate.rawData));

const checkMs: number[] = [];
for (let i = 0; i < checks; i++) {
  const t = performance.now();
  const r = await checkPeer(der[i % der.length], { caCert, crl });
  checkMs.push(performance.now() - t);
  if (!r.ok) throw new Error(`unexpected refusal: ${r.reason}`);
}
const fmt = (xs: number[]) => `median ${median(xs).toFixed(3)} ms, p99 ${xs.sort((a, b) => a - b)[Math.floor(xs.length * 0.99)]!.toFixed(3)} ms`;
console.log(`issueSiteCertificate (key generation included), ${issueMs.length} sites: ${fmt(issueMs)}`);
console.log(`checkPeer with a 1000-entry CRL, ${checks} checks: ${fmt(checkMs)}`);

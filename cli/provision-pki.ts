/**
 * What `provision` adds for mutual TLS (docs/pki.md): the federation CA (kept in
 * DIR/ca/ only), the coordinator's server certificate, one client certificate per
 * site bound to its Ed25519 key, and an empty revocation list; and the one writer
 * every kit file goes through, so modes never depend on the umask.
 */
import { chmodSync, closeSync, fchmodSync, mkdirSync, openSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { createFederationCa, type FederationCa } from '../shared/pki/ca.ts';
import { issueCrl } from '../shared/pki/crl.ts';
import { issueServerCertificate, issueSiteCertificate, type IssuedCertificate } from '../shared/pki/issue.ts';
import { COORDINATOR_TLS, SITE_TLS } from '../shared/pki/kit-tls.ts';

/** Kit files hold keys or say where the data is: owner only. */
export const KIT_FILE_MODE = 0o600;
export const KIT_DIR_MODE = 0o700;
export const KIT_EXEC_MODE = 0o700;

/** Creates (or truncates) `path` with exactly `mode`, whatever the umask. */
export function writeKitFile(path: string, data: string | Uint8Array, mode: number = KIT_FILE_MODE): void {
  const fd = openSync(path, 'w', mode);
  try {
    fchmodSync(fd, mode); // the umask removed bits at creation; an existing file kept its own
    writeFileSync(fd, data);
  } finally {
    closeSync(fd);
  }
}

/** mkdir with exactly `mode` (mkdir's mode is filtered by the umask too). */
export function makeKitDir(path: string, mode: number = KIT_DIR_MODE): void {
  mkdirSync(path, { mode });
  chmodSync(path, mode);
}

/** The names sites dial for the coordinator: its host, and always the loopback names. */
export function serverNames(host: string): { dnsNames: string[]; ipAddresses: string[] } {
  const bare = host.replace(/^\[|\]$/g, '');
  const ips = new Set(['127.0.0.1']);
  const dns = new Set(['localhost']);
  if (isIP(bare) !== 0) ips.add(bare);
  else dns.add(bare.toLowerCase());
  return { dnsNames: [...dns], ipAddresses: [...ips] };
}

export interface PkiKits {
  federation: string;
  coordinatorHost: string;
  /** `dir` is the kit folder, `signingPublicKey` base64 as in the manifest. */
  coordinatorKit: string;
  sites: { name: string; dir: string; signingPublicKey: string }[];
}

/** Writes DIR/ca/{ca.pem, ca.key.pem, crl.pem, issued/} and every kit's tls/ folder. */
export async function writePki(caDir: string, kits: PkiKits): Promise<void> {
  const ca = await createFederationCa({ federation: kits.federation });
  const crl = await issueCrl(ca);
  const issuedDir = join(caDir, 'issued');
  makeKitDir(issuedDir);
  writeKitFile(join(caDir, 'ca.pem'), ca.certPem);
  writeKitFile(join(caDir, 'ca.key.pem'), ca.keyPem);
  writeKitFile(join(caDir, 'crl.pem'), crl.crlPem);

  const server = await issueServerCertificate(ca, serverNames(kits.coordinatorHost));
  const ctls = join(kits.coordinatorKit, 'tls');
  makeKitDir(ctls);
  writeKitFile(join(kits.coordinatorKit, COORDINATOR_TLS.ca), ca.certPem);
  writeKitFile(join(kits.coordinatorKit, COORDINATOR_TLS.cert), server.certPem);
  writeKitFile(join(kits.coordinatorKit, COORDINATOR_TLS.key), server.keyPem!);
  writeKitFile(join(kits.coordinatorKit, COORDINATOR_TLS.crl), crl.crlPem);
  writeKitFile(join(issuedDir, `coordinator-${server.serialNumber}.pem`), server.certPem);

  for (const s of kits.sites) await writeSiteTls(ca, ca.certPem, issuedDir, s);
}

/** A site's certificate and key into its kit's tls/, and a copy of the certificate into `issuedDir` (to revoke it by name). */
export async function writeSiteTls(
  ca: FederationCa,
  caPem: string,
  issuedDir: string,
  s: { name: string; dir: string; signingPublicKey: string },
): Promise<IssuedCertificate> {
  const cert = await issueSiteCertificate(ca, { site: s.name, signingPublicKey: s.signingPublicKey });
  makeKitDir(join(s.dir, 'tls'));
  writeKitFile(join(s.dir, SITE_TLS.ca), caPem);
  writeKitFile(join(s.dir, SITE_TLS.cert), cert.certPem);
  writeKitFile(join(s.dir, SITE_TLS.key), cert.keyPem!);
  writeKitFile(join(issuedDir, `${s.name}-${cert.serialNumber}.pem`), cert.certPem);
  return cert;
}

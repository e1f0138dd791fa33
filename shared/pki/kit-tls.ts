/**
 * A kit's TLS files, at the conventional places next to its config file
 * (docs/pki.md): no config field names them, so every kit provisioned the same
 * way finds them the same way. A kit missing one of them is refused with the file
 * named and how to restore it: serving or joining in plaintext is not an option.
 * Each file is parsed here, so a damaged one is named now rather than by OpenSSL's
 * bare "no start line" when gRPC first uses it.
 */
import { X509Certificate, createPrivateKey, type KeyObject } from 'node:crypto';
import { existsSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { InputError } from '../errors.ts';
import { readKeyPem } from '../crypto/key-file-mode.ts';
import type { TlsFiles } from './grpc-credentials.ts';
import { readKitText } from '../input-file.ts';
import { clockGap } from '../time-gap.ts';

export const COORDINATOR_TLS = { ca: 'tls/ca.pem', cert: 'tls/server.pem', key: 'tls/server.key.pem', crl: 'tls/crl.pem' } as const;
export const SITE_TLS = { ca: 'tls/ca.pem', cert: 'tls/client.pem', key: 'tls/client.key.pem' } as const;

/** The coordinator kit's TLS files (beside coordinator.yaml) and the paths the trust store watches. */
export function loadCoordinatorTls(configPath: string): TlsFiles & { caPath: string; crlPath: string } {
  const kit = dirname(configPath);
  requireTlsFiles(configPath, Object.values(COORDINATOR_TLS), 'coordinator');
  const files = loadTlsFiles(kit, COORDINATOR_TLS, 'coordinator');
  return { ...files, caPath: join(kit, COORDINATOR_TLS.ca), crlPath: join(kit, COORDINATOR_TLS.crl) };
}

/** A site kit's TLS files (beside site.yaml). */
export function loadSiteTls(configPath: string): TlsFiles {
  requireTlsFiles(configPath, Object.values(SITE_TLS), 'site');
  return loadTlsFiles(dirname(configPath), SITE_TLS, 'site');
}

/**
 * Throws when one of `names` (kit-relative, tls/...) is not beside `configPath`. One file
 * missing is restored, not re-provisioned: a new provisioning re-keys every site. Only a
 * kit with no tls/ at all gets the re-provision advice (or was its config moved out?).
 */
export function requireTlsFiles(configPath: string, names: readonly string[], role: 'site' | 'coordinator'): void {
  const kit = dirname(configPath);
  const tlsDir = join(kit, 'tls');
  if (!existsSync(tlsDir))
    throw new InputError(
      `${tlsDir} is missing: there is no tls/ folder beside ${configPath} (every gRPC connection is mutual TLS). ` +
        `If ${basename(configPath)} was moved out of its kit, put it back in the kit folder, beside tls/; ` +
        `if this ${role} kit never had a tls/ folder (provisioned before mutual TLS), re-provision the federation (fedcausal provision) and install the new kit`,
    );
  for (const name of names) {
    const path = join(kit, name);
    if (!existsSync(path)) throw new InputError(`${path} is missing from this ${role} kit: ${restoreOne(name, basename(configPath), role)}`);
  }
}

/** How to bring back one missing file: re-provisioning would replace every kit for one file. */
function restoreOne(name: string, configName: string, role: string): string {
  const restore =
    `put it back as ${name} beside ${configName}, from a backup or from the ${role} kit as delivered ` +
    '(no need to re-provision, which would re-key every site)';
  // The CA certificate is public and the same in every kit of a federation.
  if (name.endsWith('ca.pem')) return `${restore}; it is the same file in every kit of this federation`;
  // A private key exists nowhere else; certificates and the CRL also sit in the operator's provisioning folder.
  if (name.endsWith('.key.pem'))
    return `${restore}; no one else holds a copy of this key: without a backup, the federation operator must issue this ${role} new keys`;
  return `${restore}, or copy it from the federation's provisioning folder, which keeps one under ca/ (the federation operator has it)`;
}

function loadTlsFiles(kit: string, names: { ca: string; cert: string; key: string }, role: string): TlsFiles {
  const [ca, cert, key] = [names.ca, names.cert, names.key].map((n) => join(kit, n)) as [string, string, string];
  const caPem = readKitText(ca);
  const certPem = readKitText(cert);
  const keyPem = readKeyPem(key);
  parseCertificate(ca, caPem, role);
  const leaf = parseCertificate(cert, certPem, role);
  requireKeyOf(leaf, cert, key, parsePrivateKey(key, keyPem, role), role);
  checkValidNow(leaf, cert, role);
  return { caPem, certPem, keyPem };
}

/**
 * This host's certificate outside its validity by this host's clock: every peer refuses it, and
 * only a TLS failure said so, which read as another provisioning's kit (an outside try set a
 * coordinator's clock a day back: every site was refused, nobody named the clock). Exit 1: once
 * the clock is set (NTP), a restart by the supervisor starts.
 */
export function checkValidNow(leaf: X509Certificate, certPath: string, role: string, now = new Date()): void {
  const from = new Date(leaf.validFrom);
  const to = new Date(leaf.validTo);
  if (now < from)
    throw new Error(
      `${certPath}: this ${role}'s certificate is valid from ${from.toISOString()}, and this host's clock says ${now.toISOString()} (${clockGap(from.getTime() - now.getTime())} earlier): ` +
        "this host's clock is behind; set it (timedatectl status says whether it is synchronised by NTP), then start again",
    );
  if (now > to)
    throw new Error(
      `${certPath}: this ${role}'s certificate expired at ${to.toISOString()} by this host's clock (${now.toISOString()}): ` +
        `if the clock is right, ${role === 'site' ? 'renew it (docs/pki.md, "Rotation at a hospital": `fedcausal site renew-request`)' : 'the federation operator issues it anew (docs/pki.md)'}; if not, set the clock (timedatectl)`,
    );
}

/** How to repair a kit whose TLS files are damaged: the same advice for every file. */
const restoreHint = (role: string) =>
  `Restore the ${role} kit's tls/ folder from the kit as provisioned, or re-provision (fedcausal provision) and install the new kit`;

function parseCertificate(path: string, pem: string, role: string): X509Certificate {
  try {
    return new X509Certificate(pem);
  } catch (err) {
    throw new InputError(
      `${path} is not a PEM certificate (expected a "-----BEGIN CERTIFICATE-----" block; ${(err as Error).message}). ${restoreHint(role)}`,
      { cause: err },
    );
  }
}

function parsePrivateKey(path: string, pem: string, role: string): KeyObject {
  try {
    return createPrivateKey(pem);
  } catch (err) {
    throw new InputError(
      `${path} is not a PEM private key (expected a "-----BEGIN PRIVATE KEY-----" block; ${(err as Error).message}). ${restoreHint(role)}`,
      { cause: err },
    );
  }
}

/** A key and certificate from different kits parse fine but fail every handshake: refuse the pair now. */
function requireKeyOf(leaf: X509Certificate, certPath: string, keyPath: string, key: KeyObject, role: string): void {
  if (!leaf.checkPrivateKey(key))
    throw new InputError(`${keyPath} is not the private key of the certificate ${certPath} (the two come from different kits). ${restoreHint(role)}`);
}

/**
 * A kit's TLS files, at the conventional places next to its config file
 * (docs/pki.md): no config field names them, so every kit provisioned the same
 * way finds them the same way. A kit without them (provisioned before mTLS) is
 * refused with the missing file named: serving or joining in plaintext is not an
 * option. Each file is parsed here, so a damaged one is named now rather than by
 * OpenSSL's bare "no start line" when gRPC first uses it.
 */
import { X509Certificate, createPrivateKey, type KeyObject } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { InputError } from '../errors.ts';
import { readKeyPem } from '../crypto/key-file-mode.ts';
import type { TlsFiles } from './grpc-credentials.ts';

export const COORDINATOR_TLS = { ca: 'tls/ca.pem', cert: 'tls/server.pem', key: 'tls/server.key.pem', crl: 'tls/crl.pem' } as const;
export const SITE_TLS = { ca: 'tls/ca.pem', cert: 'tls/client.pem', key: 'tls/client.key.pem' } as const;

/** The coordinator kit's TLS files (beside coordinator.yaml) and the paths the trust store watches. */
export function loadCoordinatorTls(configPath: string): TlsFiles & { caPath: string; crlPath: string } {
  const kit = dirname(configPath);
  const files = loadTlsFiles(kit, COORDINATOR_TLS, 'coordinator');
  const crlPath = join(kit, COORDINATOR_TLS.crl);
  requireFile(crlPath, 'coordinator');
  return { ...files, caPath: join(kit, COORDINATOR_TLS.ca), crlPath };
}

/** A site kit's TLS files (beside site.yaml). */
export function loadSiteTls(configPath: string): TlsFiles {
  return loadTlsFiles(dirname(configPath), SITE_TLS, 'site');
}

function loadTlsFiles(kit: string, names: { ca: string; cert: string; key: string }, role: string): TlsFiles {
  const [ca, cert, key] = [names.ca, names.cert, names.key].map((n) => join(kit, n)) as [string, string, string];
  for (const p of [ca, cert, key]) requireFile(p, role);
  const caPem = readText(ca);
  const certPem = readText(cert);
  const keyPem = readKeyPem(key);
  parseCertificate(ca, caPem, role);
  const leaf = parseCertificate(cert, certPem, role);
  requireKeyOf(leaf, cert, key, parsePrivateKey(key, keyPem, role), role);
  return { caPem, certPem, keyPem };
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

function requireFile(path: string, role: string): void {
  if (!existsSync(path))
    throw new InputError(
      `${path} is missing: this ${role} kit has no TLS files (every gRPC connection is mutual TLS). ` +
        'Re-provision the federation with this version of fedcausal (fedcausal provision) and install the new kit',
    );
}

function readText(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw new InputError(`cannot read ${path}: ${(err as Error).message}`, { cause: err });
  }
}

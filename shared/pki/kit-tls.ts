/**
 * A kit's TLS files, at the conventional places next to its config file
 * (docs/pki.md): no config field names them, so every kit provisioned the same
 * way finds them the same way. A kit without them (provisioned before mTLS) is
 * refused with the missing file named: serving or joining in plaintext is not an
 * option.
 */
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
  return { caPem: readText(ca), certPem: readText(cert), keyPem: readKeyPem(key) };
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

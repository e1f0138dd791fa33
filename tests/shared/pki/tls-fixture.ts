/** Mutual TLS material for in-process gRPC tests: a real federation CA, server and site certificates. */
import type { ServerTls } from '../../../coordinator/grpc-server.ts';
import type { TlsFiles } from '../../../shared/pki/grpc-credentials.ts';
import type { PeerTrust } from '../../../shared/pki/check-peer.ts';
import { issueSiteCertificate } from '../../../shared/pki/issue.ts';
import { makeFederation, newSigningKey, type Federation } from './fixtures.ts';

export interface TlsFixture {
  fed: Federation;
  server: ServerTls;
  /** The site certificate of `site`, bound to `signingPublicKey`. */
  site: TlsFiles;
  /** Another certificate from the same CA. */
  issueSite(site: string, signingPublicKey?: string): Promise<TlsFiles>;
}

/** `signingPublicKey`: base64 Ed25519 key the site certificate is bound to (a fresh one if omitted). */
export async function makeTlsFixture(site = 'a', signingPublicKey = newSigningKey(), trust?: () => PeerTrust): Promise<TlsFixture> {
  const fed = await makeFederation('fed-test', site);
  const issueSite = async (name: string, key = newSigningKey()): Promise<TlsFiles> => {
    const c = await issueSiteCertificate(fed.ca, { site: name, signingPublicKey: key });
    return { caPem: fed.ca.certPem, certPem: c.certPem, keyPem: c.keyPem! };
  };
  return {
    fed,
    server: {
      files: { caPem: fed.ca.certPem, certPem: fed.server.certPem, keyPem: fed.server.keyPem! },
      trust: { current: async () => trust?.() ?? { caCert: fed.caCert, crl: fed.emptyCrl } },
    },
    site: await issueSite(site, signingPublicKey),
    issueSite,
  };
}

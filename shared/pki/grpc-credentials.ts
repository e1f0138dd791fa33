/**
 * grpc-js credentials from the PKI's PEM files, and the peer certificate of a
 * call. The server always demands a client certificate from the federation CA
 * (checkClientCertificate = true): TLS refuses peers without one at the
 * handshake, and checkPeer then adds revocation and the site binding.
 */
import * as grpc from '@grpc/grpc-js';

export interface TlsFiles {
  /** ca.pem: the only CA trusted, for both directions. */
  caPem: string | Buffer;
  certPem: string | Buffer;
  /** PKCS#8 PEM (0600 on disk). */
  keyPem: string | Buffer;
}

const buf = (s: string | Buffer): Buffer => (typeof s === 'string' ? Buffer.from(s) : s);

export function mtlsServerCredentials(files: TlsFiles): grpc.ServerCredentials {
  return grpc.ServerCredentials.createSsl(buf(files.caPem), [{ private_key: buf(files.keyPem), cert_chain: buf(files.certPem) }], true);
}

/** A site's channel: trusts only the federation CA and presents the site certificate. */
export function mtlsChannelCredentials(files: TlsFiles, verify?: grpc.VerifyOptions): grpc.ChannelCredentials {
  return grpc.credentials.createSsl(buf(files.caPem), buf(files.keyPem), buf(files.certPem), verify);
}

/** DER of the client certificate TLS verified on this call, or undefined (no TLS, no certificate). */
export function peerCertificateDer(call: { getAuthContext(): { sslPeerCertificate?: { raw?: Buffer } } | null }): Buffer | undefined {
  const raw = call.getAuthContext()?.sslPeerCertificate?.raw;
  return raw && raw.length > 0 ? raw : undefined;
}

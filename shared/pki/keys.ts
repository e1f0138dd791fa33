/**
 * TLS key pairs (ECDSA P-256, separate from the Ed25519/X25519 identity keys:
 * one key per protocol) and their PEM forms. Private keys leave this module only
 * as unencrypted PKCS#8 PEM, the format Node's TLS (and so grpc-js) reads; whoever
 * writes them to disk makes the file 0600.
 */
import { KEY_ALGORITHM, nodeCrypto, x509 } from './x509.ts';
import { InputError } from '../errors.ts';

export interface TlsKeyPair {
  publicKey: CryptoKey;
  privateKey: CryptoKey;
}

export async function generateTlsKeyPair(): Promise<TlsKeyPair> {
  // Extractable: the provisioning machine must write the private key into a kit.
  return (await nodeCrypto.subtle.generateKey(KEY_ALGORITHM, true, ['sign', 'verify']));
}

/** "-----BEGIN PRIVATE KEY-----" (PKCS#8). */
export async function exportPrivateKeyPem(key: CryptoKey): Promise<string> {
  const der = await nodeCrypto.subtle.exportKey('pkcs8', key);
  return x509.PemConverter.encode(der, 'PRIVATE KEY');
}

/** Reads a PKCS#8 P-256 private key (as written by exportPrivateKeyPem) for signing. */
export async function importPrivateKeyPem(pem: string, what = 'private key'): Promise<CryptoKey> {
  let der: ArrayBuffer;
  try {
    const blocks = x509.PemConverter.decodeWithHeaders(pem).filter((b) => b.type === 'PRIVATE KEY');
    if (blocks.length !== 1) throw new InputError('expected exactly one "PRIVATE KEY" (PKCS#8) PEM block');
    der = blocks[0]!.rawData;
  } catch (err) {
    throw new InputError(`${what}: ${(err as Error).message}`, { cause: err });
  }
  try {
    return await nodeCrypto.subtle.importKey('pkcs8', der, KEY_ALGORITHM, false, ['sign']);
  } catch (err) {
    throw new InputError(`${what} is not an ECDSA P-256 PKCS#8 key: ${(err as Error).message}`, { cause: err });
  }
}

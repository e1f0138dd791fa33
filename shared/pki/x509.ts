/**
 * The one place @peculiar/x509 is set up. The library signs and verifies with
 * WebCrypto; Node's own implementation is registered here so every PKI module
 * (and the library's internal calls that take no provider argument) use it.
 * Every other shared/pki module imports x509 from here, never the package itself.
 */
import './reflect-polyfill.ts';
import { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import { InputError } from '../errors.ts';

// Node's webcrypto is the standard Crypto interface; the cast bridges lib.dom vs @types/node typings.
export const nodeCrypto = webcrypto as unknown as Crypto;
x509.cryptoProvider.set(nodeCrypto);

export { x509 };

/** ECDSA P-256 with SHA-256: what every TLS stack (OpenSSL under grpc-js included) accepts. */
export const KEY_ALGORITHM: EcKeyGenParams = { name: 'ECDSA', namedCurve: 'P-256' };
export const SIGNING_ALGORITHM: EcdsaParams = { name: 'ECDSA', hash: 'SHA-256' };

export const DAY_MS = 86_400_000;

/** Parses a PEM / DER certificate; a clear error instead of the library's ASN.1 message. */
export function parseCertificate(input: string | Uint8Array, what = 'certificate'): x509.X509Certificate {
  try {
    return new x509.X509Certificate(typeof input === 'string' ? input : toArrayBuffer(input));
  } catch (err) {
    throw new InputError(`${what} is not a valid X.509 certificate: ${(err as Error).message}`, { cause: err });
  }
}

/** A standalone ArrayBuffer copy (Buffers share a pool; WebCrypto and the ASN.1 parser want exact bytes). */
export function toArrayBuffer(bytes: Uint8Array): ArrayBuffer {
  const out = new ArrayBuffer(bytes.byteLength);
  new Uint8Array(out).set(bytes);
  return out;
}

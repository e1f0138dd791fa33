/**
 * Revocation: a CRL signed by the federation CA, listing the serial numbers of
 * certificates that must no longer connect. Revoking a site re-signs the list;
 * no other site's certificate or key changes. The coordinator loads crl.pem
 * (checking the CA's signature once, in loadCrl) and consults it at every
 * connection through checkPeer.
 *
 * Ordering: each CRL's thisUpdate is later than the one it replaces (revoke()
 * guarantees it), so a coordinator can refuse to go back to an older list
 * (isOlderCrl), e.g. a stale crl.pem restored from a backup.
 */
import { InputError } from '../errors.ts';
import type { FederationCa } from './ca.ts';
import { DAY_MS, SIGNING_ALGORITHM, x509 } from './x509.ts';

export interface RevocationEntry {
  /** Hex serial number (IssuedCertificate.serialNumber, or `openssl x509 -serial`). */
  serialNumber: string;
  reason?: x509.X509CrlReason;
  /** When it was revoked; default now. */
  date?: Date;
}

declare const verified: unique symbol;
/** A CRL whose signature and issuer were checked against the CA: only loadCrl makes one. */
export interface VerifiedCrl {
  readonly [verified]: true;
  readonly crl: x509.X509Crl;
  readonly thisUpdate: Date;
  /** When the list stops being trusted (checkPeer then refuses everyone: fail closed). */
  readonly nextUpdate: Date | undefined;
  readonly revokedSerials: ReadonlySet<string>;
}

/**
 * Signs a CRL with exactly `entries`. `nextUpdate` defaults to the CA's expiry: the
 * list is read from the coordinator's own disk, not fetched, so a short lifetime
 * would only stop the federation when nobody re-signs it in time.
 */
export async function issueCrl(
  ca: FederationCa,
  opts: { entries?: RevocationEntry[]; now?: Date; validityDays?: number } = {},
): Promise<{ crl: x509.X509Crl; crlPem: string }> {
  const now = opts.now ?? new Date();
  const nextUpdate = opts.validityDays !== undefined ? new Date(now.getTime() + opts.validityDays * DAY_MS) : ca.certificate.notAfter;
  const seen = new Set<string>();
  const entries: x509.X509CrlEntryParams[] = [];
  for (const e of opts.entries ?? []) {
    const serial = normalizeSerial(e.serialNumber);
    if (seen.has(serial)) continue;
    seen.add(serial);
    entries.push({ serialNumber: serial, revocationDate: e.date ?? now, ...(e.reason !== undefined ? { reason: e.reason } : {}) });
  }
  const crl = await x509.X509CrlGenerator.create({
    issuer: ca.certificate.subjectName,
    thisUpdate: now,
    nextUpdate,
    entries,
    signingKey: ca.privateKey,
    signingAlgorithm: SIGNING_ALGORITHM,
  });
  // RFC 7468's label; the library writes "CRL", which OpenSSL does not read.
  return { crl, crlPem: x509.PemConverter.encode(crl.rawData, 'X509 CRL') };
}

/**
 * The CRL that replaces `previous` (crl.pem as last issued) with `serials` added:
 * revocations accumulate, and thisUpdate moves forward even within one second.
 */
export async function revoke(
  ca: FederationCa,
  previous: VerifiedCrl | undefined,
  revoked: RevocationEntry[],
  opts: { now?: Date; validityDays?: number } = {},
): Promise<{ crl: x509.X509Crl; crlPem: string }> {
  const kept: RevocationEntry[] = (previous?.crl.entries ?? []).map((e) => ({
    serialNumber: e.serialNumber,
    date: e.revocationDate,
    ...(e.reason !== undefined ? { reason: e.reason } : {}),
  }));
  let now = opts.now ?? new Date();
  // CRL times have one-second resolution; stay strictly after the list replaced.
  if (previous && now.getTime() < previous.thisUpdate.getTime() + 1000) now = new Date(previous.thisUpdate.getTime() + 1000);
  return issueCrl(ca, { entries: [...kept, ...revoked], now, ...(opts.validityDays !== undefined ? { validityDays: opts.validityDays } : {}) });
}

/** Parses crl.pem and checks it was signed by `caCert`; every problem is an InputError. */
export async function loadCrl(pem: string | Uint8Array, caCert: x509.X509Certificate): Promise<VerifiedCrl> {
  let crl: x509.X509Crl;
  try {
    crl = new x509.X509Crl(typeof pem === 'string' ? pem : new Uint8Array(pem));
  } catch (err) {
    throw new InputError(`revocation list is not a valid X.509 CRL: ${(err as Error).message}`, { cause: err });
  }
  let ok = false;
  try {
    ok = crl.issuerName.toString() === caCert.subjectName.toString() && (await crl.verify({ publicKey: caCert }));
  } catch {
    ok = false;
  }
  if (!ok) throw new InputError('revocation list is not signed by the federation CA');
  return {
    crl,
    thisUpdate: crl.thisUpdate,
    nextUpdate: crl.nextUpdate,
    revokedSerials: new Set(crl.entries.map((e) => normalizeSerial(e.serialNumber))),
  } as unknown as VerifiedCrl;
}

/** True when `candidate` was issued before `current`: loading it would un-revoke certificates. */
export function isOlderCrl(candidate: VerifiedCrl, current: VerifiedCrl): boolean {
  return candidate.thisUpdate.getTime() < current.thisUpdate.getTime();
}

export function isRevoked(crl: VerifiedCrl, serialNumber: string): boolean {
  return crl.revokedSerials.has(normalizeSerial(serialNumber));
}

/** Lowercase hex without leading zero bytes, so "00AB12" and "ab12" name the same certificate. */
export function normalizeSerial(serial: string): string {
  const hex = serial.trim().toLowerCase().replace(/^(00)+(?=..)/, '');
  if (!/^(?:[0-9a-f]{2})+$/.test(hex)) throw new InputError(`serial number must be hex bytes, got ${JSON.stringify(serial)}`);
  return hex;
}

/**
 * The signed header of an envelope (see envelope.ts): its fields, canonical bytes,
 * and the verification every receiver runs before trusting anything in a message.
 */
import { canonicalJson } from '../canonical-json.ts';
import { ProtocolError } from '../errors.ts';
import { ed25519Verify } from './curve.ts';
import { BOX_PUBLIC_KEY_BYTES, SIGNATURE_BYTES, SIGNING_PUBLIC_KEY_BYTES } from './keys.ts';

export const ENVELOPE_VERSION = 1;
/** Headers are small; anything bigger is refused before it is parsed. */
export const MAX_HEADER_BYTES = 16 * 1024;
/** Chunk indices are u32 in the nonce and AAD. */
const MAX_CHUNK_COUNT = 0xffffffff;
export interface EnvelopeMeta {
  version: 1;
  federation: string;
  round: number;
  site: string;
  /** e.g. 'fit-result' | 'eval-result' | 'stats-result' | 'join' | 'task'. */
  kind: string;
  /** 32 lowercase hex chars, random per message; the replay guard remembers it. */
  messageId: string;
  /** Milliseconds since the epoch, sender's clock. */
  createdAt: number;
}

export interface SealedHeader extends EnvelopeMeta {
  payloadLength: number;
  chunkSize: number;
  /** max(1, ceil(payloadLength / chunkSize)). */
  chunkCount: number;
  /** Hex. SHA-256 of the plaintext if plain; HMAC-SHA256 under the derived digest key if encrypted (see top). */
  payloadSha256: string;
  encrypted: boolean;
  /** Base64 X25519 public key; present exactly when encrypted. */
  ephemeralPublicKey?: string;
}

export interface VerifyLimits {
  maxPayloadBytes: number;
  maxChunkSize: number;
  /** Defaults to MAX_HEADER_BYTES. */
  maxHeaderBytes?: number;
}

/**
 * Checks a received header: size, shape, sender, signature, limits — in an
 * order that never trusts a field before the signature covers it, except
 * `site`, which is needed to find the key. Returns the parsed header.
 */
export function verifyHeader(
  headerBytes: Uint8Array,
  signature: Uint8Array,
  lookupSigningKey: (site: string) => Uint8Array | undefined,
  limits: VerifyLimits,
): SealedHeader {
  const maxHeaderBytes = limits.maxHeaderBytes ?? MAX_HEADER_BYTES;
  if (headerBytes.length > maxHeaderBytes) {
    throw new ProtocolError(`envelope header is ${headerBytes.length} bytes, over the ${maxHeaderBytes}-byte limit`, 'oversized');
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(headerBytes));
  } catch (err) {
    throw new ProtocolError(`envelope header is not valid UTF-8 JSON: ${(err as Error).message}`, 'malformed', { cause: err });
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new ProtocolError('envelope header must be a JSON object', 'malformed');
  }
  const fields = parsed as Record<string, unknown>;
  const site = fields.site;
  if (typeof site !== 'string' || site === '') {
    throw new ProtocolError('envelope header field "site" must be a non-empty string', 'malformed');
  }
  const publicKey = lookupSigningKey(site);
  if (publicKey === undefined) {
    throw new ProtocolError(`unknown site ${JSON.stringify(site)}: no signing key registered`, 'unknown-site');
  }
  checkKey(publicKey, SIGNING_PUBLIC_KEY_BYTES, `signing key registered for site ${JSON.stringify(site)}`);
  if (signature.length !== SIGNATURE_BYTES) {
    throw new ProtocolError(`signature from site ${JSON.stringify(site)} is ${signature.length} bytes, expected ${SIGNATURE_BYTES}`, 'bad-signature');
  }
  if (!ed25519Verify(headerBytes, signature, publicKey)) {
    throw new ProtocolError(`envelope header signature does not verify with the key of site ${JSON.stringify(site)}`, 'bad-signature');
  }
  const header = validateHeader(fields);
  if (header.payloadLength > limits.maxPayloadBytes) {
    throw new ProtocolError(
      `payload of ${header.payloadLength} bytes from site ${JSON.stringify(site)} exceeds the ${limits.maxPayloadBytes}-byte limit`,
      'oversized',
    );
  }
  if (header.chunkSize > limits.maxChunkSize) {
    throw new ProtocolError(
      `chunk size ${header.chunkSize} from site ${JSON.stringify(site)} exceeds the ${limits.maxChunkSize}-byte limit`,
      'oversized',
    );
  }
  return header;
}

/** Canonical form (canonicalJson), UTF-8. The signature covers these exact bytes. */
export function canonicalHeaderBytes(header: SealedHeader): Uint8Array {
  return new TextEncoder().encode(canonicalJson(header));
}

export function chunkCountFor(payloadLength: number, chunkSize: number): number {
  return Math.max(1, Math.ceil(payloadLength / chunkSize));
}

const HEADER_FIELDS = new Set([
  'version', 'federation', 'round', 'site', 'kind', 'messageId', 'createdAt',
  'payloadLength', 'chunkSize', 'chunkCount', 'payloadSha256', 'encrypted', 'ephemeralPublicKey',
]);

/** Strict shape check; every failure is 'malformed' and names the field. */
export function validateHeader(h: Record<string, unknown>): SealedHeader {
  checkKnownFields(h);
  checkVersion(h);
  checkNames(h);
  checkSizes(h);
  checkDigests(h);
  checkEncryption(h);
  checkChunkCount(h);
  return h as unknown as SealedHeader;
}

function checkKnownFields(h: Record<string, unknown>): void {
  for (const k of Object.keys(h)) {
    if (!HEADER_FIELDS.has(k)) malformed(`unknown field ${JSON.stringify(k)}`);
  }
}

function checkVersion(h: Record<string, unknown>): void {
  if (h.version !== ENVELOPE_VERSION) malformed(`field "version" must be ${ENVELOPE_VERSION}, got ${show(h.version)}`);
}

function checkNames(h: Record<string, unknown>): void {
  for (const f of ['federation', 'site', 'kind'] as const) {
    if (typeof h[f] !== 'string' || h[f] === '') malformed(`field "${f}" must be a non-empty string, got ${show(h[f])}`);
  }
}

/** The integer fields; chunkSize also divides, so it must not be 0. */
function checkSizes(h: Record<string, unknown>): void {
  for (const f of ['round', 'createdAt', 'payloadLength'] as const) {
    if (!isNonNegativeInteger(h[f])) malformed(`field "${f}" must be a non-negative integer, got ${show(h[f])}`);
  }
  if (!isNonNegativeInteger(h.chunkSize) || h.chunkSize === 0) {
    malformed(`field "chunkSize" must be a positive integer, got ${show(h.chunkSize)}`);
  }
}

function checkDigests(h: Record<string, unknown>): void {
  if (typeof h.messageId !== 'string' || !/^[0-9a-f]{32}$/.test(h.messageId)) {
    malformed(`field "messageId" must be 32 lowercase hex characters, got ${show(h.messageId)}`);
  }
  if (typeof h.payloadSha256 !== 'string' || !/^[0-9a-f]{64}$/.test(h.payloadSha256)) {
    malformed(`field "payloadSha256" must be 64 lowercase hex characters, got ${show(h.payloadSha256)}`);
  }
}

/** "encrypted", and the ephemeral key that is present exactly when it is true. */
function checkEncryption(h: Record<string, unknown>): void {
  if (typeof h.encrypted !== 'boolean') malformed(`field "encrypted" must be a boolean, got ${show(h.encrypted)}`);
  if (h.encrypted) {
    const eph = h.ephemeralPublicKey;
    if (typeof eph !== 'string' || !/^[A-Za-z0-9+/]{43}=$/.test(eph) || Buffer.from(eph, 'base64').length !== BOX_PUBLIC_KEY_BYTES) {
      malformed(`field "ephemeralPublicKey" must be a base64 ${BOX_PUBLIC_KEY_BYTES}-byte key when "encrypted" is true, got ${show(eph)}`);
    }
  } else if (h.ephemeralPublicKey !== undefined) {
    malformed('field "ephemeralPublicKey" must be absent when "encrypted" is false');
  }
}

/** Run after checkSizes: payloadLength and chunkSize are then a non-negative and a positive integer. */
function checkChunkCount(h: Record<string, unknown>): void {
  const payloadLength = h.payloadLength as number;
  const chunkSize = h.chunkSize as number;
  const needed = chunkCountFor(payloadLength, chunkSize);
  if (h.chunkCount !== needed) {
    malformed(`field "chunkCount" is ${show(h.chunkCount)}, but payloadLength ${payloadLength} in chunks of ${chunkSize} needs ${needed}`);
  }
  if (needed > MAX_CHUNK_COUNT) malformed(`field "chunkCount" ${needed} exceeds ${MAX_CHUNK_COUNT}`);
}

function malformed(detail: string): never {
  throw new ProtocolError(`envelope header ${detail}`, 'malformed');
}

function isNonNegativeInteger(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

function show(v: unknown): string {
  if (v === undefined) return 'nothing';
  // JSON.stringify gives undefined for functions and symbols, though typed string.
  // eslint-disable-next-line @typescript-eslint/no-base-to-string -- only reached for those two, which String names well
  const s = (JSON.stringify(v) as string | undefined) ?? String(v);
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

export function checkKey(key: Uint8Array, length: number, what: string): void {
  if (!(key instanceof Uint8Array) || key.length !== length) {
    throw new TypeError(`${what} must be a ${length}-byte Uint8Array`);
  }
}


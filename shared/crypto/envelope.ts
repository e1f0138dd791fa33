/**
 * The update envelope: how every message between a site and the coordinator is
 * signed, and how bulk payloads are (optionally) encrypted, in chunks.
 *
 * Wire shape of one message: header bytes (canonical JSON of SealedHeader),
 * an Ed25519 detached signature over exactly those bytes, and `chunkCount`
 * chunks. A payload always has at least one chunk (an empty payload has one
 * empty chunk), so the final-chunk flag below always authenticates the end.
 *
 * Encrypted (site -> coordinator results), per message:
 *   eph            = fresh X25519 key pair
 *   shared         = X25519(eph.secret, recipient.public)           (nacl.scalarMult)
 *   salt           = eph.public || recipient.public
 *   key            = HKDF-SHA256(shared, salt, 'fedcausal/v1/payload', 32)
 *   digestKey      = HKDF-SHA256(shared, salt, 'fedcausal/v1/payload-digest', 32)
 *   chunk i        = ChaCha20-Poly1305(key, nonce = 8 zero bytes || u32be(i),
 *                      aad = sha256(header bytes) || u32be(i) || u8(isFinal)) ciphertext || 16-byte tag
 *   payloadSha256  = HMAC-SHA256(digestKey, plaintext), hex
 * The AAD binds every chunk to its message, position and end, so chunks cannot
 * be reordered, dropped, truncated or spliced into another message. The digest
 * is keyed so the signed header commits the site to its plaintext without
 * letting anyone who merely sees headers (logs, proxies) confirm guesses of a
 * small payload such as aggregate counts.
 *
 * Plain (coordinator -> site broadcasts of the global model): chunks are
 * slices of the payload and payloadSha256 = SHA-256(plaintext), hex; integrity
 * comes only from that signed digest, so plaintext chunks must not be acted on
 * before PayloadOpener.finish() succeeds.
 *
 * Bulk crypto is Node's (chacha20-poly1305 at ~GB/s); tweetnacl does only the
 * per-message public-key work (signatures, X25519).
 */
import { createCipheriv, createDecipheriv, createHash, createHmac, hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Hash, Hmac } from 'node:crypto';
import nacl from 'tweetnacl';
import { ProtocolError } from '../errors.ts';
import { ed25519Sign } from './curve.ts';
import { BOX_PUBLIC_KEY_BYTES, BOX_SECRET_KEY_BYTES, SIGNING_SECRET_KEY_BYTES } from './keys.ts';
import {
  ENVELOPE_VERSION,
  MAX_HEADER_BYTES,
  canonicalHeaderBytes,
  validateHeader,
  checkKey,
  chunkCountFor,
  type EnvelopeMeta,
  type SealedHeader,
} from './header.ts';

export {
  ENVELOPE_VERSION,
  MAX_HEADER_BYTES,
  canonicalHeaderBytes,
  chunkCountFor,
  verifyHeader,
  type EnvelopeMeta,
  type SealedHeader,
  type VerifyLimits,
} from './header.ts';

/** 1 MiB: comfortably under gRPC's default 4 MiB receive limit, even with framing. */
export const DEFAULT_CHUNK_SIZE = 1024 * 1024;
/**
 * The chunks a site sends its results in. Each must reach the coordinator within its frame
 * deadline (limits.frameTimeoutSeconds, 30 s): 256 KiB needs about 70 kbit/s of uplink, where
 * 1 MiB chunks needed 280, and a 2 MB model's every update was refused over a slow, lossy
 * link (an outside try). Tasks come down in DEFAULT_CHUNK_SIZE chunks.
 */
export const UPLOAD_CHUNK_SIZE = 256 * 1024;
/** Poly1305 tag appended to every encrypted chunk. */
export const TAG_BYTES = 16;
const PAYLOAD_INFO = 'fedcausal/v1/payload';
const DIGEST_INFO = 'fedcausal/v1/payload-digest';
const AEAD = 'chacha20-poly1305';

/** messageId and createdAt are filled in (random, now) unless given, e.g. by tests. */
export type SealMeta = Omit<EnvelopeMeta, 'version' | 'messageId' | 'createdAt'> &
  Partial<Pick<EnvelopeMeta, 'messageId' | 'createdAt'>>;

export interface SealOptions {
  /** The sender's Ed25519 secret key (64 bytes). */
  signingSecretKey: Uint8Array;
  /** Encrypt to this X25519 public key; omit for a plain (signed only) payload. */
  recipientBoxPublicKey?: Uint8Array;
  chunkSize?: number;
  /**
   * Plain payloads only: the SHA-256 (hex) of this payload, when the caller already
   * has it (one broadcast sealed for several sites), so it is not hashed again.
   */
  plainDigest?: string;
}

export interface SealedPayload {
  header: Uint8Array;
  signature: Uint8Array;
  chunks: Uint8Array[];
}

export interface OpenOptions {
  /** Refuse a plain payload ('malformed'): set this where only encrypted results are acceptable. */
  requireEncrypted?: boolean;
}

/**
 * Seals lazily: the header is built and signed up front, chunk i is produced on
 * demand, so a sender streaming hundreds of MB holds at most one ciphertext
 * chunk at a time (and can re-produce a chunk to retry it). The payload is not
 * copied: do not modify it until every chunk has been sent.
 */
export class PayloadSealer {
  readonly header: Uint8Array;
  readonly signature: Uint8Array;
  readonly sealedHeader: SealedHeader;
  private readonly key: Buffer | undefined;
  private readonly headerHash: Buffer;

  constructor(meta: SealMeta, private readonly payload: Uint8Array, opts: SealOptions) {
    if (!(payload instanceof Uint8Array)) throw new TypeError('sealPayload: payload must be a Uint8Array');
    checkKey(opts.signingSecretKey, SIGNING_SECRET_KEY_BYTES, 'sealPayload: signingSecretKey');
    const chunkSize = opts.chunkSize ?? DEFAULT_CHUNK_SIZE;
    let digest: string;
    let ephemeralPublicKey: string | undefined;
    if (opts.recipientBoxPublicKey !== undefined) {
      checkKey(opts.recipientBoxPublicKey, BOX_PUBLIC_KEY_BYTES, 'sealPayload: recipientBoxPublicKey');
      const eph = nacl.box.keyPair();
      const keys = deriveKeys(eph.secretKey, opts.recipientBoxPublicKey, eph.publicKey, opts.recipientBoxPublicKey);
      eph.secretKey.fill(0);
      if (!keys) throw new TypeError('sealPayload: recipientBoxPublicKey is a low-order point (shared secret is zero)');
      this.key = keys.key;
      digest = createHmac('sha256', keys.digestKey).update(payload).digest('hex');
      keys.digestKey.fill(0);
      ephemeralPublicKey = Buffer.from(eph.publicKey).toString('base64');
    } else {
      digest = opts.plainDigest ?? createHash('sha256').update(payload).digest('hex');
    }
    const sealed: SealedHeader = {
      version: ENVELOPE_VERSION,
      federation: meta.federation,
      round: meta.round,
      site: meta.site,
      kind: meta.kind,
      messageId: meta.messageId ?? randomBytes(16).toString('hex'),
      createdAt: meta.createdAt ?? Date.now(),
      payloadLength: payload.length,
      chunkSize,
      chunkCount: chunkCountFor(payload.length, chunkSize),
      payloadSha256: digest,
      encrypted: ephemeralPublicKey !== undefined,
      ...(ephemeralPublicKey !== undefined ? { ephemeralPublicKey } : {}),
    };
    // Refuse to send what a receiver would reject as malformed.
    try {
      validateHeader(sealed as unknown as Record<string, unknown>);
    } catch (err) {
      throw new TypeError(`sealPayload: ${(err as Error).message}`, { cause: err });
    }
    this.sealedHeader = sealed;
    this.header = canonicalHeaderBytes(sealed);
    if (this.header.length > MAX_HEADER_BYTES) {
      throw new TypeError(`sealPayload: header is ${this.header.length} bytes, over the ${MAX_HEADER_BYTES}-byte limit (long names?)`);
    }
    this.signature = ed25519Sign(this.header, opts.signingSecretKey);
    this.headerHash = createHash('sha256').update(this.header).digest();
  }

  get chunkCount(): number {
    return this.sealedHeader.chunkCount;
  }

  /** The bytes its chunks take on the wire. */
  get wireBytes(): number {
    return wireBytes(this.sealedHeader);
  }

  /** Chunk `index` as it goes on the wire: a payload slice (plain) or ciphertext || tag (encrypted). */
  chunk(index: number): Uint8Array {
    const { chunkCount, chunkSize, payloadLength } = this.sealedHeader;
    if (!Number.isInteger(index) || index < 0 || index >= chunkCount) {
      throw new RangeError(`chunk index ${index} out of range 0..${chunkCount - 1}`);
    }
    const start = index * chunkSize;
    const plain = this.payload.subarray(start, Math.min(start + chunkSize, payloadLength));
    if (!this.key) return plain;
    const cipher = createCipheriv(AEAD, this.key, nonceFor(index), { authTagLength: TAG_BYTES });
    cipher.setAAD(aadFor(this.headerHash, index, chunkCount), { plaintextLength: plain.length });
    const body = cipher.update(plain);
    const tail = cipher.final();
    return Buffer.concat([body, tail, cipher.getAuthTag()], plain.length + TAG_BYTES);
  }

  *chunks(): Generator<Uint8Array> {
    for (let i = 0; i < this.chunkCount; i++) yield this.chunk(i);
  }
}

/** The bytes a message's chunks take on the wire: its payload, and a tag per chunk when encrypted. */
export function wireBytes(h: Pick<SealedHeader, 'payloadLength' | 'encrypted' | 'chunkCount'>): number {
  return h.payloadLength + (h.encrypted ? h.chunkCount * TAG_BYTES : 0);
}

/** Seals a whole payload at once. For large payloads prefer `new PayloadSealer(...)` and stream its chunks. */
export function sealPayload(meta: SealMeta, payload: Uint8Array, opts: SealOptions): SealedPayload {
  const sealer = new PayloadSealer(meta, payload, opts);
  return { header: sealer.header, signature: sealer.signature, chunks: [...sealer.chunks()] };
}

/**
 * Opens a verified message's chunks strictly in order 0..chunkCount-1, hashing
 * the plaintext as it goes; finish() then checks nothing is missing and the
 * digest matches. One opener per pass: to open a spooled message again, make a
 * new opener. After any failure the opener refuses further use.
 *
 * Returned plaintext may be a view into a larger buffer: honour byteOffset.
 */
export class PayloadOpener {
  private next = 0;
  private state: 'open' | 'finished' | 'failed' = 'open';
  private readonly key: Buffer | undefined;
  private readonly headerHash: Buffer;
  private readonly digest: Hash | Hmac;

  constructor(
    private readonly header: SealedHeader,
    headerBytes: Uint8Array,
    recipientBoxSecretKey?: Uint8Array,
    opts: OpenOptions = {},
  ) {
    this.headerHash = createHash('sha256').update(headerBytes).digest();
    const from = `site ${JSON.stringify(header.site)}`;
    if (!header.encrypted) {
      if (opts.requireEncrypted) {
        throw new ProtocolError(`${header.kind} payload from ${from} is not encrypted, but encryption is required`, 'malformed');
      }
      this.digest = createHash('sha256');
      return;
    }
    if (recipientBoxSecretKey === undefined) {
      throw new ProtocolError(`${header.kind} payload from ${from} is encrypted, but no box secret key was given to open it`, 'decrypt-failed');
    }
    checkKey(recipientBoxSecretKey, BOX_SECRET_KEY_BYTES, 'PayloadOpener: recipientBoxSecretKey');
    const ephemeral = Buffer.from(header.ephemeralPublicKey ?? '', 'base64');
    if (ephemeral.length !== BOX_PUBLIC_KEY_BYTES) {
      throw new ProtocolError(`envelope header field "ephemeralPublicKey" must be ${BOX_PUBLIC_KEY_BYTES} bytes`, 'malformed');
    }
    const keys = deriveKeys(recipientBoxSecretKey, ephemeral, ephemeral, nacl.scalarMult.base(recipientBoxSecretKey));
    if (!keys) {
      throw new ProtocolError(`ephemeral key from ${from} is a low-order point`, 'decrypt-failed');
    }
    this.key = keys.key;
    this.digest = createHmac('sha256', keys.digestKey);
    keys.digestKey.fill(0);
  }

  /** Plaintext of chunk `index`; must be called for 0, 1, ... in order. */
  open(index: number, chunk: Uint8Array): Uint8Array {
    const { chunkCount, chunkSize, payloadLength } = this.header;
    if (this.state !== 'open') {
      throw new ProtocolError(`chunk ${index} arrived after the payload was ${this.state === 'finished' ? 'finished' : 'rejected'}`, 'malformed');
    }
    if (index !== this.next) {
      this.state = 'failed';
      throw new ProtocolError(`chunk ${index} arrived out of order: expected chunk ${this.next} of ${chunkCount}`, 'malformed');
    }
    if (index >= chunkCount) {
      this.state = 'failed';
      throw new ProtocolError(`chunk ${index} is beyond the ${chunkCount} chunks the header announced`, 'malformed');
    }
    const plainLength = index < chunkCount - 1 ? chunkSize : payloadLength - (chunkCount - 1) * chunkSize;
    const wireLength = this.key ? plainLength + TAG_BYTES : plainLength;
    if (chunk.length !== wireLength) {
      this.state = 'failed';
      throw new ProtocolError(`chunk ${index} of ${chunkCount} is ${chunk.length} bytes, expected ${wireLength}`, 'malformed');
    }
    let plain: Uint8Array = chunk;
    if (this.key) {
      const decipher = createDecipheriv(AEAD, this.key, nonceFor(index), { authTagLength: TAG_BYTES });
      decipher.setAAD(aadFor(this.headerHash, index, chunkCount), { plaintextLength: plainLength });
      decipher.setAuthTag(chunk.subarray(plainLength));
      const body = decipher.update(chunk.subarray(0, plainLength));
      try {
        decipher.final(); // throws on a bad tag; `body` must not escape before this
      } catch (err) {
        this.state = 'failed';
        throw new ProtocolError(
          `chunk ${index} of ${chunkCount} from site ${JSON.stringify(this.header.site)} failed authentication (wrong key, or tampered)`,
          'decrypt-failed',
          { cause: err },
        );
      }
      plain = body;
    }
    this.digest.update(plain);
    this.next++;
    return plain;
  }

  /** Call after the last chunk: throws unless every chunk arrived and the digest matches the signed header. */
  finish(): void {
    if (this.state !== 'open') {
      throw new ProtocolError(`payload was already ${this.state === 'finished' ? 'finished' : 'rejected'}`, 'malformed');
    }
    this.state = 'failed';
    const { chunkCount } = this.header;
    if (this.next !== chunkCount) {
      throw new ProtocolError(
        `payload from site ${JSON.stringify(this.header.site)} is incomplete: got ${this.next} of ${chunkCount} chunks`,
        'malformed',
      );
    }
    const actual = this.digest.digest();
    const expected = Buffer.from(this.header.payloadSha256, 'hex');
    if (actual.length !== expected.length || !timingSafeEqual(actual, expected)) {
      throw new ProtocolError(
        `payload from site ${JSON.stringify(this.header.site)} does not match the digest in its signed header`,
        'bad-signature',
      );
    }
    this.state = 'finished';
  }
}

/** Opens a whole (small) message into one fresh buffer; `chunks` must be exactly the message's chunks, in order. */
export function openPayload(
  header: SealedHeader,
  headerBytes: Uint8Array,
  chunks: readonly Uint8Array[],
  recipientBoxSecretKey?: Uint8Array,
  opts: OpenOptions = {},
): Uint8Array {
  const opener = new PayloadOpener(header, headerBytes, recipientBoxSecretKey, opts);
  const out = new Uint8Array(header.payloadLength);
  let offset = 0;
  for (let i = 0; i < chunks.length; i++) {
    const plain = opener.open(i, chunks[i]!);
    out.set(plain, offset);
    offset += plain.length;
  }
  opener.finish(); // reports missing chunks; extra ones were already refused by open()
  return out;
}

/**
 * Both sides derive the same keys: the sender from (eph.secret, recipient.public),
 * the recipient from (its secret, eph.public). Undefined if the peer's key is
 * low-order (all-zero shared secret), which would make the keys predictable.
 */
function deriveKeys(
  ownSecret: Uint8Array,
  peerPublic: Uint8Array,
  ephemeralPublic: Uint8Array,
  recipientPublic: Uint8Array,
): { key: Buffer; digestKey: Buffer } | undefined {
  const shared = nacl.scalarMult(ownSecret, peerPublic);
  if (shared.every((b) => b === 0)) return undefined;
  const salt = Buffer.concat([ephemeralPublic, recipientPublic]);
  const key = Buffer.from(hkdfSync('sha256', shared, salt, PAYLOAD_INFO, 32));
  const digestKey = Buffer.from(hkdfSync('sha256', shared, salt, DIGEST_INFO, 32));
  shared.fill(0);
  return { key, digestKey };
}

function nonceFor(index: number): Buffer {
  const nonce = Buffer.alloc(12);
  nonce.writeUInt32BE(index, 8);
  return nonce;
}

function aadFor(headerHash: Buffer, index: number, chunkCount: number): Buffer {
  const aad = Buffer.alloc(headerHash.length + 5);
  headerHash.copy(aad, 0);
  aad.writeUInt32BE(index, headerHash.length);
  aad.writeUInt8(index === chunkCount - 1 ? 1 : 0, headerHash.length + 4);
  return aad;
}

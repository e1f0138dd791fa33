/**
 * The rounds' messages (Bonawitz et al. 2017, Fig. 4, with its ConsistencyCheck), transport-independent: plain
 * objects of strings and byte arrays that a gRPC frame or an in-memory call can carry.
 * Sites are named by their federation ids; a round's session string binds every
 * signature and key to one federation, round and purpose.
 */

/** Round 0, site -> coordinator -> every site: the site's two round public keys, signed with its long-term Ed25519 key. */
export interface KeyAdvertisement {
  site: string;
  /** c_u^PK: shares are encrypted under agreements with this key. */
  encryptionKey: Uint8Array;
  /** s_u^PK: pairwise masks come from agreements with this key. */
  maskKey: Uint8Array;
  signature: Uint8Array;
}

/** Round 1: one site's shares for one peer, sealed to that peer; the coordinator routes it unread. */
export interface EncryptedShare {
  from: string;
  to: string;
  nonce: Uint8Array;
  /** chacha20-poly1305 ciphertext with its 16-byte tag appended. */
  ciphertext: Uint8Array;
}

export interface ShareKeysMessage {
  site: string;
  shares: EncryptedShare[];
}

/** Round 2: y_u = x_u + PRG(b_u) + sum_v +-PRG(s_{u,v}) in Z_{2^32}. */
export interface MaskedInputMessage {
  site: string;
  masked: Uint32Array;
}

/** ConsistencyCheck, coordinator -> each survivor, which signs it back (SurvivorSignature). */
export interface SurvivorList {
  survivors: string[];
}

export interface SurvivorSignature {
  site: string;
  /** Ed25519, the site's enrolled key, over the session and the sorted survivor list. */
  signature: Uint8Array;
}

/** Round 4, coordinator -> each survivor: which sites' self-mask shares and which sites' mask-key shares it wants. */
export interface UnmaskRequest {
  /** Sites whose masked input arrived: reveal the share of their self-mask b_v. */
  survivors: string[];
  /** Sites that shared keys but sent no masked input: reveal the share of their mask key s_v^SK. */
  dropped: string[];
  /** At least t survivors' signatures on `survivors` (ConsistencyCheck). */
  signatures: SurvivorSignature[];
}

export interface RevealedShare {
  of: string;
  share: Uint8Array;
}

export interface UnmaskResponse {
  site: string;
  selfMaskShares: RevealedShare[];
  maskKeyShares: RevealedShare[];
}

/** Payload bytes of a message (ids as UTF-8, byte arrays as they are), without any framing. */
export function payloadBytes(m: KeyAdvertisement | ShareKeysMessage | MaskedInputMessage | UnmaskResponse | SurvivorSignature): number {
  const s = (x: string) => Buffer.byteLength(x, 'utf8');
  if ('encryptionKey' in m) return s(m.site) + m.encryptionKey.length + m.maskKey.length + m.signature.length;
  if ('shares' in m) return s(m.site) + m.shares.reduce((a, e) => a + s(e.from) + s(e.to) + e.nonce.length + e.ciphertext.length, 0);
  if ('masked' in m) return s(m.site) + m.masked.byteLength;
  if ('selfMaskShares' in m) return s(m.site) + [...m.selfMaskShares, ...m.maskKeyShares].reduce((a, r) => a + s(r.of) + r.share.length, 0);
  return s(m.site) + m.signature.length;
}

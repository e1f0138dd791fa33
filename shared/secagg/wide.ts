/**
 * Wide fixed point: a real too large for one 32-bit ring word (a feature's sum of squares
 * over a hospital's rows) is quantized to an integer q = round(x * 2^f) and split into
 * 16-bit limbs, each summed in a ring word of its own. Lower limbs are unsigned (< 2^16
 * each, so up to 2^15 sites add without wrapping); the top limb carries the sign. The
 * coordinator rebuilds sum(q) exactly with BigInt: no rounding beyond each site's own.
 */

export const LIMB_BITS = 16;
const LIMB = 1n << BigInt(LIMB_BITS);
/** Fraction bits of a wide part: far finer than any statistic needs, and cheap (one limb). */
export const WIDE_FRACTIONAL_BITS = 16;
/** Lower limbs sum below maxSites * 2^16, which must stay under 2^31. */
export const WIDE_MAX_SITES = 2 ** (31 - LIMB_BITS) - 1;

/** Limbs needed so that maxSites sites of |x| <= bound at f fraction bits sum without overflow. */
export function limbsFor(bound: number, maxSites: number, fractionalBits = WIDE_FRACTIONAL_BITS): number {
  // Magnitude bits of the summed q, plus a sign bit; the top limb's sum must fit 31 bits (int32).
  const bits = Math.ceil(Math.log2(maxSites * bound + 1)) + fractionalBits + 1;
  return Math.max(1, Math.ceil((bits - 31) / LIMB_BITS) + 1);
}

/** Writes x (already clipped, finite) as `limbs` words at out[offset..]. */
export function encodeWide(x: number, limbs: number, fractionalBits: number, out: Uint32Array, offset: number): void {
  let q = BigInt(Math.round(x * 2 ** fractionalBits));
  for (let k = 0; k < limbs - 1; k++) {
    out[offset + k] = Number(((q % LIMB) + LIMB) % LIMB);
    q = (q - BigInt(out[offset + k]!)) / LIMB;
  }
  // Two's complement in the ring: Uint32Array stores ToUint32 of a negative number.
  out[offset + limbs - 1] = Number(q);
}

/** Reads a sum of wide encodings back: sum(q) / 2^f. */
export function decodeWide(sum: Uint32Array, offset: number, limbs: number, fractionalBits: number): number {
  let q = 0n;
  for (let k = limbs - 1; k >= 0; k--) {
    const word = k === limbs - 1 ? sum[offset + k]! | 0 : sum[offset + k]!;
    q = q * LIMB + BigInt(word);
  }
  return Number(q) / 2 ** fractionalBits;
}

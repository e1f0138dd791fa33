/**
 * Fixed-point encoding into the ring Z_{2^32} (Uint32Array; wrap-around arithmetic).
 *
 * A real x is clipped to [-B, B] and encoded as q = round(x * 2^f) mod 2^32. The sum of
 * n encodings decodes exactly to sum(q) / 2^f as long as |sum(q)| < 2^31, which
 * `fractionalBitsFor` guarantees by choosing f with n * B * 2^f < 2^31.
 *
 * Quantization error bound: each site's rounding is off by at most 2^-(f+1), so a
 * decoded sum of n sites differs from the sum of the clipped values by at most
 * n * 2^-(f+1) per coordinate. Values inside [-B, B] are not changed by clipping.
 * Integers (counts) use f = 0 and are exact: rounding an integer changes nothing.
 */

const RING_HALF = 2 ** 31;
/** float32 has a 24-bit mantissa: finer steps would only encode rounding noise. */
const MAX_FRACTIONAL_BITS = 24;

/** The largest f <= 24 with maxSites * bound * 2^f < 2^31, or -1 when even f = 0 overflows. */
export function fractionalBitsFor(bound: number, maxSites: number): number {
  const room = (RING_HALF - 1) / (maxSites * bound);
  if (room < 1) return -1;
  return Math.min(MAX_FRACTIONAL_BITS, Math.floor(Math.log2(room)));
}

/** Max absolute error of one decoded sum coordinate over n sites at f fraction bits. */
export function quantizationErrorBound(sites: number, fractionalBits: number): number {
  return fractionalBits === 0 ? 0 : sites / 2 ** (fractionalBits + 1);
}

export interface EncodeRange {
  min: number;
  max: number;
  scale: number;
  /** Integers only: a fractional value is an error, not something to round away. */
  integer: boolean;
}

/**
 * Encodes src into out[offset..]; returns how many values were clipped. NaN and
 * infinities throw: they mean a broken computation, and clipping would hide it.
 */
export function encodeInto(src: ArrayLike<number>, out: Uint32Array, offset: number, r: EncodeRange, what: string): number {
  let clipped = 0;
  for (let i = 0; i < src.length; i++) {
    let x = src[i]!;
    if (!Number.isFinite(x)) throw new RangeError(`${what}[${i}] is ${x}, not a finite number`);
    if (r.integer && !Number.isInteger(x)) throw new RangeError(`${what}[${i}] is ${x}, not an integer`);
    if (x < r.min) {
      x = r.min;
      clipped++;
    } else if (x > r.max) {
      x = r.max;
      clipped++;
    }
    // Uint32Array stores ToUint32(q): negative q wraps to 2^32 + q, two's complement.
    out[offset + i] = Math.round(x * r.scale);
  }
  return clipped;
}

/** Decodes a ring sum back to numbers: reinterpret as int32 (| 0), then undo the scale. */
export function decodeInto(sum: Uint32Array, offset: number, length: number, scale: number): Float64Array {
  const out = new Float64Array(length);
  for (let i = 0; i < length; i++) out[i] = (sum[offset + i]! | 0) / scale;
  return out;
}

/** a += b in Z_{2^32} (Uint32Array assignment reduces mod 2^32; a + b < 2^33 is exact in a double). */
export function addInto(a: Uint32Array, b: Uint32Array, aOffset = 0): void {
  for (let i = 0; i < b.length; i++) a[aOffset + i] = a[aOffset + i]! + b[i]!;
}

/** a -= b in Z_{2^32}. */
export function subtractInto(a: Uint32Array, b: Uint32Array, aOffset = 0): void {
  for (let i = 0; i < b.length; i++) a[aOffset + i] = a[aOffset + i]! - b[i]!;
}

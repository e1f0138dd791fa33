/**
 * Mask expansion: a 16-byte seed -> a stream of uniform 32-bit words, AES-128-CTR over
 * zeros (Node's OpenSSL, AES-NI where the CPU has it; it measured faster than OpenSSL's
 * chacha20 on this machine). A seed is used for one stream only (HKDF gives each pair
 * and round its own), so a zero IV is safe. Words are read little-endian, as every
 * platform Node runs on stores Uint32Array, so site and coordinator expand alike.
 */
import { createCipheriv } from 'node:crypto';

export const SEED_BYTES = 16;
const CHUNK_BYTES = 1 << 16;
const ZEROS = Buffer.alloc(CHUNK_BYTES);
const IV = Buffer.alloc(16);

/** target += sign * PRG(seed) in Z_{2^32}, one 64 KiB chunk at a time (no 4 MiB temporary per mask). */
export function applyMask(target: Uint32Array, seed: Uint8Array, sign: 1 | -1): void {
  if (seed.length !== SEED_BYTES) throw new RangeError(`mask seed must be ${SEED_BYTES} bytes, got ${seed.length}`);
  const cipher = createCipheriv('aes-128-ctr', seed, IV);
  const words = CHUNK_BYTES / 4;
  for (let start = 0; start < target.length; start += words) {
    const n = Math.min(words, target.length - start);
    let buf = cipher.update(n === words ? ZEROS : ZEROS.subarray(0, n * 4));
    if (buf.byteOffset % 4 !== 0) buf = Buffer.from(buf); // a Uint32Array view needs 4-byte alignment
    const stream = new Uint32Array(buf.buffer, buf.byteOffset, n);
    if (sign === 1) for (let i = 0; i < n; i++) target[start + i] = target[start + i]! + stream[i]!;
    else for (let i = 0; i < n; i++) target[start + i] = target[start + i]! - stream[i]!;
  }
}

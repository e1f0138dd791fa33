import { createCipheriv, createHmac, randomBytes } from 'node:crypto';

/** Where noise's random bytes come from: `length` bytes a call. */
export type ByteSource = (length: number) => Uint8Array;

/**
 * Random bytes fixed by a secret and what they are for: ChaCha20's keystream under
 * HMAC-SHA256(secret, label). The same release asked for again (a round re-run after the
 * coordinator restarted mid-round) gets the same noise, so it tells nothing new; fresh noise
 * each time let the copies be averaged, past the ε the run reported (a DPO re-review). Unknown
 * to anyone without the secret, so no one can subtract it.
 */
export function keyedBytes(secret: Uint8Array, label: string): ByteSource {
  const key = createHmac('sha256', secret).update(label).digest();
  const stream = createCipheriv('chacha20', key, Buffer.alloc(16));
  return (length) => stream.update(Buffer.alloc(length));
}

/**
 * Gaussian noise for differential privacy, from the operating system's CSPRNG or a keyed
 * source (a seeded simulation RNG would let anyone who knows the seed subtract the noise).
 * Box-Muller on 53-bit uniforms.
 */
export function gaussianNoise(n: number, sigma: number, source: ByteSource = randomBytes): Float64Array {
  if (!(sigma >= 0) || !Number.isFinite(sigma)) throw new Error(`sigma must be a finite number >= 0, got ${sigma}`);
  const out = new Float64Array(n);
  if (sigma === 0) return out;
  const bytes = source(16 * Math.ceil(n / 2));
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  // 53 random bits, offset by half a step: strictly inside (0, 1), so log(u) is finite.
  const uniform = (o: number) => ((view.getUint32(o) >>> 5) * 67108864 + (view.getUint32(o + 4) >>> 6) + 0.5) / 9007199254740992;
  for (let i = 0; i < n; i += 2) {
    const u1 = uniform(8 * i);
    const u2 = uniform(8 * i + 8);
    const r = sigma * Math.sqrt(-2 * Math.log(u1));
    out[i] = r * Math.cos(2 * Math.PI * u2);
    if (i + 1 < n) out[i + 1] = r * Math.sin(2 * Math.PI * u2);
  }
  return out;
}

/** Scales a vector down to L2 norm at most `bound` (the sensitivity the noise is sized for). */
export function clipL2(v: Float32Array | Float64Array, bound: number): { clipped: Float64Array; norm: number; scaled: boolean } {
  let sq = 0;
  for (const x of v) sq += x * x;
  const norm = Math.sqrt(sq);
  const f = norm > bound ? bound / norm : 1;
  return { clipped: Float64Array.from(v, (x) => x * f), norm, scaled: f < 1 };
}

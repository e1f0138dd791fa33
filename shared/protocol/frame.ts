import { ProtocolError } from '../errors.ts';

/**
 * A payload is [u32 LE meta length][meta JSON][float32 LE weights]. The weights
 * come last so a receiver can stream them into an aggregation chunk by chunk.
 */
export function encodeFrame(meta: unknown, weights?: Float32Array): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify(meta));
  const wBytes = weights ? weights.byteLength : 0;
  const out = new Uint8Array(4 + json.length + wBytes);
  new DataView(out.buffer).setUint32(0, json.length, true);
  out.set(json, 4);
  if (weights) out.set(new Uint8Array(weights.buffer, weights.byteOffset, weights.byteLength), 4 + json.length);
  return out;
}

/** Largest meta section accepted: metas carry sums and configs, never bulk data. */
export const MAX_META_BYTES = 32 * 1024 * 1024;

/**
 * Reads a frame incrementally from plaintext chunks of any size: the meta when it
 * is complete, then weights as float32 runs with their flat offset.
 */
export class FrameReader {
  private head: Uint8Array = new Uint8Array(0);
  private metaLen = -1;
  private meta: unknown;
  private carry: Uint8Array = new Uint8Array(0);
  private floatsSeen = 0;

  constructor(
    private readonly onMeta: (meta: unknown) => void,
    private readonly onWeights?: (offset: number, values: Float32Array) => void,
  ) {}

  push(chunk: Uint8Array): void {
    let c = chunk;
    if (this.meta === undefined) {
      this.head = concat(this.head, c);
      if (this.metaLen < 0 && this.head.length >= 4) {
        this.metaLen = new DataView(this.head.buffer, this.head.byteOffset, 4).getUint32(0, true);
        if (this.metaLen > MAX_META_BYTES)
          throw new ProtocolError(`payload meta of ${this.metaLen} bytes is over ${MAX_META_BYTES}`, 'oversized');
      }
      if (this.metaLen < 0 || this.head.length < 4 + this.metaLen) return;
      try {
        this.meta = JSON.parse(new TextDecoder().decode(this.head.subarray(4, 4 + this.metaLen)));
      } catch (e) {
        throw new ProtocolError(`payload meta is not valid JSON: ${(e as Error).message}`, 'malformed');
      }
      this.onMeta(this.meta);
      c = this.head.subarray(4 + this.metaLen);
      this.head = new Uint8Array(0);
    }
    if (c.length === 0) return;
    if (!this.onWeights) return;
    const bytes = this.carry.length ? concat(this.carry, c) : c;
    const whole = bytes.length - (bytes.length % 4);
    if (whole > 0) {
      // Copy into an aligned buffer: the chunk's offset need not be a multiple of 4.
      const aligned = new Float32Array(whole / 4);
      new Uint8Array(aligned.buffer).set(bytes.subarray(0, whole));
      this.onWeights(this.floatsSeen, aligned);
      this.floatsSeen += aligned.length;
    }
    this.carry = bytes.slice(whole);
  }

  /** Checks the frame ended cleanly; returns the number of weights read. */
  finish(): number {
    if (this.meta === undefined) throw new ProtocolError('payload ended before its meta section', 'malformed');
    if (this.carry.length) throw new ProtocolError('payload ends inside a float32 value', 'malformed');
    return this.floatsSeen;
  }
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  if (a.length === 0) return b;
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

/** Decodes a whole frame in memory (small messages, tests). */
export function decodeFrame(bytes: Uint8Array): { meta: unknown; weights: Float32Array } {
  let meta: unknown;
  const parts: { offset: number; values: Float32Array }[] = [];
  const r = new FrameReader(
    (m) => (meta = m),
    (offset, values) => parts.push({ offset, values }),
  );
  r.push(bytes);
  const n = r.finish();
  const weights = new Float32Array(n);
  for (const p of parts) weights.set(p.values, p.offset);
  return { meta, weights };
}

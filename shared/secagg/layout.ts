/**
 * One flat ring vector per site: a layout names its parts (an example-weighted model
 * update, counts, sums, moments), gives each a bound, and packs them into a Uint32Array
 * that secure aggregation sums without looking inside; the coordinator unpacks the sum.
 */
import { z } from 'zod';
import { InputError } from '../errors.ts';
import { decodeInto, encodeInto, fractionalBitsFor, quantizationErrorBound } from './fixed-point.ts';
import { decodeWide, encodeWide, limbsFor, WIDE_FRACTIONAL_BITS, WIDE_MAX_SITES } from './wide.ts';

/**
 * 'real': clipped and quantized; 'integer': exact, in [-bound, bound]; 'count': exact, in
 * [0, bound]; 'wide': a real too large for one ring word, quantized at WIDE_FRACTIONAL_BITS
 * and split into 16-bit limbs (wide.ts), each coordinate taking as many words as its bound needs.
 */
export type PartKind = 'real' | 'integer' | 'count' | 'wide';

const partSchema = z
  .object({
    name: z.string().min(1),
    length: z.number().int().min(0),
    kind: z.enum(['real', 'integer', 'count', 'wide']),
    /** Largest magnitude one site may contribute per coordinate; larger values are clipped. */
    bound: z.number().positive(),
  })
  .strict();

export type PartSpec = z.input<typeof partSchema>;

export interface Part extends PartSpec {
  offset: number;
  fractionalBits: number;
  scale: number;
  /** Ring words per coordinate: 1, or a wide part's limbs. */
  limbs: number;
}

export interface Encoded {
  vector: Uint32Array;
  /** Values clipped per part: a site reports these, never the values. */
  clipped: Record<string, number>;
}

export class VectorLayout {
  readonly parts: readonly Part[];
  readonly length: number;
  private readonly byName: Map<string, Part>;

  /**
   * `maxSites` is the number of sites whose vectors may be summed: the ring must hold
   * maxSites * bound. `fractionalBits` fixes f for real parts (checked), else the most that fits.
   */
  constructor(specs: PartSpec[], readonly maxSites: number, fractionalBits?: number) {
    const parsed = z.array(partSchema).min(1).safeParse(specs);
    if (!parsed.success) throw new InputError(`vector layout: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
    if (!Number.isInteger(maxSites) || maxSites < 1) throw new InputError(`vector layout: maxSites must be a positive integer, got ${maxSites}`);
    let offset = 0;
    this.byName = new Map();
    for (const s of parsed.data) {
      if (this.byName.has(s.name)) throw new InputError(`vector layout: part "${s.name}" appears twice`);
      if (s.kind === 'wide') {
        if (maxSites > WIDE_MAX_SITES) throw new InputError(`vector layout: part "${s.name}": wide parts hold at most ${WIDE_MAX_SITES} sites, got ${maxSites}`);
        const limbs = limbsFor(s.bound, maxSites);
        const part: Part = { ...s, offset, fractionalBits: WIDE_FRACTIONAL_BITS, scale: 2 ** WIDE_FRACTIONAL_BITS, limbs };
        this.byName.set(s.name, part);
        offset += s.length * limbs;
        continue;
      }
      const fits = fractionalBitsFor(s.bound, maxSites);
      if (fits < 0) throw new InputError(`vector layout: part "${s.name}": ${maxSites} sites x bound ${s.bound} overflows the 32-bit ring`);
      if (s.kind !== 'real' && !Number.isInteger(s.bound)) throw new InputError(`vector layout: part "${s.name}": an integer bound is needed for kind ${s.kind}`);
      let f = 0;
      if (s.kind === 'real') {
        f = fractionalBits ?? fits;
        if (f > fits) throw new InputError(`vector layout: part "${s.name}": ${f} fraction bits overflow the ring for ${maxSites} sites x bound ${s.bound} (at most ${fits})`);
      }
      const part: Part = { ...s, offset, fractionalBits: f, scale: 2 ** f, limbs: 1 };
      this.byName.set(s.name, part);
      offset += s.length;
    }
    this.parts = [...this.byName.values()];
    this.length = offset;
  }

  part(name: string): Part {
    const p = this.byName.get(name);
    if (!p) throw new InputError(`vector layout has no part "${name}"`);
    return p;
  }

  /** Clips, quantizes and packs every part; a missing part or a wrong length is an error. */
  encode(values: Record<string, ArrayLike<number>>): Encoded {
    const vector = new Uint32Array(this.length);
    const clipped: Record<string, number> = {};
    for (const p of this.parts) {
      const v = values[p.name];
      if (!v) throw new InputError(`vector layout: part "${p.name}" is missing`);
      if (v.length !== p.length) throw new InputError(`vector layout: part "${p.name}" has ${v.length} values, expected ${p.length}`);
      const min = p.kind === 'count' ? 0 : -p.bound;
      if (p.kind === 'wide') {
        clipped[p.name] = encodeWideInto(v, vector, p, p.name);
        continue;
      }
      clipped[p.name] = encodeInto(v, vector, p.offset, { min, max: p.bound, scale: p.scale, integer: p.kind !== 'real' }, p.name);
    }
    for (const name of Object.keys(values)) this.part(name); // an unknown part is a caller bug, not something to drop
    return { vector, clipped };
  }

  /** Unpacks a ring sum of at most maxSites encodings into named float64 arrays. */
  decodeSum(sum: Uint32Array): Record<string, Float64Array> {
    if (sum.length !== this.length) throw new InputError(`vector layout: sum has ${sum.length} values, expected ${this.length}`);
    const out: Record<string, Float64Array> = {};
    for (const p of this.parts) {
      if (p.kind !== 'wide') {
        out[p.name] = decodeInto(sum, p.offset, p.length, p.scale);
        continue;
      }
      const v = new Float64Array(p.length);
      for (let i = 0; i < p.length; i++) v[i] = decodeWide(sum, p.offset + i * p.limbs, p.limbs, p.fractionalBits);
      out[p.name] = v;
    }
    return out;
  }

  /**
   * The first coordinate of a decoded sum over `sites` sites that no honest encodings could
   * give (a count below 0, or any value past sites x bound), named with its part and index;
   * undefined when all are in range. Sites clip before masking, so only a site that wrote
   * its ring words itself gets here: its totals must be refused, not used.
   */
  outOfRange(sums: Record<string, Float64Array>, sites: number): string | undefined {
    for (const p of this.parts) {
      const v = sums[p.name];
      if (!v) continue;
      const max = sites * p.bound + this.errorBound(p.name, sites);
      const min = p.kind === 'count' ? 0 : -max;
      for (let i = 0; i < v.length; i++)
        if (!(v[i]! >= min && v[i]! <= max)) return `part "${p.name}"[${i}] sums to ${v[i]}, outside [${min}, ${max}] for ${sites} sites`;
    }
    return undefined;
  }

  /** Max absolute error of a decoded sum coordinate of `name` over `sites` sites (0 for integer parts). */
  errorBound(name: string, sites = this.maxSites): number {
    return quantizationErrorBound(sites, this.part(name).fractionalBits);
  }
}

/** A wide part's values clipped to its bound and split into limbs; NaN and infinities throw, as in encodeInto. */
function encodeWideInto(src: ArrayLike<number>, out: Uint32Array, p: Part, what: string): number {
  let clipped = 0;
  for (let i = 0; i < src.length; i++) {
    let x = src[i]!;
    if (!Number.isFinite(x)) throw new RangeError(`${what}[${i}] is ${x}, not a finite number`);
    if (Math.abs(x) > p.bound) {
      x = Math.sign(x) * p.bound;
      clipped++;
    }
    encodeWide(x, p.limbs, p.fractionalBits, out, p.offset + i * p.limbs);
  }
  return clipped;
}

/**
 * The model update as sites send it today (FedAvg: sum n_i w_i / sum n_i): w*n with each
 * weight clipped to clipBound and n capped at maxExamples, then n itself, exactly.
 */
export function modelUpdateLayout(modelSize: number, maxSites: number, opts: { clipBound: number; maxExamples: number; fractionalBits?: number }): VectorLayout {
  return new VectorLayout(
    [
      { name: 'weightedUpdate', length: modelSize, kind: 'real', bound: opts.clipBound * opts.maxExamples },
      { name: 'numExamples', length: 1, kind: 'count', bound: opts.maxExamples },
    ],
    maxSites,
    opts.fractionalBits,
  );
}

/** A site's part of modelUpdateLayout: clip w, cap n, multiply. */
export function weightedUpdate(weights: Float32Array, numExamples: number, opts: { clipBound: number; maxExamples: number }): Record<string, ArrayLike<number>> {
  const n = Math.min(Math.max(0, Math.floor(numExamples)), opts.maxExamples);
  const wn = new Float64Array(weights.length);
  const b = opts.clipBound;
  for (let i = 0; i < weights.length; i++) {
    const w = weights[i]!;
    wn[i] = (w > b ? b : w < -b ? -b : w) * n; // NaN passes through and is refused by the encoder
  }
  return { weightedUpdate: wn, numExamples: [n] };
}

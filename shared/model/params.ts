import * as tf from '@tensorflow/tfjs';
import type { Rng } from '../rng.ts';

export interface ParamSpec {
  name: string;
  shape: number[];
}

/**
 * A model's trainable parameters in one canonical order. The federation moves
 * weights as one flat Float32Array in this order; initial values come from our
 * seeded Rng, so a seed fixes the model exactly.
 */
interface Entry {
  spec: ParamSpec;
  v: tf.Variable;
  decay: boolean;
  mask?: Float32Array;
}

export class ParamSet {
  private readonly entries: Entry[] = [];

  /**
   * Glorot-uniform matrices (weight-decayed) or zero vectors (biases, not decayed).
   * `mask` (0/1, one per entry) marks structural zeros: entries with 0 start at zero,
   * are zeroed on every setFlat and get no gradient (trainableMask), so a
   * block-diagonal layer needs no masking in its forward pass.
   */
  add(name: string, shape: number[], init: 'glorot' | 'zeros' | 'small', rng: Rng, mask?: Float32Array): tf.Variable {
    if (this.entries.some((e) => e.spec.name === name)) throw new Error(`parameter "${name}" defined twice`);
    const size = shape.reduce((a, b) => a * b, 1);
    if (mask && mask.length !== size) throw new Error(`mask of "${name}" has ${mask.length} entries, the parameter ${size}`);
    const vals = new Float32Array(size);
    if (init === 'glorot') {
      const fanIn = shape[0] ?? 1;
      const fanOut = shape[1] ?? 1;
      const limit = Math.sqrt(6 / (fanIn + fanOut));
      for (let i = 0; i < size; i++) vals[i] = (rng.next() * 2 - 1) * limit;
    } else if (init === 'small') {
      for (let i = 0; i < size; i++) vals[i] = rng.normal() * 0.01;
    }
    if (mask) for (let i = 0; i < size; i++) if (mask[i] === 0) vals[i] = 0;
    // tfjs variable names are process-global; our names live in the spec instead.
    const v = tf.variable(tf.tensor(vals, shape), true);
    this.entries.push({ spec: { name, shape }, v, decay: init === 'glorot', ...(mask ? { mask: Float32Array.from(mask) } : {}) });
    return v;
  }

  get specs(): ParamSpec[] {
    return this.entries.map((e) => e.spec);
  }
  get size(): number {
    return this.entries.reduce((a, e) => a + e.v.size, 0);
  }
  variables(): tf.Variable[] {
    return this.entries.map((e) => e.v);
  }

  /** One flat array in canonical order, each entry's part from `part` (a number fills it). */
  private flatten(part: (e: Entry) => ArrayLike<number> | number): Float32Array {
    const out = new Float32Array(this.size);
    let o = 0;
    for (const e of this.entries) {
      const p = part(e);
      if (typeof p === 'number') out.fill(p, o, o + e.v.size);
      else out.set(p, o);
      o += e.v.size;
    }
    return out;
  }

  getFlat(): Float32Array {
    return this.flatten((e) => e.v.dataSync() as Float32Array);
  }

  setFlat(w: Float32Array): void {
    if (w.length !== this.size) throw new Error(`weights have ${w.length} values, the model needs ${this.size}`);
    let o = 0;
    for (const e of this.entries) {
      const part = w.subarray(o, o + e.v.size);
      tf.tidy(() => e.v.assign(tf.tensor(e.mask ? part.map((x, i) => (e.mask![i] === 0 ? 0 : x)) : part, e.spec.shape)));
      o += e.v.size;
    }
  }

  /** 1 for each flat entry that trains, 0 for structural zeros; undefined when every entry trains. */
  trainableMask(): Float32Array | undefined {
    return this.entries.some((e) => e.mask) ? this.flatten((e) => e.mask ?? 1) : undefined;
  }

  /** 1 for each flat entry that weight decay applies to (matrices), 0 for biases and embeddings. */
  decayMask(): Float32Array {
    return this.flatten((e) => (e.decay ? 1 : 0));
  }

  dispose(): void {
    for (const e of this.entries) e.v.dispose();
  }
}

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
export class ParamSet {
  private readonly entries: { spec: ParamSpec; v: tf.Variable; decay: boolean }[] = [];

  /** Glorot-uniform matrices (weight-decayed) or zero vectors (biases, not decayed). */
  add(name: string, shape: number[], init: 'glorot' | 'zeros' | 'small', rng: Rng): tf.Variable {
    if (this.entries.some((e) => e.spec.name === name)) throw new Error(`parameter "${name}" defined twice`);
    const size = shape.reduce((a, b) => a * b, 1);
    const vals = new Float32Array(size);
    if (init === 'glorot') {
      const fanIn = shape[0] ?? 1;
      const fanOut = shape[1] ?? 1;
      const limit = Math.sqrt(6 / (fanIn + fanOut));
      for (let i = 0; i < size; i++) vals[i] = (rng.next() * 2 - 1) * limit;
    } else if (init === 'small') {
      for (let i = 0; i < size; i++) vals[i] = rng.normal() * 0.01;
    }
    // tfjs variable names are process-global; our names live in the spec instead.
    const v = tf.variable(tf.tensor(vals, shape), true);
    this.entries.push({ spec: { name, shape }, v, decay: init === 'glorot' });
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

  getFlat(): Float32Array {
    const out = new Float32Array(this.size);
    let o = 0;
    for (const e of this.entries) {
      out.set(e.v.dataSync() as Float32Array, o);
      o += e.v.size;
    }
    return out;
  }

  setFlat(w: Float32Array): void {
    if (w.length !== this.size) throw new Error(`weights have ${w.length} values, the model needs ${this.size}`);
    let o = 0;
    for (const e of this.entries) {
      e.v.assign(tf.tensor(w.subarray(o, o + e.v.size), e.spec.shape));
      o += e.v.size;
    }
  }

  /** 0.5 * sum of squares of the decayed (matrix) parameters: PyTorch's weight_decay as a loss term. */
  l2(): tf.Scalar {
    return tf.tidy(() =>
      tf.mul(0.5, tf.addN(this.entries.filter((e) => e.decay).map((e) => tf.sum(tf.square(e.v))))),
    ) as tf.Scalar;
  }

  /** 0.5 * ||w - anchor||^2 over all parameters: FedProx's proximal term. */
  proximal(anchor: tf.Tensor[]): tf.Scalar {
    return tf.addN(this.entries.map((e, i) => tf.sum(tf.square(tf.sub(e.v, anchor[i]!))))).mul(0.5) as tf.Scalar;
  }

  /** The flat weights as tensors shaped like the parameters (for the proximal anchor). */
  toTensors(w: Float32Array): tf.Tensor[] {
    let o = 0;
    return this.entries.map((e) => {
      const t = tf.tensor(w.subarray(o, o + e.v.size), e.spec.shape);
      o += e.v.size;
      return t;
    });
  }

  dispose(): void {
    for (const e of this.entries) e.v.dispose();
  }
}

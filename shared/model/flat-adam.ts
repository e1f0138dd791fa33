import * as tf from '@tensorflow/tfjs';

export interface FlatAdamOptions {
  learningRate: number;
  beta1?: number;
  beta2?: number;
  /** tfjs's default epsilon, so results match tf.train.adam. */
  epsilon?: number;
  /** PyTorch-style weight decay: wd * w is added to the gradient of the decayed entries. */
  weightDecay?: number;
  /** 1 for entries that decay (weight matrices), 0 for the rest (biases, embeddings). */
  decayMask?: Float32Array;
  /** FedProx: mu * (w - anchor) is added to the gradient. */
  proximalMu?: number;
  anchor?: Float32Array;
  /** 0 for structural zeros (ParamSet.trainableMask): their gradient is dropped, so they never move. */
  trainableMask?: Float32Array;
  /** SCAFFOLD: a constant vector added to every step's gradient (the drift correction c - c_i). */
  correction?: Float32Array;
}

/**
 * Adam over all of a model's variables as ONE flat vector. tf.train.adam issues
 * about fifteen small kernels per variable per step; at our batch sizes kernel launch
 * overhead dominates on wasm, so a model with many variables (the dual branch) paid
 * mostly for optimizer bookkeeping. Here the moments, weight decay and the proximal
 * term are a handful of kernels whatever the variable count. Same arithmetic as
 * tf.train.adam (bias-corrected, epsilon outside the square root), with weight decay
 * and the proximal pull added to the gradient as PyTorch's Adam does.
 * It keeps its own flat copy of the weights (read from the variables once, at
 * construction) and writes the variables after each step: the variables must not be
 * changed elsewhere while the optimizer lives (trainLocal makes one per call).
 */
export class FlatAdam {
  private readonly weights: tf.Variable;
  private readonly firstMoment: tf.Variable;
  private readonly secondMoment: tf.Variable;
  private readonly trainable: tf.Tensor1D | undefined;
  private readonly decay: tf.Tensor1D | undefined;
  private readonly anchor: tf.Tensor1D | undefined;
  private readonly correction: tf.Tensor1D | undefined;
  private readonly sizes: number[];
  /** Zeros standing in for the gradient of a variable the loss does not touch (made once, not per step). */
  private readonly zeros: (tf.Tensor | undefined)[] = [];
  /** Whether a variable has had a gradient since construction: until then its moments are zero and it cannot move. */
  private readonly touched: boolean[];
  private stepCount = 0;

  constructor(
    private readonly vars: tf.Variable[],
    private readonly opts: FlatAdamOptions,
  ) {
    this.sizes = vars.map((v) => v.size);
    this.touched = vars.map(() => false);
    const n = this.sizes.reduce((a, b) => a + b, 0);
    this.weights = tf.tidy(() => tf.variable(this.flat(vars), false));
    this.firstMoment = tf.tidy(() => tf.variable(tf.zeros([n]), false));
    this.secondMoment = tf.tidy(() => tf.variable(tf.zeros([n]), false));
    if ((opts.weightDecay ?? 0) > 0) {
      const mask = opts.decayMask;
      if (!mask || mask.length !== n) throw new Error(`decayMask must have ${n} entries`);
      this.decay = tf.tidy(() => tf.mul(opts.weightDecay!, tf.tensor1d(mask)) as tf.Tensor1D);
    }
    if ((opts.proximalMu ?? 0) > 0 && opts.anchor) {
      if (opts.anchor.length !== n) throw new Error(`anchor must have ${n} entries`);
      this.anchor = tf.keep(tf.tensor1d(opts.anchor));
    }
    if (opts.correction) {
      if (opts.correction.length !== n) throw new Error(`correction must have ${n} entries`);
      this.correction = tf.keep(tf.tensor1d(opts.correction));
    }
    if (opts.trainableMask) {
      if (opts.trainableMask.length !== n) throw new Error(`trainableMask must have ${n} entries`);
      this.trainable = tf.keep(tf.tensor1d(opts.trainableMask));
    }
  }

  private decayCache: { key: string; t: tf.Tensor1D } | undefined;

  /** The decay vector with the entries of gradient-less variables zeroed (cached: the set rarely changes). */
  private decayFor(missing: number[]): tf.Tensor1D {
    if (missing.length === 0) return this.decay!;
    const key = missing.join(',');
    if (this.decayCache?.key !== key) {
      this.decayCache?.t.dispose();
      const mask = new Float32Array(this.sizes.reduce((a, b) => a + b, 0)).fill(1);
      let offset = 0;
      this.sizes.forEach((n, i) => {
        if (missing.includes(i)) mask.fill(0, offset, offset + n);
        offset += n;
      });
      this.decayCache = { key, t: tf.keep(tf.tidy(() => tf.mul(this.decay!, tf.tensor1d(mask)) as tf.Tensor1D)) };
    }
    return this.decayCache.t;
  }

  private zerosOf(i: number): tf.Tensor {
    return (this.zeros[i] ??= tf.keep(tf.zeros(this.vars[i]!.shape)));
  }

  /**
   * Whether the step leaves variable i exactly as it is: it has never had a gradient
   * (so m = 0 and the update is w - lr * 0 / (0 + eps) = w), weight decay skips it
   * (decayFor) and there is no proximal pull. Its write-back can be skipped.
   */
  private still(i: number): boolean {
    return !this.touched[i] && !this.anchor && !this.correction;
  }

  private flat(ts: tf.Tensor[]): tf.Tensor1D {
    return tf.concat(ts.map((t) => tf.reshape(t, [-1])), 0) as tf.Tensor1D;
  }

  /**
   * One step on `lossFn`. Returns the loss value plus, when weight decay is on, the
   * 0.5 * wd * ||w||^2 term it stands for (so reported losses match the L2 form).
   */
  step(lossFn: () => tf.Scalar): number {
    const b1 = this.opts.beta1 ?? 0.9;
    const b2 = this.opts.beta2 ?? 0.999;
    const eps = this.opts.epsilon ?? 1e-7;
    this.stepCount++;
    const out = tf.tidy(() => {
      const { value, grads } = tf.variableGrads(lossFn, this.vars);
      const w = this.weights;
      // A variable the loss does not touch (e.g. NWGM attention in exact mode) gets no
      // gradient; like PyTorch, it then gets no weight decay either.
      const missing = this.vars.flatMap((v, i) => (grads[v.name] ? [] : [i]));
      this.vars.forEach((v, i) => grads[v.name] && (this.touched[i] = true));
      let g = this.flat(this.vars.map((v, i) => grads[v.name] ?? this.zerosOf(i)));
      let reported: tf.Tensor = value;
      if (this.decay) {
        const dw = tf.mul(this.decayFor(missing), w);
        g = tf.add(g, dw);
        reported = tf.add(value, tf.mul(0.5, tf.sum(tf.mul(dw, w))));
      }
      if (this.anchor) g = tf.add(g, tf.mul(this.opts.proximalMu!, tf.sub(w, this.anchor)));
      if (this.correction) g = tf.add(g, this.correction);
      if (this.trainable) g = tf.mul(g, this.trainable);
      const m = tf.add(tf.mul(b1, this.firstMoment), tf.mul(1 - b1, g));
      const v = tf.add(tf.mul(b2, this.secondMoment), tf.mul(1 - b2, tf.square(g)));
      this.firstMoment.assign(m);
      this.secondMoment.assign(v);
      const mHat = tf.div(m, 1 - b1 ** this.stepCount);
      const vHat = tf.div(v, 1 - b2 ** this.stepCount);
      const next = tf.sub(w, tf.mul(this.opts.learningRate, tf.div(mHat, tf.add(tf.sqrt(vHat), eps))));
      this.weights.assign(next);
      this.writeBack(next as tf.Tensor1D);
      return reported.dataSync()[0]!;
    });
    return out;
  }

  /** Copies the flat weights into the variables. */
  private writeBack(next: tf.Tensor1D): void {
    if (tf.getBackend() === 'wasm') {
      // wasm's split copies the WHOLE input out of its heap once per part (its slice
      // kernel reads all of x); reading once and uploading each part moves 2 copies
      // instead of one per variable, and issues no kernels.
      const vals = next.dataSync() as Float32Array;
      let offset = 0;
      this.vars.forEach((v, i) => {
        if (!this.still(i)) v.assign(tf.tensor(vals.subarray(offset, offset + this.sizes[i]!), v.shape));
        offset += this.sizes[i]!;
      });
      return;
    }
    tf.split(next, this.sizes).forEach((part, i) => this.still(i) || this.vars[i]!.assign(tf.reshape(part, this.vars[i]!.shape)));
  }

  dispose(): void {
    tf.dispose([this.weights, this.firstMoment, this.secondMoment]);
    for (const z of this.zeros) z?.dispose();
    this.trainable?.dispose();
    if (this.decay) this.decay.dispose();
    this.decayCache?.t.dispose();
    if (this.anchor) this.anchor.dispose();
    this.correction?.dispose();
  }
}

import * as tf from '@tensorflow/tfjs';
import type { Rng } from '../../../rng.ts';

/**
 * Part 2 of METHOD.md: the pieces of the dual-branch (LfF / DisEnt) objective that
 * do not depend on the model's layout. Tensor functions are differentiable on the
 * wasm backend (no gather, no comparison masks, no einsum); the weight arithmetic
 * runs outside the gradient tape on plain arrays.
 */

/** Identity forward, zero gradient (DisEnt's `.detach()`): tfjs has no public stopGradient. */
const detach = tf.customGrad((...inputs: (tf.Tensor | tf.GradSaveFunc)[]) => ({
  value: tf.clone(inputs[0] as tf.Tensor),
  gradFunc: (dy: tf.Tensor) => [tf.zerosLike(dy)],
}));
export const stopGradient = <T extends tf.Tensor>(x: T): T => detach(x) as T;

/**
 * Generalized cross-entropy per row, L = (1 - p_y^q) / q with p_y = sigmoid(s * logit),
 * s = 2y - 1. p_y^q = exp(-q softplus(-s logit)) keeps it stable for large logits.
 */
export function gceLoss(logits: tf.Tensor1D, y: tf.Tensor1D, q: number): tf.Tensor1D {
  return tf.tidy(() => {
    const s = tf.sub(tf.mul(y, 2), 1);
    const pq = tf.exp(tf.mul(-q, tf.softplus(tf.neg(tf.mul(s, logits)))));
    return tf.div(tf.sub(1, pq), q) as tf.Tensor1D;
  });
}

/**
 * Group-balanced causal weights: the bias-conflicting rows (r > 0.5) carry `share` of
 * the batch's base weight and the bias-aligned rows the rest, each row in proportion
 * to its base weight. Neutral rows (the bias branch had no input for them) keep their
 * base weight and the two groups share what is left. If one group is empty the other
 * keeps everything. Bounded by construction, so a few conflicting rows cannot take
 * over the loss (the reversed-shortcut collapse of METHOD.md).
 */
export function groupBalancedWeights(r: Float32Array, base: Float32Array, share: number, neutral?: Uint8Array): Float32Array {
  let total = 0;
  let conflicting = 0;
  for (let i = 0; i < r.length; i++) {
    if (neutral?.[i]) continue;
    total += base[i]!;
    if (r[i]! > 0.5) conflicting += base[i]!;
  }
  const aligned = total - conflicting;
  if (conflicting <= 0 || aligned <= 0) return Float32Array.from(base);
  const fc = (share * total) / conflicting;
  const fa = ((1 - share) * total) / aligned;
  return base.map((b, i) => (neutral?.[i] ? b : b * (r[i]! > 0.5 ? fc : fa)));
}

/** LfF's raw weights: base weight times r, r normalised to mean 1 over the non-neutral rows; neutral rows keep their base. */
export function lffWeights(r: Float32Array, base: Float32Array, neutral?: Uint8Array): Float32Array {
  let sum = 0;
  let count = 0;
  r.forEach((v, i) => neutral?.[i] || ((sum += v), count++));
  const mean = count ? sum / count : 0;
  if (!(mean > 0)) return Float32Array.from(base);
  return base.map((b, i) => (neutral?.[i] ? b : (b * r[i]!) / mean));
}

/**
 * Per-row running (EMA) cross-entropies of both branches over a site's training set,
 * kept in the model object across rounds. A row's first loss is taken as is; an
 * unseen row has r = 0.5 and so counts as bias-aligned.
 */
export class RunningLosses {
  private bias = new Float32Array(0);
  private causal = new Float32Array(0);
  private seen = new Uint8Array(0);

  constructor(private readonly decay: number) {}

  /** Sizes the arrays for n rows, forgetting earlier values. */
  reset(n: number): void {
    this.bias = new Float32Array(n);
    this.causal = new Float32Array(n);
    this.seen = new Uint8Array(n);
  }

  get size(): number {
    return this.seen.length;
  }

  /** Grows (keeping values) when a row index is beyond the arrays: robust to a missing attachTrainingSet. */
  private ensure(row: number): void {
    if (row < this.seen.length) return;
    const n = Math.max(row + 1, this.seen.length * 2);
    const grow = <T extends Float32Array | Uint8Array>(a: T, make: (n: number) => T): T => {
      const b = make(n);
      b.set(a);
      return b;
    };
    this.bias = grow(this.bias, (k) => new Float32Array(k));
    this.causal = grow(this.causal, (k) => new Float32Array(k));
    this.seen = grow(this.seen, (k) => new Uint8Array(k));
  }

  update(rows: Int32Array, ceBias: Float32Array, ceCausal: Float32Array): void {
    const d = this.decay;
    rows.forEach((row, i) => {
      this.ensure(row);
      if (this.seen[row]) {
        this.bias[row] = d * this.bias[row]! + (1 - d) * ceBias[i]!;
        this.causal[row] = d * this.causal[row]! + (1 - d) * ceCausal[i]!;
      } else {
        this.bias[row] = ceBias[i]!;
        this.causal[row] = ceCausal[i]!;
        this.seen[row] = 1;
      }
    });
  }

  /** r = CE_b / (CE_b + CE_c) per row (0.5 for unseen rows or two zero losses). */
  ratio(rows: Int32Array): Float32Array {
    return Float32Array.from(rows, (row) => {
      if (row >= this.seen.length || !this.seen[row]) return 0.5;
      const b = this.bias[row]!;
      const s = b + this.causal[row]!;
      return s > 1e-12 ? b / s : 0.5;
    });
  }

  /** Fraction of seen rows currently bias-conflicting (r > 0.5): a training signal to watch. */
  conflictingFraction(): number {
    let seen = 0;
    let conflicting = 0;
    for (let i = 0; i < this.seen.length; i++) {
      if (!this.seen[i]) continue;
      seen++;
      const s = this.bias[i]! + this.causal[i]!;
      if (s > 1e-12 && this.bias[i]! / s > 0.5) conflicting++;
    }
    return seen ? conflicting / seen : 0;
  }
}

/** A random cyclic derangement: perm[i] != i for n > 1, so every row is paired with another. */
export function derangement(n: number, rng: Rng): Int32Array {
  const order = rng.shuffle(Array.from({ length: n }, (_, i) => i));
  const perm = new Int32Array(n);
  for (let k = 0; k < n; k++) perm[order[k]!] = order[(k + 1) % n]!;
  return perm;
}

/** P with P[i, perm[i]] = 1, so (P X)[i] = X[perm[i]]: a differentiable row gather for wasm. */
export function permutationMatrix(perm: Int32Array): tf.Tensor2D {
  const n = perm.length;
  const m = new Float32Array(n * n);
  perm.forEach((j, i) => (m[i * n + j] = 1));
  return tf.tensor2d(m, [n, n]);
}

/**
 * DisEnt's feature swap for one batch: row i's bias code and label become those of
 * row perm[i] (label, code and weight move together, so each pair keeps its label).
 */
export function swapRows(P: tf.Tensor2D, zb: tf.Tensor2D, y: tf.Tensor1D, w: tf.Tensor1D) {
  const col = (v: tf.Tensor1D) => tf.reshape(tf.matMul(P, tf.reshape(v, [-1, 1])), [-1]) as tf.Tensor1D;
  return { zb: tf.matMul(P, zb) as tf.Tensor2D, y: col(y), w: col(w) };
}

/**
 * Independence penalty: the mean squared cross-correlation between the columns of
 * z_c and z_b over the batch (linear-kernel HSIC on standardised codes). Scale-free,
 * so the encoders cannot meet it by shrinking a code (down to a variance floor of
 * 1e-6 that keeps dead units finite); in [0, 1]; about 1/n for
 * independent codes, 1 on the diagonal for copies.
 */
export function independencePenalty(zc: tf.Tensor2D, zb: tf.Tensor2D): tf.Scalar {
  return tf.tidy(() => {
    const n = zc.shape[0];
    // Columns become rows first: tfjs reduces along the innermost axis only, and a
    // reduction over axis 0 would transpose (forward and backward) at every mean.
    const standardiseColumns = (z: tf.Tensor2D) => {
      const t = tf.transpose(z);
      const c = tf.sub(t, tf.mean(t, 1, true));
      return tf.mul(c, tf.rsqrt(tf.add(tf.mean(tf.square(c), 1, true), 1e-6))) as tf.Tensor2D;
    };
    const corr = tf.matMul(standardiseColumns(zc), standardiseColumns(zb), false, true);
    return tf.mul(tf.sum(tf.square(corr)), 1 / (n * n * zc.shape[1] * zb.shape[1])) as tf.Scalar;
  });
}

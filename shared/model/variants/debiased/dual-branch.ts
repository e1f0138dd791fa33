import * as tf from '@tensorflow/tfjs';
import type { Rng } from '../../../rng.ts';

/**
 * Part 2 of METHOD.md: the pieces of the dual-branch (LfF / DisEnt) objective that
 * do not depend on the model's layout. Tensor functions are differentiable on the
 * wasm backend (no gather, no comparison masks, no einsum); the weight arithmetic
 * runs outside the gradient tape on plain arrays. The ops a training step uses
 * (weightedGce, biasHeadLogits, crossCorrelationPenalty) have hand-written gradients:
 * at our batch sizes kernel launches dominate on wasm, and autodiff of their small ops
 * cost most of a debiased step. Tests check each against autodiff or finite differences.
 */

/**
 * sum_i w_i GCE(logit_i, y_i): generalized cross-entropy L = (1 - p_y^q) / q with
 * p_y = sigmoid(s * logit), s = 2y - 1; p_y^q = exp(-q softplus(-s logit)) keeps it
 * stable for large logits. One op with a hand-written gradient,
 * dL/dlogit_i = -w_i s_i p_i^q sigmoid(-s_i logit_i): a few kernels where autodiff of
 * the formula and the weighted sum took about thirty. Labels and weights are plain numbers.
 */
export function weightedGce(logits: tf.Tensor1D, y: Float32Array, w: Float32Array, q: number): tf.Scalar {
  const n = logits.shape[0];
  if (y.length !== n || w.length !== n) throw new Error(`weightedGce: ${n} logits, ${y.length} labels, ${w.length} weights`);
  let wSum = 0;
  for (const v of w) wSum += v;
  const negS = Float32Array.from(y, (v) => 1 - 2 * v);
  const f = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const l = args[0] as tf.Tensor1D;
    const save = args[1] as tf.GradSaveFunc;
    const negU = tf.mul(tf.tensor1d(negS), l);
    const pq = tf.exp(tf.mul(-q, tf.softplus(negU)));
    save([negU, pq]);
    return {
      // sum w (1 - pq) / q = (sum w - sum w pq) / q
      value: tf.mul(tf.sub(wSum, tf.sum(tf.mul(tf.tensor1d(w), pq))), 1 / q) as tf.Scalar,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [negU, pq] = saved as tf.Tensor1D[];
        const wNegS = tf.tensor1d(Float32Array.from(w, (v, i) => v * negS[i]!));
        return [tf.mul(tf.mul(wNegS, dy), tf.mul(pq!, tf.sigmoid(negU!)))];
      },
    };
  });
  return f(logits) as tf.Scalar;
}

/**
 * The bias head's logits as one op: W (D x 1) and b (1) applied to z = [z_c | z_b]
 * (n x D, z_c the first `split` columns) with the gradient kept off z_c (DisEnt's
 * detach), and, with `moved` (movedCausalCodes), to the n swapped rows as well
 * (output 2n: plain rows, then swapped). Replaces a detach, a slice, three concats
 * and a permutation matMul, each with its own backward chain.
 */
export function biasHeadLogits(z: tf.Tensor2D, split: number, W: tf.Tensor, b: tf.Tensor, moved: Float32Array | null): tf.Tensor1D {
  const [n, D] = z.shape;
  if (W.size !== D) throw new Error(`bias head has ${W.size} weights for ${D} columns`);
  const rows = moved ? 2 : 1;
  // 1 on z_b's columns: what the swapped copy keeps of z, and where z gets a gradient.
  const biasCols = Float32Array.from({ length: D }, (_, c) => (c < split ? 0 : 1));
  const f = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [x, Wt, bt] = args as [tf.Tensor2D, tf.Tensor2D, tf.Tensor];
    const save = args[3] as tf.GradSaveFunc;
    const A = moved
      ? (tf.concat([x, tf.add(tf.mul(x, tf.tensor2d(biasCols, [1, D])), tf.tensor2d(moved, [n, D]))], 0) as tf.Tensor2D)
      : x;
    save([A, Wt]);
    return {
      value: tf.reshape(tf.add(tf.matMul(A, Wt), bt), [-1]) as tf.Tensor1D,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [A, Wt] = saved as [tf.Tensor2D, tf.Tensor2D];
        const dW = tf.reshape(tf.matMul(tf.reshape(dy, [1, rows * n]), A), Wt.shape);
        const db = tf.reshape(tf.sum(dy), bt.shape);
        // Each row's bias code is read once per copy: its gradient is the sum over copies.
        const perRow = moved ? tf.transpose(tf.reshape(dy, [2, n])) : tf.reshape(dy, [n, 1]);
        const wBias = tf.mul(tf.reshape(Wt, [1, D]), tf.tensor2d(biasCols, [1, D]));
        const dz = tf.matMul(perRow, moved ? tf.concat([wBias, wBias], 0) : wBias);
        return [dz, dW, db];
      },
    };
  });
  return f(z, W, b) as tf.Tensor1D;
}

/**
 * The detached causal codes the feature swap moves: row perm[i] of the result holds
 * row i's first `H` columns of z (n x D, row-major), the rest is zero. Adding the bias
 * columns of z in place gives the swapped rows (sg(z_c[i]), z_b[perm[i]]) re-indexed
 * by j = perm[i], so the bias code, its label and its weight stay on row j and nothing
 * differentiable has to move (no permutation matMul).
 */
export function movedCausalCodes(z: Float32Array, n: number, D: number, H: number, perm: Int32Array): Float32Array {
  if (z.length !== n * D || perm.length !== n) throw new Error(`movedCausalCodes: ${z.length} values and ${perm.length} rows for ${n} x ${D}`);
  const out = new Float32Array(n * D);
  for (let i = 0; i < n; i++) out.set(z.subarray(i * D, i * D + H), perm[i]! * D);
  return out;
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

  /** A copy of every row's running losses, to go back to when a round is trained again. */
  snapshot(): { bias: Float32Array; causal: Float32Array; seen: Uint8Array } {
    return { bias: this.bias.slice(), causal: this.causal.slice(), seen: this.seen.slice() };
  }

  restore(s: { bias: Float32Array; causal: Float32Array; seen: Uint8Array }): void {
    this.bias = s.bias.slice();
    this.causal = s.causal.slice();
    this.seen = s.seen.slice();
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

/** 1 on the two off-diagonal blocks of a D x D matrix split at `split`: the cross terms (built once per shape). */
const crossMasks = new Map<string, Float32Array>();
function crossBlockMask(D: number, split: number): tf.Tensor2D {
  const key = `${D}:${split}`;
  let m = crossMasks.get(key);
  if (!m) {
    m = new Float32Array(D * D);
    for (let r = 0; r < D; r++) for (let c = 0; c < D; c++) m[r * D + c] = r < split !== c < split ? 1 : 0;
    crossMasks.set(key, m);
  }
  return tf.tensor2d(m, [D, D]);
}

/**
 * Independence penalty on z = [z_c | z_b] (the twin encoder's output; z_c is the
 * first `split` columns): the mean squared cross-correlation between the columns of
 * z_c and z_b over the batch (linear-kernel HSIC on standardised codes), times
 * `scale`. Scale-free, so the encoders cannot meet it by shrinking a code (down to a
 * variance floor of 1e-6 that keeps dead units finite); in [0, 1]; about 1/n for
 * independent codes, 1 on the diagonal for copies.
 * One op with a hand-written gradient. Autodiff of the
 * same formula cost about 120 kernels a step (each op also saves its inputs for the
 * backward pass), a quarter of a debiased step on wasm; this is about 25.
 * With S the column-standardised z (S = (z - mean) * s, s = (var + 1e-6)^-1/2) and G
 * = (S^T S) masked to the cross blocks, P = k/2 * sum(G^2), k = scale/(n^2 Hc Hb), and:
 *   dP/dS = 2k S G;  dP/dc = s * (dP/dS - S * mean_rows(dP/dS * S));  dP/dz = dP/dc - mean_rows(dP/dc)
 * (the batch-norm backward; the last mean is zero here). Tests check it against autodiff of the formula.
 */
export function crossCorrelationPenalty(z: tf.Tensor2D, split: number, scale = 1): tf.Scalar {
  const [n, D] = z.shape;
  if (!(split > 0 && split < D)) throw new Error(`split must be inside (0, ${D}), got ${split}`);
  // `scale` (the loss weight) folded in saves the op that would multiply by it.
  const k = scale / (n * n * split * (D - split));
  const f = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const x = args[0] as tf.Tensor2D;
    const save = args[1] as tf.GradSaveFunc;
    // Row means as a matMul: a reduction over axis 0 would transpose on wasm.
    const avg = tf.tensor2d(new Float32Array(n).fill(1 / n), [1, n]);
    const c = tf.sub(x, tf.matMul(avg, x));
    const s = tf.rsqrt(tf.add(tf.matMul(avg, tf.square(c)), 1e-6));
    const S = tf.mul(c, s) as tf.Tensor2D;
    // An explicit transpose: wasm's transposed matMul is several times slower (affine.ts).
    const G = tf.mul(tf.matMul(tf.transpose(S), S), crossBlockMask(D, split)) as tf.Tensor2D;
    save([S, s, G, avg]);
    return {
      value: tf.mul(tf.sum(tf.square(G)), k / 2) as tf.Scalar,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [S, s, G, avg] = saved as [tf.Tensor2D, tf.Tensor2D, tf.Tensor2D, tf.Tensor2D];
        const gS = tf.mul(tf.matMul(S, G), tf.mul(dy, 2 * k)) as tf.Tensor2D;
        // dP/dc has zero column means already (gS and S * t are combinations of S's
        // centred columns), so the centring step of the chain rule is left out.
        return [tf.mul(tf.sub(gS, tf.mul(S, tf.matMul(avg, tf.mul(gS, S)))), s)];
      },
    };
  });
  return f(z) as tf.Scalar;
}

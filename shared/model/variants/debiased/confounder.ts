import * as tf from '@tensorflow/tfjs';
import type { PatternPrior } from '../../../data/patterns.ts';
import type { Rng } from '../../../rng.ts';
import { affine } from '../../affine.ts';
import type { ParamSet } from '../../params.ts';

/**
 * Part 1 of METHOD.md: missingness deconfounding by backdoor adjustment over the
 * pattern m. A confounder dictionary c_m = relu(m Wc + bc) (computed from the mask
 * bits, so unseen patterns get one too), a head h(z, c) giving the logit of
 * P(Y | z, m), and the two adjusted predictions:
 *   exact:  P(Y | do(z)) = sum_m P(m) sigmoid(h(z, c_m))
 *   NWGM:   sigmoid(h(z, sum_m w_m(z) c_m)),  w_m(z) = P(m) exp(s_m) / sum_m' P(m') exp(s_m'),
 *           s_m = (z Wq) . c_m   (the attention of CONTA / VC R-CNN; weights incl. P(m) sum to 1)
 */
export interface ConfounderHead {
  /** c_m for each row's mask bits (n x K -> n x Dc). */
  confounders(present: tf.Tensor2D): tf.Tensor2D;
  /** h(z_i, c_i) row by row (n x H, n x Dc -> n). */
  logit(z: tf.Tensor2D, c: tf.Tensor2D): tf.Tensor1D;
  /**
   * h(z_i, c_{m_i}) on each row's own mask bits: logit(z, confounders(present)) as one
   * op with a hand-written gradient (the training path; n x H, n x K -> n).
   */
  ownLogit(z: tf.Tensor2D, present: tf.Tensor2D): tf.Tensor1D;
  /** h(z_i, c_m) for every row and every dictionary entry (n x H, P x Dc -> n x P). */
  logitAll(z: tf.Tensor2D, C: tf.Tensor2D): tf.Tensor2D;
  /** Attention scores s_m(z) = (z Wq) . c_m (n x P). */
  attention(z: tf.Tensor2D, C: tf.Tensor2D): tf.Tensor2D;
}

/**
 * The learned dictionary and head. h(z, c) = w2 . relu(z Wz + c Wc' + b1) + b2: the
 * hidden layer makes it nonlinear in the (z, c) interaction, so the adjustment is more
 * than a shift of the logit. Wq starts at zero (plain expected confounder) and learns
 * only through the NWGM training term (model.ts), since training otherwise uses each
 * row's own pattern.
 */
export function createConfounderHead(
  params: ParamSet,
  name: string,
  zDim: number,
  K: number,
  confounderDim: number,
  headHidden: number,
  rng: Rng,
): ConfounderHead {
  const Wd = params.add(`${name}/dictionary/W`, [K, confounderDim], 'glorot', rng);
  const bd = params.add(`${name}/dictionary/b`, [confounderDim], 'zeros', rng);
  const Wz = params.add(`${name}/head/Wz`, [zDim, headHidden], 'glorot', rng);
  const Wc = params.add(`${name}/head/Wc`, [confounderDim, headHidden], 'glorot', rng);
  const b1 = params.add(`${name}/head/b1`, [headHidden], 'zeros', rng);
  const w2 = params.add(`${name}/head/w2`, [headHidden, 1], 'glorot', rng);
  const b2 = params.add(`${name}/head/b2`, [1], 'zeros', rng);
  const Wq = params.add(`${name}/attention/Wq`, [zDim, confounderDim], 'zeros', rng);
  const ownLogit = ownPatternLogit({ Wd, bd, Wz, Wc, b1, w2, b2 });
  return {
    ownLogit,
    confounders: (present) => affine([{ x: present, W: Wd, grad: false }], bd, 'relu'),
    logit: (z, c) => {
      const h = affine([{ x: z, W: Wz }, { x: c, W: Wc }], b1, 'relu');
      return tf.reshape(affine([{ x: h, W: w2 }], b2), [-1]) as tf.Tensor1D;
    },
    logitAll: (z, C) => {
      const n = z.shape[0];
      const P = C.shape[0];
      // Broadcast z Wz (n x 1 x H) against c_m Wc (1 x P x H): every (row, pattern) pair in one pass.
      const a = tf.reshape(tf.add(tf.matMul(z, Wz), b1), [n, 1, headHidden]);
      const c = tf.reshape(tf.matMul(C, Wc), [1, P, headHidden]);
      const h = tf.reshape(tf.relu(tf.add(a, c)), [n * P, headHidden]) as tf.Tensor2D;
      return tf.reshape(tf.add(tf.matMul(h, w2), b2), [n, P]) as tf.Tensor2D;
    },
    attention: (z, C) => tf.matMul(tf.matMul(z, Wq), C, false, true) as tf.Tensor2D,
  };
}

/** The head's weights, as ownPatternLogit reads them. */
export interface HeadWeights {
  Wd: tf.Tensor;
  bd: tf.Tensor;
  Wz: tf.Tensor;
  Wc: tf.Tensor;
  b1: tf.Tensor;
  w2: tf.Tensor;
  b2: tf.Tensor;
}

/**
 * The training form of the head, h(z, c_m) on each row's own pattern m, as one custom
 * op: c = relu(m Wd + bd), h = relu(z Wz + c Wc + b1), logit = h w2 + b2. The same
 * arithmetic as confounders() then logit() (three affine ops and a reshape), with the
 * backward pass written out: one tape node instead of four, and four saved tensors
 * instead of eleven, which is what the chain cost on wasm, where kernel launches and
 * the tape's bookkeeping, not arithmetic, dominate at these sizes. As in affine.ts,
 * every product in the backward pass is an explicit transpose plus a plain matMul,
 * and column sums are matMuls with a row of ones. The mask bits get no gradient.
 */
export function ownPatternLogit(w: HeadWeights): (z: tf.Tensor2D, present: tf.Tensor2D) => tf.Tensor1D {
  const { Wd, bd, Wz, Wc, b1, w2, b2 } = w;
  return (z, present) => {
    const f = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
      const [zi, Wdi, bdi, Wzi, Wci, b1i, w2i, b2i] = args as tf.Tensor2D[];
      const save = args[8] as tf.GradSaveFunc;
      const c = tf.relu(tf.add(tf.matMul(present, Wdi!), bdi!)) as tf.Tensor2D;
      const h = tf.relu(tf.add(tf.add(tf.matMul(zi!, Wzi!), tf.matMul(c, Wci!)), b1i!)) as tf.Tensor2D;
      const value = tf.reshape(tf.add(tf.matMul(h, w2i!), b2i!), [-1]);
      save([zi!, present, c, h]);
      return {
        value,
        gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
          const [zs, ms, cs, hs] = saved as tf.Tensor2D[];
          const n = zs!.shape[0];
          const d = tf.reshape(dy, [n, 1]) as tf.Tensor2D;
          const ones = tf.ones([1, n]) as tf.Tensor2D;
          // logit = h w2 + b2
          const gw2 = tf.matMul(tf.transpose(hs!), d);
          const gb2 = tf.reshape(tf.sum(dy), b2.shape);
          // h = relu(pre): d pre = (d w2^T) * [h > 0]; d w2^T is an outer product ([n,1] x [1,hidden]).
          const dpre = tf.mul(tf.mul(d, tf.reshape(w2i!, [1, -1])), tf.step(hs!)) as tf.Tensor2D;
          const gWz = tf.matMul(tf.transpose(zs!), dpre);
          const gWc = tf.matMul(tf.transpose(cs!), dpre);
          const gb1 = tf.reshape(tf.matMul(ones, dpre), b1.shape);
          const gz = tf.matMul(dpre, tf.transpose(Wzi!));
          // c = relu(m Wd + bd)
          const dc = tf.mul(tf.matMul(dpre, tf.transpose(Wci!)), tf.step(cs!)) as tf.Tensor2D;
          const gWd = tf.matMul(tf.transpose(ms!), dc);
          const gbd = tf.reshape(tf.matMul(ones, dc), bd.shape);
          return [gz, gWd, gbd, gWz, gWc, gb1, gw2, gb2];
        },
      };
    });
    return f(z, Wd, bd, Wz, Wc, b1, w2, b2) as tf.Tensor1D;
  };
}

/** The prior's patterns as a P x K matrix of mask bits and their probabilities. */
export function priorTensors(prior: PatternPrior, K: number): { M: tf.Tensor2D; p: tf.Tensor1D } | null {
  const P = prior.patterns.length;
  if (P === 0) return null;
  const bits = new Float32Array(P * K);
  const probs = new Float32Array(P);
  prior.patterns.forEach(({ pattern, p }, i) => {
    if (pattern.length !== K || !/^[01]+$/.test(pattern))
      throw new Error(`prior pattern "${pattern}" (entry ${i}) must be ${K} characters of 0/1, one per modality`);
    if (!(p > 0)) throw new Error(`prior pattern "${pattern}" has probability ${p}; the adjustment needs p > 0`);
    for (let k = 0; k < K; k++) bits[i * K + k] = pattern[k] === '1' ? 1 : 0;
    probs[i] = p;
  });
  return { M: tf.tensor2d(bits, [P, K]), p: tf.tensor1d(probs) };
}

/** Exact backdoor adjustment: sum_m P(m) sigmoid(h(z, c_m)), with P(m) renormalised to sum 1. */
export function adjustExact(head: ConfounderHead, z: tf.Tensor2D, C: tf.Tensor2D, p: tf.Tensor1D): tf.Tensor1D {
  return tf.tidy(() => {
    const pn = tf.div(p, tf.sum(p));
    const probs = tf.sigmoid(head.logitAll(z, C));
    return tf.reshape(tf.matMul(probs, tf.reshape(pn, [-1, 1])), [-1]) as tf.Tensor1D;
  });
}

/** NWGM weights w_m(z) = softmax_m(s_m(z) + log P(m)): the attention times the prior, normalised to sum 1. */
export function nwgmWeights(head: ConfounderHead, z: tf.Tensor2D, C: tf.Tensor2D, p: tf.Tensor1D): tf.Tensor2D {
  return tf.softmax(tf.add(head.attention(z, C), tf.log(p))) as tf.Tensor2D;
}

/** NWGM logit: the head applied to the expected confounder sum_m w_m(z) c_m (differentiable; used in training too). */
export function nwgmLogit(head: ConfounderHead, z: tf.Tensor2D, C: tf.Tensor2D, p: tf.Tensor1D): tf.Tensor1D {
  return head.logit(z, tf.matMul(nwgmWeights(head, z, C, p), C) as tf.Tensor2D);
}

/**
 * P(y = 1) for prediction under `mode`: the adjusted form over the prior's patterns, or
 * the row's own pattern when the mode is 'none' or the prior is empty (nothing to adjust over).
 */
export function adjustedProbability(
  head: ConfounderHead,
  z: tf.Tensor2D,
  present: tf.Tensor2D,
  prior: PatternPrior,
  mode: 'exact' | 'nwgm' | 'none',
): tf.Tensor1D {
  return tf.tidy(() => {
    const K = present.shape[1];
    const pt = mode === 'none' ? null : priorTensors(prior, K);
    if (!pt) return tf.sigmoid(head.logit(z, head.confounders(present))) as tf.Tensor1D;
    const C = head.confounders(pt.M);
    return mode === 'exact' ? adjustExact(head, z, C, pt.p) : (tf.sigmoid(nwgmLogit(head, z, C, pt.p)) as tf.Tensor1D);
  });
}

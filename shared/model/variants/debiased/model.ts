import * as tf from '@tensorflow/tfjs';
import type { FeatureSpace } from '../../../data/feature-space.ts';
import { Rng } from '../../../rng.ts';
import type { ModelConfig } from '../../config.ts';
import { bceWithLogits, dense, denseParams, multimodalEncoder, twinEncoder, weightedMean } from '../../layers.ts';
import type { Batch, FedModel, RoundContext } from '../../model.ts';
import { ParamSet } from '../../params.ts';
import { effectiveWeighting, usesDualBranch, type DebiasConfig } from './config.ts';
import { adjustedProbability, createConfounderHead, nwgmLogit, priorTensors } from './confounder.ts';
import {
  biasHeadLogits,
  crossCorrelationPenalty,
  derangement,
  groupBalancedWeights,
  lffWeights,
  movedCausalCodes,
  RunningLosses,
  weightedGce,
} from './dual-branch.ts';

/** What a round starts from besides the weights: the dual branch's running losses and the swap's random stream. */
interface DebiasedTrainingState {
  running: ReturnType<RunningLosses['snapshot']>;
  swap: number;
}

/**
 * The bias encoder's view under `biasInputs`: a 0/1 column mask and the modalities
 * holding the flagged features; null when it sees every column. A bias branch fed
 * every column learns the causal features as well as the shortcut (on our synthetic
 * cohorts its "conflicting" rows were the hard rows), so by default it sees only
 * what Part 3 flagged.
 */
export function biasView(space: FeatureSpace, dcfg: DebiasConfig): { columns: Float32Array; modalities: number[] } | null {
  if (dcfg.biasInputs === 'all' || dcfg.flagged.length === 0) return null;
  const names = new Set(dcfg.flagged.map((f) => f.feature));
  for (const n of names)
    if (!space.columns.some((c) => c.feature === n))
      throw new Error(`flagged feature "${n}" is not in the feature space; the decision and the model disagree on the features`);
  const columns = Float32Array.from(space.columns, (c) => (names.has(c.feature) ? 1 : 0));
  const modalities = space.modalities.flatMap((m, k) => (columns.subarray(m.start, m.end).some((v) => v === 1) ? [k] : []));
  return { columns, modalities };
}

/** The debiased model plus what a run may want to watch (the collapse signal of METHOD.md). */
export interface DebiasedModel extends FedModel {
  readonly config: DebiasConfig;
  /** Whether the dual branch trains (the resolved decision). */
  readonly dualBranch: boolean;
  stats(): { trackedRows: number; conflictingFraction: number };
  /** r = CE_b / (CE_b + CE_c) of training rows 0..n-1 (0.5 where unseen), for diagnostics. */
  rowRatios(n: number): Float32Array;
  /**
   * The causal branch's weights over a whole training set (rows 0..n-1) as the dual
   * branch applies them per batch, for the health figures; `base` where the dual branch is off.
   */
  rowWeights(base: Float32Array, present: Float32Array, temper: number): Float32Array;
  /** The bias branch's P(y = 1) per row (NaN when the model has no bias branch), for diagnostics. */
  predictBias(x: tf.Tensor2D, present: tf.Tensor2D): tf.Tensor1D;
}

/**
 * The full method of METHOD.md on the multimodal backbone:
 * - causal encoder (named 'encoder', as in the baseline) -> z_c;
 * - Part 1 (deconfound): head h(z_c, c_m) trained on each row's own pattern,
 *   predicted through the backdoor adjustment; off: the baseline's linear head;
 * - Part 2 (dual branch, when resolved on): a bias encoder -> z_b with DisEnt's bias
 *   head g(concat(sg(z_c), z_b)) trained by GCE; the causal CE weighted per row from
 *   the running losses; the feature swap; the independence penalty.
 * Feature swap, our formulation: row i is paired with z_b of row perm[i]. The causal
 * head reads z_c only (prediction must not need the bias branch), so its swapped term
 * equals L_causal and is left out; the bias head must predict y[perm[i]] from
 * (sg(z_c[i]), z_b[perm[i]]), which drives the label signal it uses into z_b rather
 * than the (detached) causal code. On the synthetic cohort (pooled, 3 seeds) dropping
 * the swap cost about 0.06 of held-out AUROC; the independence penalty changed little.
 * Bias view (biasInputs 'flagged', the default): the bias encoder sees only the
 * features Part 3 flagged, and rows where none of their modalities is present are
 * neutral (they keep their base weight). Fed every column, the bias branch became a
 * second full classifier and its "conflicting" rows were the hard rows: held-out
 * AUROC fell below the plain backbone's; with the view it rose above it.
 * The parameter layout depends only on the configuration (the bias branch exists
 * unless mode is 'off'), never on the data-dependent decision, so every site and the
 * coordinator agree on it before the decision is known.
 */
export function createDebiased(space: FeatureSpace, cfg: ModelConfig, dcfg: DebiasConfig, seed: number): DebiasedModel {
  const params = new ParamSet();
  const rng = new Rng(seed);
  const K = space.modalities.length;
  const H = cfg.hiddenDim;
  const hasBias = dcfg.mode !== 'off';
  const dualBranch = hasBias && usesDualBranch(dcfg);
  const view = dualBranch ? biasView(space, dcfg) : null;
  // With a bias branch, both encoders run as one fused twin (same maths, half the kernels).
  const single = hasBias ? null : multimodalEncoder(params, 'encoder', space, cfg.modalityDim, H, rng);
  const twin = hasBias ? twinEncoder(params, 'encoders', space, cfg.modalityDim, H, rng, view?.columns ?? null) : null;
  /** z: the single encoder's code, or the twin's [z_c | z_b]. */
  const encode = (x: tf.Tensor2D, present: tf.Tensor2D): tf.Tensor2D => (single ?? twin!).encode(x, present);
  /** z_c out of z (the bias half is only read by the bias-branch ops, which take z whole). */
  const causalCode = (z: tf.Tensor2D): tf.Tensor2D => (single ? z : (tf.slice(z, [0, 0], [-1, H]) as tf.Tensor2D));
  /**
   * z_c alone: the twin computes only its causal half (the bias half's weights get
   * zero gradients, as they would through a slice of z), for paths that never read z_b.
   */
  const encodeCausal = (x: tf.Tensor2D, present: tf.Tensor2D): tf.Tensor2D => (single ?? twin!).encode(x, present, true);
  const head = dcfg.deconfound
    ? createConfounderHead(params, 'deconfound', H, K, dcfg.confounderDim, dcfg.headHidden, rng)
    : null;
  const linear = head ? null : dense(params, 'classifier', H, 1, rng);
  const biasHead = hasBias ? denseParams(params, 'bias/classifier', 2 * H, 1, rng) : null;
  /** Rows where every modality of the bias view is absent: the bias branch knows nothing of them. */
  const neutralOf = (p: ArrayLike<number>, n: number): Uint8Array | undefined => {
    if (!view) return undefined;
    return Uint8Array.from({ length: n }, (_, i) => (view.modalities.every((k) => p[i * K + k] === 0) ? 1 : 0));
  };
  const neutralRows = (b: Batch): Uint8Array | undefined => (view ? neutralOf(b.present.dataSync(), b.rows.length) : undefined);
  const swapRng = new Rng(seed).fork(0x5a4b);
  const weighting = effectiveWeighting(dcfg);
  const running = new RunningLosses(dcfg.emaDecay);

  /** Causal logit on each row's own pattern (the training form of P(Y | z, m)). */
  const causalLogit = (zc: tf.Tensor2D, present: tf.Tensor2D): tf.Tensor1D =>
    head ? head.ownLogit(zc, present) : (tf.reshape(linear!(zc), [-1]) as tf.Tensor1D);

  /** Causal CE per row: own pattern, plus the NWGM form in 'nwgm' mode so the attention Wq learns. */
  const causalCE = (zc: tf.Tensor2D, b: Batch, ctx: RoundContext): tf.Tensor1D => {
    const ce = bceWithLogits(causalLogit(zc, b.present), b.y);
    const pt = head && dcfg.adjustment === 'nwgm' ? priorTensors(ctx.prior, K) : null;
    if (!head || !pt) return ce;
    return tf.add(ce, bceWithLogits(nwgmLogit(head, zc, head.confounders(pt.M), pt.p), b.y)) as tf.Tensor1D;
  };

  /**
   * LfF-style weights from the running ratios, tempered towards the base weights by
   * the coordinator's factor (1 = full weights; it halves when a flagged reading's
   * weighted association reverses past the tolerance).
   */
  const dualWeights = (r: Float32Array, base: Float32Array, neutral: Uint8Array | undefined, temper: number): Float32Array => {
    const w = weighting === 'lff' ? lffWeights(r, base, neutral) : groupBalancedWeights(r, base, dcfg.share, neutral);
    if (temper >= 1) return w;
    const scale = sum(base) / Math.max(sum(w), 1e-12);
    return w.map((v, i) => base[i]! + temper * (v * scale - base[i]!));
  };
  /** The causal branch's per-row weights, normalised to sum 1 (weights are data: no gradient). */
  const causalWeights = (b: Batch, base: Float32Array, temper: number): tf.Tensor1D =>
    tf.tensor1d(normalised(dualWeights(running.ratio(b.rows), base, neutralRows(b), temper), 1));

  const loss = (b: Batch, ctx: RoundContext): tf.Scalar => {
    if (!dualBranch) return weightedMean(causalCE(encodeCausal(b.x, b.present), b, ctx), b.weight);
    const z = encode(b.x, b.present);
    const zc = causalCode(z);
    const n = b.rows.length;
    const y = b.y.dataSync() as Float32Array;
    const base = b.weight.dataSync() as Float32Array;
    const ceC = causalCE(zc, b, ctx);
    // The bias head's plain and swapped passes run as one batch of 2n rows. Swapped
    // rows are re-indexed so each keeps its own bias code, label and weight, and only
    // the detached causal code moves (movedCausalCodes).
    const swap = dcfg.lambdaSwap > 0 && n > 1 && ctx.globalEpoch >= dcfg.swapWarmupEpochs;
    const perm = swap ? derangement(n, swapRng) : null;
    const moved = perm ? movedCausalCodes(z.dataSync() as Float32Array, n, 2 * H, H, perm) : null;
    const biasLogits = biasHeadLogits(z, H, biasHead!.W, biasHead!.b, moved);
    // As in LfF: this forward pass's per-row losses update the running averages first,
    // then the weights are read from them.
    running.update(b.rows, bceFromLogits(biasLogits.dataSync() as Float32Array, y, n), ceC.dataSync() as Float32Array);
    const terms: tf.Scalar[] = [tf.sum(tf.mul(ceC, causalWeights(b, base, ctx.temper ?? 1))) as tf.Scalar];
    // The bias branch also trains on the balanced sample: the pattern shortcut is balancing's job.
    if (dcfg.lambdaBias > 0 || perm) {
      const yAll = perm ? Float32Array.of(...y, ...y) : y;
      const wAll = perm ? Float32Array.of(...normalised(base, dcfg.lambdaBias), ...normalised(base, dcfg.lambdaSwap)) : normalised(base, dcfg.lambdaBias);
      terms.push(weightedGce(biasLogits, yAll, wAll, dcfg.gceQ));
    }
    if (dcfg.lambdaInd > 0 && n > 1) terms.push(crossCorrelationPenalty(z, H, dcfg.lambdaInd));
    return tf.addN(terms) as tf.Scalar;
  };

  const predict = (x: tf.Tensor2D, present: tf.Tensor2D, ctx: RoundContext): tf.Tensor1D =>
    tf.tidy(() => {
      const zc = encodeCausal(x, present);
      if (!head) return tf.sigmoid(tf.reshape(linear!(zc), [-1])) as tf.Tensor1D;
      return adjustedProbability(head, zc, present, ctx.prior, dcfg.adjustment);
    });

  return {
    kind: 'debiased',
    params,
    usesBalancing: dcfg.balancing,
    config: dcfg,
    dualBranch,
    loss,
    predict,
    attachTrainingSet: (n: number) => running.reset(n),
    // The swap's permutation stream is training state too: a round trained again must draw the same pairs.
    saveTrainingState: (): DebiasedTrainingState => ({ running: running.snapshot(), swap: swapRng.save() }),
    restoreTrainingState: (state) => {
      const s = state as DebiasedTrainingState;
      running.restore(s.running);
      swapRng.restore(s.swap);
    },
    rowWeights: (base, present, temper) =>
      dualBranch ? dualWeights(running.ratio(Int32Array.from(base, (_, i) => i)), base, neutralOf(present, base.length), temper) : base,
    describe: () => ({
      mode: dcfg.mode,
      decision: dcfg.active ? 'on' : 'off',
      dualBranch,
      share: dcfg.share,
      weighting,
      flagged: dcfg.flagged,
      reason: dcfg.reason,
    }),
    rowRatios: (n: number) => running.ratio(Int32Array.from({ length: n }, (_, i) => i)),
    predictBias: (x, present) =>
      tf.tidy(() => {
        if (!biasHead) return tf.fill([x.shape[0]], NaN) as tf.Tensor1D;
        return tf.sigmoid(biasHeadLogits(encode(x, present), H, biasHead.W, biasHead.b, null)) as tf.Tensor1D;
      }),
    stats: () => ({ trackedRows: running.size, conflictingFraction: running.conflictingFraction() }),
    dispose: () => {
      single?.dispose();
      twin?.dispose();
      params.dispose();
    },
  };
}

function sum(w: Float32Array): number {
  let s = 0;
  for (const v of w) s += v;
  return s;
}

/** `w` scaled to sum to `total` (all zero stays zero). */
function normalised(w: Float32Array, total: number): Float32Array {
  let s = 0;
  for (const v of w) s += v;
  return s > 0 ? w.map((v) => (v * total) / s) : new Float32Array(w.length);
}

/** Binary cross-entropy of the first n logits, in plain numbers (bookkeeping only). */
function bceFromLogits(logits: Float32Array, y: Float32Array, n: number): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const l = logits[i]!;
    out[i] = Math.max(l, 0) - l * y[i]! + Math.log1p(Math.exp(-Math.abs(l)));
  }
  return out;
}

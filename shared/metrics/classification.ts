/**
 * Binary-classification metrics for held-out evaluation (per site, per round).
 *
 * Conventions shared by every function here:
 * - `labels` are 0/1, `scores` are model outputs (probabilities for `ece` and
 *   `logLoss`; any finite real for the rank- and threshold-based metrics).
 * - A metric that is undefined for the data (empty input, AUROC and balanced
 *   accuracy with one class) is NaN rather than an error, so one degenerate
 *   site does not abort a run's report (JSON writes it null); malformed input (length mismatch, non-0/1 labels, NaN scores) is a
 *   bug upstream and throws.
 */

export interface ClassificationReport {
  n: number;
  auroc: number;
  accuracy: number;
  balancedAccuracy: number;
  ece: number;
}

export interface MeanAndSpread {
  mean: number;
  std: number;
  n: number;
}

type Scores = ArrayLike<number>;

/** Labels 0/1 and finite scores of the same length (probabilities in [0, 1] when asked); throws naming the first bad index. */
export function checkInputs(labels: Scores, scores: Scores, probabilities = false): void {
  if (labels.length !== scores.length) {
    throw new Error(
      `labels and scores differ in length: ${labels.length} labels, ${scores.length} scores`,
    );
  }
  for (let i = 0; i < labels.length; i++) {
    const y = labels[i];
    if (y !== 0 && y !== 1) {
      throw new Error(`label at index ${i} is ${String(y)}; labels must be 0 or 1`);
    }
    const s = scores[i]!;
    // A NaN score would silently corrupt ranks and bin counts; it means the model diverged.
    if (!Number.isFinite(s)) {
      throw new Error(`score at index ${i} is ${String(s)}; scores must be finite numbers`);
    }
    if (probabilities && (s < 0 || s > 1)) {
      throw new Error(`score at index ${i} is ${s}; this metric needs probabilities in [0, 1]`);
    }
  }
}

/**
 * Area under the ROC curve via the Mann-Whitney U statistic. Tied scores get the
 * average of their ranks, which counts each tied positive/negative pair as 1/2:
 * exactly the pairwise definition P(s+ > s-) + P(s+ = s-)/2.
 * NaN when fewer than two classes are present.
 */
export function auroc(labels: Scores, scores: Scores): number {
  checkInputs(labels, scores);
  const n = labels.length;
  let nPos = 0;
  for (let i = 0; i < n; i++) nPos += labels[i]!;
  const nNeg = n - nPos;
  if (nPos === 0 || nNeg === 0) return NaN;

  const order = Array.from({ length: n }, (_, i) => i);
  order.sort((a, b) => scores[a]! - scores[b]!);
  // Sum of (1-based) ranks of the positives; average ranks are half-integers so this stays exact.
  let rankSumPos = 0;
  for (let start = 0; start < n; ) {
    let end = start + 1;
    while (end < n && scores[order[end]!] === scores[order[start]!]) end++;
    const avgRank = (start + 1 + end) / 2; // mean of ranks start+1 .. end
    let posInGroup = 0;
    for (let k = start; k < end; k++) posInGroup += labels[order[k]!]!;
    rankSumPos += posInGroup * avgRank;
    start = end;
  }
  const u = rankSumPos - (nPos * (nPos + 1)) / 2;
  return u / (nPos * nNeg);
}

/** Fraction correct when predicting 1 for `score >= threshold`. NaN for empty input. */
export function accuracy(labels: Scores, scores: Scores, threshold = 0.5): number {
  checkInputs(labels, scores);
  if (labels.length === 0) return NaN;
  let correct = 0;
  for (let i = 0; i < labels.length; i++) {
    const pred = scores[i]! >= threshold ? 1 : 0;
    if (pred === labels[i]) correct++;
  }
  return correct / labels.length;
}

/**
 * Mean of sensitivity (TPR) and specificity (TNR) at `score >= threshold`.
 * NaN when a class is absent (as AUROC): its rate is undefined, and the other
 * class's rate alone is plain accuracy, which the name would pass off as balanced.
 */
export function balancedAccuracy(labels: Scores, scores: Scores, threshold = 0.5): number {
  checkInputs(labels, scores);
  let pos = 0;
  let neg = 0;
  let tp = 0;
  let tn = 0;
  for (let i = 0; i < labels.length; i++) {
    const pred = scores[i]! >= threshold ? 1 : 0;
    if (labels[i] === 1) {
      pos++;
      if (pred === 1) tp++;
    } else {
      neg++;
      if (pred === 0) tn++;
    }
  }
  if (pos === 0 || neg === 0) return NaN;
  return (tp / pos + tn / neg) / 2;
}

/**
 * Expected calibration error: scores binned into `bins` equal-width bins over
 * [0, 1] (bin k holds [k/bins, (k+1)/bins), with 1.0 in the last bin); the
 * |observed rate - mean score| of each bin, weighted by its share of samples.
 * NaN for empty input.
 */
export function ece(labels: Scores, scores: Scores, bins = 10): number {
  if (!Number.isInteger(bins) || bins < 1) {
    throw new Error(`ece bins must be a positive integer, got ${bins}`);
  }
  checkInputs(labels, scores, true);
  const n = labels.length;
  if (n === 0) return NaN;
  const count = new Float64Array(bins);
  const sumScore = new Float64Array(bins);
  const sumLabel = new Float64Array(bins);
  for (let i = 0; i < n; i++) {
    const s = scores[i]!;
    const b = Math.min(Math.floor(s * bins), bins - 1);
    count[b]!++;
    sumScore[b]! += s;
    sumLabel[b]! += labels[i]!;
  }
  let total = 0;
  for (let b = 0; b < bins; b++) {
    const c = count[b]!;
    if (c > 0) total += (c / n) * Math.abs(sumLabel[b]! / c - sumScore[b]! / c);
  }
  return total;
}

/**
 * Mean binary cross-entropy (natural log). Probabilities are clipped to
 * [1e-15, 1 - 1e-15] so one confident mistake gives a large, finite loss.
 * NaN for empty input.
 */
export function logLoss(labels: Scores, scores: Scores): number {
  checkInputs(labels, scores, true);
  const n = labels.length;
  if (n === 0) return NaN;
  const eps = 1e-15;
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const p = Math.min(Math.max(scores[i]!, eps), 1 - eps);
    sum -= labels[i] === 1 ? Math.log(p) : Math.log(1 - p);
  }
  return sum / n;
}

/** The per-site metrics block of the results file (field names match docs/INTERFACES.md). */
export function classificationReport(labels: Scores, scores: Scores): ClassificationReport {
  return {
    n: labels.length,
    auroc: auroc(labels, scores),
    accuracy: accuracy(labels, scores),
    balancedAccuracy: balancedAccuracy(labels, scores),
    ece: ece(labels, scores),
  };
}

/**
 * Mean and sample standard deviation (n - 1 denominator) across seeds or sites.
 * Non-finite values (e.g. a NaN AUROC from a one-class site) are skipped and not
 * counted in `n`. std is 0 for one value; mean and std are NaN for none.
 */
export function meanAndSpread(values: number[]): MeanAndSpread {
  const xs = values.filter((v) => Number.isFinite(v));
  const n = xs.length;
  if (n === 0) return { mean: NaN, std: NaN, n: 0 };
  const mean = xs.reduce((a, b) => a + b, 0) / n;
  if (n === 1) return { mean, std: 0, n };
  let ss = 0;
  for (const x of xs) ss += (x - mean) ** 2;
  return { mean, std: Math.sqrt(ss / (n - 1)), n };
}

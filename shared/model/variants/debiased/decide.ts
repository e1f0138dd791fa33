import type { ClassMoments } from '../../../data/class-moments.ts';
import { pairIndex } from '../../../data/class-moments.ts';
import type { FeatureSpace } from '../../../data/feature-space.ts';
import { DEFAULT_DECIDE, DEFAULT_SHARE, type DecideOptions, type FlaggedFeature } from './config.ts';

/**
 * METHOD.md Part 3: decide from the training sites' merged class moments whether a
 * shortcut is there. A feature is flagged as label-only when it knows the label
 * (|corr with y| >= minLabelCorr) but not the severity: its largest within-class
 * |corr| with any column of another modality, over pairs with >= minPairRows rows
 * where both are observed, is at most maxRatio times its |label corr|. A feature with
 * no such pair is never flagged (absent modalities say nothing).
 */
export interface DebiasDecision {
  decision: 'on' | 'off';
  flagged: FlaggedFeature[];
  reason: string;
}

/** Point-biserial correlation of column j with the label, over the rows where j is observed (NaN if undefined). */
export function labelCorrelation(m: ClassMoments, j: number): number {
  const [c0, c1] = m.classes;
  const n0 = c0.colCount[j]!;
  const n1 = c1.colCount[j]!;
  const N = n0 + n1;
  if (n0 < 1 || n1 < 1) return NaN;
  const mean = (c0.colSum[j]! + c1.colSum[j]!) / N;
  const variance = (c0.colSumSq[j]! + c1.colSumSq[j]!) / N - mean * mean;
  if (!(variance > 1e-12)) return NaN;
  const p = n1 / N;
  return ((c1.colSum[j]! / n1 - c0.colSum[j]! / n0) * Math.sqrt(p * (1 - p))) / Math.sqrt(variance);
}

/**
 * Within-class correlation of columns i and j: the per-class |Pearson r| averaged with
 * the classes' pair counts as weights (absolute values, so opposite signs in the two
 * classes cannot cancel into a false "uncorrelated"). A column constant within a class
 * carries no within-class variation: r = 0 there. `rows` is the pair's total count.
 */
export function withinClassCorrelation(m: ClassMoments, i: number, j: number): { corr: number; rows: number } {
  const [a, b] = i < j ? [i, j] : [j, i];
  const p = pairIndex(a, b, m.dim);
  let weighted = 0;
  let weight = 0;
  let rows = 0;
  for (const c of m.classes) {
    const n = c.pairCount[p]!;
    rows += n;
    if (n < 2) continue;
    const [sa, sb] = [c.pairSumI[p]!, c.pairSumJ[p]!];
    const va = c.pairSumII[p]! - (sa * sa) / n;
    const vb = c.pairSumJJ[p]! - (sb * sb) / n;
    const cov = c.pairSumIJ[p]! - (sa * sb) / n;
    const r = va / n > 1e-10 && vb / n > 1e-10 ? Math.min(1, Math.abs(cov) / Math.sqrt(va * vb)) : 0;
    weighted += n * r;
    weight += n;
  }
  return { corr: weight > 0 ? weighted / weight : NaN, rows };
}

interface ColumnVerdict {
  feature: string;
  labelCorr: number;
  withinClassCorr: number;
  eligible: boolean;
  flagged: boolean;
}

function judgeColumn(m: ClassMoments, space: FeatureSpace, col: number, modality: number[], o: DecideOptions): ColumnVerdict {
  const feature = space.columns[col]!.feature;
  const labelCorr = labelCorrelation(m, col);
  let best = -1;
  for (let j = 0; j < m.dim; j++) {
    if (modality[j] === modality[col]) continue;
    const w = withinClassCorrelation(m, col, j);
    if (w.rows < o.minPairRows || !Number.isFinite(w.corr)) continue;
    best = Math.max(best, w.corr);
  }
  const eligible = best >= 0 && Number.isFinite(labelCorr);
  const strong = eligible && Math.abs(labelCorr) >= o.minLabelCorr;
  const flagged = strong && best / Math.abs(labelCorr) <= o.maxRatio;
  return { feature, labelCorr, withinClassCorr: best, eligible, flagged };
}

const fmt = (v: number) => (Number.isFinite(v) ? v.toFixed(2) : 'n/a');

/** The `auto` rule on merged moments; the coordinator runs it once and sends the result to the sites. */
export function decideDebiasing(m: ClassMoments, space: FeatureSpace, opts: Partial<DecideOptions> = {}): DebiasDecision {
  const o: DecideOptions = { ...DEFAULT_DECIDE, ...opts };
  if (m.dim !== space.columns.length)
    throw new Error(`class moments have ${m.dim} columns, the feature space has ${space.columns.length}`);
  const modality = new Array<number>(m.dim).fill(-1);
  space.modalities.forEach((mod, k) => {
    for (let j = mod.start; j < mod.end; j++) modality[j] = k;
  });
  // One verdict per feature, from its column with the strongest label correlation (a
  // one-hot feature's rare categories would otherwise flag on noise: a rare indicator
  // barely co-varies with anything).
  const byFeature = new Map<string, ColumnVerdict>();
  for (let j = 0; j < m.dim; j++) {
    const v = judgeColumn(m, space, j, modality, o);
    const cur = byFeature.get(v.feature);
    const strength = (c: ColumnVerdict) => (Number.isFinite(c.labelCorr) ? Math.abs(c.labelCorr) : -1);
    if (!cur || strength(v) > strength(cur)) byFeature.set(v.feature, v);
  }
  const flagged: FlaggedFeature[] = [];
  let noPair = 0;
  for (const [feature, v] of byFeature) {
    if (!v.eligible) noPair++;
    if (v.flagged) flagged.push({ feature, labelCorr: v.labelCorr, withinClassCorr: v.withinClassCorr });
  }
  const rule = `|label corr| >= ${o.minLabelCorr} and within-class/label ratio <= ${o.maxRatio}, pairs with >= ${o.minPairRows} rows`;
  if (flagged.length === 0)
    return {
      decision: 'off',
      flagged,
      reason: `no label-only feature (${rule}); ${byFeature.size} features checked, ${noPair} without an eligible pair`,
    };
  const list = flagged.map((f) => `${f.feature} (label ${fmt(f.labelCorr)}, within-class ${fmt(f.withinClassCorr)})`);
  return { decision: 'on', flagged, reason: `label-only feature${flagged.length > 1 ? 's' : ''} ${list.join(', ')} (${rule})` };
}

/**
 * The model section's `debiasing` object with the coordinator's decision filled in, as
 * it is sent to the sites in the round config. Mode 'auto' takes the decision
 * (dualBranch, flagged, reason); modes 'on'/'off' keep their setting, and the rule's
 * verdict is still recorded in `reason` so the run shows what auto would have done.
 */
export function withDecision(debiasing: Record<string, unknown> | undefined, d: DebiasDecision): Record<string, unknown> {
  const raw = { ...(debiasing ?? {}) };
  const mode = (raw.mode as string | undefined) ?? 'auto';
  const share = (raw.share as number | undefined) ?? DEFAULT_SHARE;
  if (mode === 'auto') {
    const then = d.decision === 'on' ? `dual branch on at share ${share}` : 'dual branch off';
    return { ...raw, dualBranch: d.decision === 'on', flagged: d.flagged, reason: `auto: ${d.reason}; ${then}` };
  }
  return { ...raw, flagged: d.flagged, reason: `mode '${mode}': dual branch ${mode} by configuration (auto would say ${d.decision}: ${d.reason})` };
}

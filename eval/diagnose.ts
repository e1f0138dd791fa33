/**
 * Why a weighting does or does not remove the planted shortcut: one pooled (not
 * federated) training of the debiased model with the dual branch on and the reading
 * flagged (as auto flags it), on a tuning-seed cohort, then a look inside: does
 * r > 0.5 pick out the truly bias-conflicting rows (the reading's sign disagrees
 * with the label), and does the reading still predict the label in the sample as
 * the causal branch's weights reshape it? Runs in the calling process.
 */
import { derivePrior } from '../coordinator/priors.ts';
import { encodeTable } from '../shared/data/encode.ts';
import { buildFeatureSpace } from '../shared/data/feature-space.ts';
import { countPatternLabels } from '../shared/data/patterns.ts';
import { compileSchema } from '../shared/data/schema.ts';
import { computeFeatureStats } from '../shared/data/stats.ts';
import { parseSiteTable } from '../shared/data/table.ts';
import { auroc } from '../shared/metrics/classification.ts';
import { loadBackend, backendFromEnv } from '../shared/model/backend.ts';
import { createModel, trainingConfig } from '../shared/model/factory.ts';
import { predictAll, trainLocal } from '../shared/model/trainer.ts';
import type { DebiasedModel } from '../shared/model/variants/debiased/index.ts';
import { DEFAULT_SHARE } from '../shared/model/variants/debiased/config.ts';
import { groupBalancedWeights, lffWeights } from '../shared/model/variants/debiased/dual-branch.ts';
import { Rng } from '../shared/rng.ts';
import { defaultSynthOptions } from '../shared/synth/options.ts';
import { siteCsv, synthesizeCohort } from '../shared/synth/write.ts';
import { weightedAuroc } from './summary.ts';

export interface WeightingDiagnosis {
  weighting: 'group-balanced' | 'lff';
  seed: number;
  epochs: number;
  /** Training rows with the reading present. */
  rows: number;
  /** Share of them whose reading's sign disagrees with the label. */
  trulyConflicting: number;
  /** Share with r > 0.5 (the group-balanced "conflicting" group). */
  flaggedConflicting: number;
  precision: number;
  recall: number;
  /** AUROC of the reading for the label: as sampled, and under the causal branch's weights of each kind (group-balanced at the default share and at 0.9, lff), from this run's r. */
  readingAuroc: { unweighted: number; groupBalanced: number; groupBalanced09: number; lff: number };
  heldOutAuroc: number;
  inSampleAuroc: number;
}

export async function diagnoseWeighting(weighting: 'group-balanced' | 'lff', seed: number, epochs: number): Promise<WeightingDiagnosis> {
  await loadBackend(backendFromEnv(process.env));
  const cohort = synthesizeCohort({ ...defaultSynthOptions(), seed });
  const schema = compileSchema(cohort.schema, 'synthetic schema');
  const trainSites = cohort.sites.filter((s) => !s.heldOut);
  const csv = trainSites.map((s) => siteCsv(s).trimEnd().split('\n'));
  const pooled = parseSiteTable(schema, [csv[0]![0]!, ...csv.flatMap((l) => l.slice(1))].join('\n') + '\n', 'pooled training sites');
  const held = parseSiteTable(schema, siteCsv(cohort.sites.find((s) => s.heldOut)!), 'held-out site');
  const space = buildFeatureSpace(schema, computeFeatureStats(schema, pooled));
  const enc = encodeTable(pooled, space);
  const encHeld = encodeTable(held, space);
  const prior = derivePrior(countPatternLabels(pooled.patterns, pooled.labels), 5, 1);
  const reading = cohort.truth.spuriousFeatures[0]!;
  const raw = { localEpochs: 1, debiasing: { weighting, mode: 'on', flagged: [{ feature: reading, labelCorr: 0, withinClassCorr: 0, source: 'auto' }] } };
  const model = createModel('debiased', space, raw, seed) as DebiasedModel;
  try {
    const config = trainingConfig('debiased', raw);
    model.attachTrainingSet?.(enc.n);
    const rng = new Rng(seed ^ 0x5eed);
    for (let ep = 0; ep < epochs; ep++) await trainLocal(model, enc, { round: ep + 1, prior }, { config, rng, globalEpochOffset: ep });
    const r = model.rowRatios(enc.n);
    const col = pooled.features.indexOf(reading);
    const idx = pooled.values.flatMap((row, i) => (row[col] === null ? [] : [i]));
    const value = idx.map((i) => pooled.values[i]![col] as number);
    const label = idx.map((i) => pooled.labels[i]!);
    const conflict = idx.map((_, k) => value[k]! * (2 * label[k]! - 1) < 0);
    const flagged = idx.map((i) => r[i]! > 0.5);
    const tp = flagged.filter((f, k) => f && conflict[k]).length;
    const nFlag = flagged.filter(Boolean).length;
    const nConf = conflict.filter(Boolean).length;
    const rr = Float32Array.from(idx, (i) => r[i]!);
    const ones = new Float32Array(idx.length).fill(1);
    const ctx = { round: epochs, prior, epoch: 0, globalEpoch: epochs };
    return {
      weighting,
      seed,
      epochs,
      rows: idx.length,
      trulyConflicting: nConf / idx.length,
      flaggedConflicting: nFlag / idx.length,
      precision: nFlag ? tp / nFlag : NaN,
      recall: nConf ? tp / nConf : NaN,
      readingAuroc: {
        unweighted: weightedAuroc(label, value, ones),
        groupBalanced: weightedAuroc(label, value, groupBalancedWeights(rr, ones, DEFAULT_SHARE)),
        groupBalanced09: weightedAuroc(label, value, groupBalancedWeights(rr, ones, 0.9)),
        lff: weightedAuroc(label, value, lffWeights(rr, ones)),
      },
      heldOutAuroc: auroc(encHeld.y, predictAll(model, encHeld, ctx)),
      inSampleAuroc: auroc(enc.y, predictAll(model, enc, ctx)),
    };
  } finally {
    model.dispose();
  }
}

/**
 * Scores a hospital's rows with a saved model (fedcausal predict): the same model, encoding,
 * prior and debiasing view as the federation's final evaluation, so a row scores here exactly
 * as it did there; then the site's own recalibration, where the model file carries one.
 */
import { encodeTable } from '../shared/data/encode.ts';
import { foreignCategoryNotes, spaceVocabularies } from '../shared/data/foreign-categories.ts';
import type { SiteTable } from '../shared/data/site-table.ts';
import { InputError } from '../shared/errors.ts';
import type { Logger } from '../shared/logger.ts';
import type { ModelBundle } from '../shared/model/bundle.ts';
import { applySiteCalibration } from '../shared/metrics/site-calibration.ts';
import { SiteModelRunner } from './model-runner.ts';

export interface Scored {
  /** The model's probability of the outcome, as the federation's evaluation scored it. */
  scores: Float32Array;
  /** The site's recalibrated risk; absent where the model file has no recalibration. */
  calibrated?: Float32Array;
  /** What the person scoring should know: patterns and categories the federation never saw. */
  notes: string[];
}

export async function scoreRows(bundle: ModelBundle, table: SiteTable, log: Logger, file: string): Promise<Scored> {
  const runner = await SiteModelRunner.create(bundle.model, bundle.featureSpace, 0, log);
  try {
    const size = runner.getWeights().length;
    if (size !== bundle.weights.length)
      throw new InputError(`${file}: the model holds ${bundle.weights.length} weights where its own model section builds ${size}: the file does not belong to this model`);
    runner.setWeights(bundle.weights);
    const enc = encodeTable(table, bundle.featureSpace);
    const ctx = { round: bundle.round, prior: bundle.prior, temper: bundle.temper, ...(bundle.balance ? { balance: bundle.balance } : {}) };
    const scores = runner.predict(enc, ctx);
    return {
      scores,
      ...(bundle.calibration ? { calibrated: applySiteCalibration(scores, bundle.calibration) } : {}),
      notes: [...unseenPatterns(bundle, table), ...foreignCategoryNotes(table.file, table, spaceVocabularies(bundle.featureSpace), "the federation's vocabulary")],
    };
  } finally {
    runner.dispose();
  }
}

/** Rows whose missingness pattern the federation's prior does not hold: scored, but the backdoor adjustment saw no such rows in training. */
function unseenPatterns(bundle: ModelBundle, table: SiteTable): string[] {
  const known = new Set(bundle.prior.patterns.map((p) => p.pattern));
  const unseen = new Map<string, number>();
  for (const p of table.patterns) if (!known.has(p)) unseen.set(p, (unseen.get(p) ?? 0) + 1);
  const names = bundle.schema.modalities.map((m) => m.name);
  return [...unseen].map(([p, n]) => {
    const missing = names.filter((_, k) => p[k] === '0');
    return `${table.file}: ${n} row${n === 1 ? '' : 's'} of missingness pattern ${p} (missing: ${missing.length ? missing.join(' + ') : 'none'}), which the federation's published prior does not list (no training site held it, or too few rows to publish): scored, but the model learned little or nothing from such rows, so read their scores with care`;
  });
}

/**
 * Scores a hospital's rows with a saved model (fedcausal predict): the same model, encoding,
 * prior and debiasing view as the federation's final evaluation, so a row scores here exactly
 * as it did there; then the site's own recalibration, where the model file carries one.
 * Rows the federation never saw the like of are scored, and named: an unseen missingness
 * pattern or category, a number far outside the federation's training values.
 */
import { encodeTable } from '../shared/data/encode.ts';
import { spaceVocabularies } from '../shared/data/foreign-categories.ts';
import { show } from '../shared/data/message-text.ts';
import type { SiteTable } from '../shared/data/site-table.ts';
import { InputError } from '../shared/errors.ts';
import type { Logger } from '../shared/logger.ts';
import { FAR_SDS, type ModelBundle } from '../shared/model/bundle.ts';
import { applySiteCalibration } from '../shared/metrics/site-calibration.ts';
import { SiteModelRunner } from './model-runner.ts';

/**
 * A column is named as shifted (another unit) where its median sits this many SDs from the
 * federation's mean, over SHIFT_MEDIAN_VALUES values or more; over fewer, from SHIFT_FEWEST,
 * where every value does, on one side (three normal values all 3 SDs off: about 1 in 10^8).
 */
const SHIFT_SDS = 3;
const SHIFT_MEDIAN_VALUES = 10;
const SHIFT_FEWEST = 3;
export const HOLD = ['holds', 'hold'] as const;
/** Lines named in a note; the rest are counted. */
const LINES_NAMED = 5;

export interface Scored {
  /** The model's probability of the outcome, as the federation's evaluation scored it. */
  scores: Float32Array;
  /** The site's recalibrated risk; absent where the model file has no recalibration. */
  calibrated?: Float32Array;
  /** What the person scoring should know: rows unlike any the federation trained on. */
  notes: string[];
}

/** `skip`: rows left unscored by the caller (an export's empty rows), which no note names again. */
export async function scoreRows(bundle: ModelBundle, table: SiteTable, log: Logger, file: string, skip: ReadonlySet<number> = new Set()): Promise<Scored> {
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
      notes: [...unseenPatterns(bundle, table, skip), ...unseenCategories(bundle, table), ...shiftedColumns(bundle, table), ...farValues(bundle, table)],
    };
  } finally {
    runner.dispose();
  }
}

/** `N rows (lines 4, 9, ...) hold`: how many, where in the file, and the verb ([one, many]) agreeing with them. */
export function rowsAt(lines: readonly number[], verb?: readonly [string, string]): string {
  const n = lines.length;
  const shown = lines.slice(0, LINES_NAMED).join(', ');
  const agreed = verb ? ` ${verb[n === 1 ? 0 : 1]}` : '';
  return `${n} row${n === 1 ? '' : 's'} (line${n === 1 ? '' : 's'} ${shown}${n > LINES_NAMED ? `, and ${n - LINES_NAMED} more` : ''})${agreed}`;
}

/** Rows whose missingness pattern the federation's prior does not hold. */
function unseenPatterns(bundle: ModelBundle, table: SiteTable, skip: ReadonlySet<number>): string[] {
  const known = new Set(bundle.prior.patterns.map((p) => p.pattern));
  const unseen = new Map<string, number[]>();
  table.patterns.forEach((p, i) => {
    if (!known.has(p) && !skip.has(i)) push(unseen, p, table.lines[i]!);
  });
  if (!unseen.size) return [];
  // One note for all: scoring a hospital that took no part may find most rows so (every row
  // complete where no training site ran every test), and a note each read as so many faults.
  const names = bundle.schema.modalities.map((m) => m.name);
  const all = [...unseen.values()].flat().sort((a, b) => a - b);
  const byCount = [...unseen].sort((a, b) => b[1].length - a[1].length);
  const listed = byCount.slice(0, LINES_NAMED).map(([p, lines]) => {
    const missing = names.filter((_, k) => p[k] === '0');
    return `${p} (missing: ${missing.length ? missing.join(' + ') : 'none'}; ${lines.length} row${lines.length === 1 ? '' : 's'})`;
  });
  const more = byCount.length > LINES_NAMED ? `, and ${byCount.length - LINES_NAMED} more` : '';
  return [`${table.file}: ${rowsAt(all, ['has', 'have'])} a missingness pattern the federation's published prior does not list (no training site had it, or too few rows to publish): ${listed.join(', ')}${more}. They are scored from what they share with the patterns the model trained on; where such rows are many, check the model on labelled rows of this hospital before relying on it`];
}

/** Rows whose category the federation's vocabulary lacks: each such value reads as "other" (or as no value). */
function unseenCategories(bundle: ModelBundle, table: SiteTable): string[] {
  const notes: string[] = [];
  for (const [feature, values] of spaceVocabularies(bundle.featureSpace)) {
    const j = table.features.indexOf(feature);
    const known = new Set(values);
    const found = new Map<string, number[]>();
    table.values.forEach((row, i) => {
      const v = row[j];
      if (v !== null && v !== undefined && !known.has(String(v))) push(found, String(v), table.lines[i]!);
    });
    if (!found.size) continue;
    const lines = [...found.values()].flat().sort((a, b) => a - b);
    const named = [...found.keys()].slice(0, LINES_NAMED).map(show).join(', ');
    notes.push(`${table.file}: ${rowsAt(lines, HOLD)} a value of "${feature}" the federation's vocabulary lacks (${named}${found.size > LINES_NAMED ? ', ...' : ''}; it knows ${values.map(show).join(', ')}): scored as an unlisted value; check the export's coding`);
  }
  return notes;
}

/** A column whose values sit as a whole far from the federation's (another unit: cholesterol in mmol/L beside mg/dL sits about 4 SDs off, within FAR_SDS of each row). */
function shiftedColumns(bundle: ModelBundle, table: SiteTable): string[] {
  const notes: string[] = [];
  for (const c of bundle.featureSpace.columns) {
    if (c.kind !== 'numeric') continue;
    const values = table.values.flatMap((row) => (typeof row[c.featureIndex] === 'number' ? [row[c.featureIndex] as number] : [])).sort((a, b) => a - b);
    if (values.length < SHIFT_FEWEST) continue;
    const median = values[Math.floor(values.length / 2)]!;
    const off = (v: number) => Math.sign(v - c.mean) * (Math.abs(v - c.mean) > SHIFT_SDS * c.std ? 1 : 0);
    // A few rows (a day's patients): all of them off, on one side; more: the median.
    const shifted = values.length < SHIFT_MEDIAN_VALUES ? Math.abs(values.reduce((s, v) => s + off(v), 0)) === values.length : off(median) !== 0;
    if (shifted)
      notes.push(`${table.file}: the values of "${c.feature}" sit far from the federation's (median ${fmt(median)} in ${values.length} rows; the federation's mean ${fmt(c.mean)}, SD ${fmt(c.std)}): another unit or coding? Every row is scored as it is, and such a column moves every score`);
  }
  return notes;
}

/** Rows with a number far outside the federation's training values (another unit, swapped columns, a typo). */
function farValues(bundle: ModelBundle, table: SiteTable): string[] {
  const notes: string[] = [];
  for (const c of bundle.featureSpace.columns) {
    if (c.kind !== 'numeric') continue;
    const lines: number[] = [];
    table.values.forEach((row, i) => {
      const v = row[c.featureIndex];
      if (typeof v === 'number' && Math.abs(v - c.mean) > FAR_SDS * c.std) lines.push(table.lines[i]!);
    });
    if (lines.length)
      notes.push(`${table.file}: ${rowsAt(lines, HOLD)} a value of "${c.feature}" more than ${FAR_SDS} SDs from the federation's training values (mean ${fmt(c.mean)}, SD ${fmt(c.std)}): scored, but check the export (another unit, a column mix-up, a typo)`);
  }
  return notes;
}

function push(m: Map<string, number[]>, key: string, line: number): void {
  const lines = m.get(key);
  if (lines) lines.push(line);
  else m.set(key, [line]);
}

const fmt = (x: number) => Number(x.toPrecision(3)).toString();

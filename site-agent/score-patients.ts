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
import { HOLD, LINES_NAMED, LineTally, rowsAt } from '../shared/data/line-tally.ts';
import { SiteModelRunner } from './model-runner.ts';
import { READINESS_THRESHOLDS } from '../shared/readiness/check.ts';

/**
 * A column is named as shifted (another unit) where its median sits this many SDs from the
 * federation's mean, over SHIFT_MEDIAN_VALUES values or more; over fewer, from SHIFT_FEWEST,
 * where every value does, on one side (three normal values all 3 SDs off: about 1 in 10^8).
 */
const SHIFT_SDS = 3;
const SHIFT_MEDIAN_VALUES = 10;
const SHIFT_FEWEST = 3;
/**
 * A column whose spread is this many times the federation's SD, either way, over SPREAD_FEWEST
 * values or more, is named too: a unit changed by a factor inside a skewed lab's own spread
 * moves its median too little to see (BNP in pmol/L, / 3.47, sat 0.4 SDs off), but scales its
 * SD by the factor. The readiness check's severe ratio, so a site hears the same at joining.
 */
const SPREAD_RATIO = READINESS_THRESHOLDS.sdRatioSevere;
const SPREAD_FEWEST = 30;

export interface Scored {
  /** The model's probability of the outcome, as the federation's evaluation scored it. */
  scores: Float32Array;
  /** The site's recalibrated risk; absent where the model file has no recalibration. */
  calibrated?: Float32Array;
}

/**
 * Scores the rows of a file, one table at a time (a large file comes in parts, in file order),
 * and gathers across them what the person scoring should know: rows unlike any the federation
 * trained on (notes(), once every part is scored).
 */
export class PatientScorer {
  private readonly unseen = new Map<string, LineTally>();
  private readonly unseenAll = new LineTally();
  private readonly foreign = new Map<string, { values: Map<string, LineTally>; all: LineTally }>();
  private readonly far = new Map<string, LineTally>();
  private readonly shift = new Map<string, ColumnShift>();
  /** Per categorical feature, the federation's values, and the same as a set to look rows up in. */
  private readonly vocabularies: Map<string, { values: string[]; known: Set<string> }>;
  private readonly knownPatterns: Set<string>;
  private readonly unread: ReadonlySet<string>;

  private constructor(
    private readonly bundle: ModelBundle,
    private readonly runner: SiteModelRunner,
    private readonly file: string,
  ) {
    // A reading the model does not read (flagged and dropped) moves no score: nothing to say of its values.
    this.unread = runner.unreadFeatures();
    this.vocabularies = new Map([...spaceVocabularies(bundle.featureSpace)].filter(([f]) => !this.unread.has(f)).map(([f, values]) => [f, { values, known: new Set(values) }]));
    this.knownPatterns = new Set(bundle.prior.patterns.map((p) => p.pattern));
  }

  /** `modelFile`: where the bundle came from, for a message; `file`: the data file the notes name. */
  static async create(bundle: ModelBundle, log: Logger, modelFile: string, file: string): Promise<PatientScorer> {
    const runner = await SiteModelRunner.create(bundle.model, bundle.featureSpace, 0, log);
    try {
      const size = runner.getWeights().length;
      if (size !== bundle.weights.length)
        throw new InputError(`${modelFile}: the model holds ${bundle.weights.length} weights where its own model section builds ${size}: the file does not belong to this model`);
      runner.setWeights(bundle.weights);
    } catch (e) {
      runner.dispose();
      throw e;
    }
    return new PatientScorer(bundle, runner, file);
  }

  /** Scores `table`'s rows; `skip`: rows left unscored by the caller (an export's empty rows), which no note names. */
  score(table: SiteTable, skip: ReadonlySet<number> = new Set()): Scored {
    const b = this.bundle;
    const ctx = { round: b.round, prior: b.prior, temper: b.temper, ...(b.balance ? { balance: b.balance } : {}) };
    const scores = this.runner.predict(encodeTable(table, b.featureSpace), ctx);
    this.tally(table, skip);
    return { scores, ...(b.calibration ? { calibrated: applySiteCalibration(scores, b.calibration) } : {}) };
  }

  /** The notes on every row scored so far. */
  notes(): string[] {
    return [...this.patternNotes(), ...this.categoryNotes(), ...this.shiftNotes(), ...this.farNotes()];
  }

  dispose(): void {
    this.runner.dispose();
  }

  private tally(table: SiteTable, skip: ReadonlySet<number>): void {
    table.patterns.forEach((p, i) => {
      if (this.knownPatterns.has(p) || skip.has(i)) return;
      tallyOf(this.unseen, p).add(table.lines[i]!);
      this.unseenAll.add(table.lines[i]!);
    });
    for (const [feature, { known }] of this.vocabularies) {
      const j = table.features.indexOf(feature);
      table.values.forEach((row, i) => {
        const v = row[j];
        if (v === null || v === undefined || known.has(String(v))) return;
        let f = this.foreign.get(feature);
        if (!f) this.foreign.set(feature, (f = { values: new Map(), all: new LineTally() }));
        tallyOf(f.values, String(v)).add(table.lines[i]!);
        f.all.add(table.lines[i]!);
      });
    }
    for (const c of this.bundle.featureSpace.columns) {
      if (c.kind !== 'numeric' || this.unread.has(c.feature)) continue;
      const values: number[] = [];
      table.values.forEach((row, i) => {
        const v = row[c.featureIndex];
        if (typeof v !== 'number') return;
        values.push(v);
        if (Math.abs(v - c.mean) > FAR_SDS * c.std) tallyOf(this.far, c.feature).add(table.lines[i]!);
      });
      let shift = this.shift.get(c.feature);
      if (!shift) this.shift.set(c.feature, (shift = new ColumnShift(c.mean, c.std)));
      shift.add(values);
    }
  }

  /** Rows whose missingness pattern the federation's prior does not hold. */
  private patternNotes(): string[] {
    if (!this.unseen.size) return [];
    // One note for all: scoring a hospital that took no part may find most rows so (every row
    // complete where no training site ran every test), and a note each read as so many faults.
    const names = this.bundle.schema.modalities.map((m) => m.name);
    const byCount = [...this.unseen].sort((a, b) => b[1].count - a[1].count);
    const listed = byCount.slice(0, LINES_NAMED).map(([p, t]) => {
      const missing = names.filter((_, k) => p[k] === '0');
      return `${p} (missing: ${missing.length ? missing.join(' + ') : 'none'}; ${t.count} row${t.count === 1 ? '' : 's'})`;
    });
    const more = byCount.length > LINES_NAMED ? `, and ${byCount.length - LINES_NAMED} more` : '';
    return [`${this.file}: ${rowsAt(this.unseenAll, ['has', 'have'])} a missingness pattern the federation's published prior does not list (no training site had it, or too few rows to publish): ${listed.join(', ')}${more}. They are scored from what they share with the patterns the model trained on; where such rows are many, check the model on labelled rows of this hospital before relying on it`];
  }

  /** Rows whose category the federation's vocabulary lacks: each such value reads as "other" (or as no value). */
  private categoryNotes(): string[] {
    return [...this.vocabularies].flatMap(([feature, { values }]) => {
      const f = this.foreign.get(feature);
      if (!f) return [];
      const named = [...f.values.keys()].slice(0, LINES_NAMED).map(show).join(', ');
      return [`${this.file}: ${rowsAt(f.all, HOLD)} a value of "${feature}" the federation's vocabulary lacks (${named}${f.values.size > LINES_NAMED ? ', ...' : ''}; it knows ${values.map(show).join(', ')}): scored as an unlisted value; check the export's coding`];
    });
  }

  /** A column whose values sit as a whole far from the federation's (another unit: cholesterol in mmol/L beside mg/dL sits about 4 SDs off, within FAR_SDS of each row). */
  private shiftNotes(): string[] {
    const moves = 'Every row is scored as it is, and such a column moves every score';
    return [...this.shift].flatMap(([feature, s]) => {
      if (s.shifted())
        return [`${this.file}: the values of "${feature}" sit far from the federation's (median ${s.medianText()} in ${s.n} rows; the federation's mean ${fmt(s.mean)}, SD ${fmt(s.std)}): another unit or coding? ${moves}`];
      const ratio = s.spreadRatio();
      if (ratio === undefined) return [];
      const times = ratio >= 1 ? `${fmt(ratio)} times as wide as` : `1/${fmt(1 / ratio)} of`;
      return [`${this.file}: the values of "${feature}" spread ${times} the federation's (SD ${fmt(ratio * s.std)} in ${s.n} rows; the federation's ${fmt(s.std)}, mean ${fmt(s.mean)}): another unit? ${moves}`];
    });
  }

  /** Rows with a number far outside the federation's training values (another unit, swapped columns, a typo). */
  private farNotes(): string[] {
    return this.bundle.featureSpace.columns.flatMap((c) => {
      const t = c.kind === 'numeric' ? this.far.get(c.feature) : undefined;
      if (!t) return [];
      return [`${this.file}: ${rowsAt(t, HOLD)} a value of "${c.feature}" more than ${FAR_SDS} SDs from the federation's training values (mean ${fmt(c.mean)}, SD ${fmt(c.std)}): scored, but check the export (another unit, a column mix-up, a typo)`];
    });
  }
}

/**
 * Where a numeric column's values sit against the federation's mean, over every part of a
 * file: counts beyond SHIFT_SDS on either side decide exactly what the median of all of them
 * would (the median exceeds a bound when at least n - floor(n/2) values do); each part's own
 * median is kept to print (exact for a file of one part, the parts' weighted median else).
 */
class ColumnShift {
  n = 0;
  private above = 0;
  private below = 0;
  private readonly medians: [number, number][] = [];
  /** Sums of the values' distance from the federation's mean (steadier than of the values): their SD. */
  private sum = 0;
  private sumSq = 0;

  constructor(
    readonly mean: number,
    readonly std: number,
  ) {}

  add(values: number[]): void {
    if (!values.length) return;
    for (const v of values) {
      const d = v - this.mean;
      this.sum += d;
      this.sumSq += d * d;
      if (v - this.mean > SHIFT_SDS * this.std) this.above++;
      else if (this.mean - v > SHIFT_SDS * this.std) this.below++;
    }
    values.sort((a, b) => a - b);
    this.medians.push([values[Math.floor(values.length / 2)]!, values.length]);
    this.n += values.length;
  }

  shifted(): boolean {
    const n = this.n;
    if (n < SHIFT_FEWEST) return false;
    // A few rows (a day's patients): all of them off, on one side; more: the median.
    if (n < SHIFT_MEDIAN_VALUES) return this.above === n || this.below === n;
    return this.above >= n - Math.floor(n / 2) || this.below >= Math.floor(n / 2) + 1;
  }

  /** The column's SD over the federation's where it is SPREAD_RATIO times or more either way, over SPREAD_FEWEST values; else undefined. */
  spreadRatio(): number | undefined {
    const n = this.n;
    if (n < SPREAD_FEWEST || !(this.std > 0)) return undefined;
    const ratio = Math.sqrt(Math.max(0, this.sumSq - (this.sum * this.sum) / n) / (n - 1)) / this.std;
    return ratio >= SPREAD_RATIO || ratio <= 1 / SPREAD_RATIO ? ratio : undefined;
  }

  medianText(): string {
    if (this.medians.length === 1) return fmt(this.medians[0]![0]);
    const sorted = [...this.medians].sort((a, b) => a[0] - b[0]);
    let seen = 0;
    const m = sorted.find(([, count]) => (seen += count) > this.n / 2)![0];
    return `about ${fmt(m)}, the median of its parts`;
  }
}

function tallyOf<K>(m: Map<K, LineTally>, key: K): LineTally {
  let t = m.get(key);
  if (!t) m.set(key, (t = new LineTally()));
  return t;
}

const fmt = (x: number) => Number(x.toPrecision(3)).toString();

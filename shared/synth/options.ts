/**
 * The knobs of `fedcausal synth`: one table gives each flag its type, default,
 * valid range and doc, so parsing, --help and truth.json never disagree.
 * Defaults make a cohort where a plain model learns the shortcuts (in-distribution
 * AUROC about 0.93, held-out site about 0.45 with a logistic regression) while a
 * model on the causal features alone reaches about 0.75-0.8 at both. The knobs
 * after --labs-severity make a family of cohorts around that one (imaging rate,
 * reading agreement, a second reading, categorical readings, label-driven
 * features); at their defaults the files are the original ones byte for byte.
 */
import { boolFlag, choiceFlag, describeBounds, numberFlag, strict } from '../config/fields.ts';
import { parseInput } from '../config/issues.ts';
import { InputError } from '../errors.ts';
import type { ScmParams } from './scm.ts';

export type SynthOptions = ScmParams;

interface KnobBase {
  flag: string;
  key: keyof SynthOptions;
  doc: string;
}
export interface NumericKnob extends KnobBase {
  type: 'int' | 'number';
  default: number;
  min: number;
  /** Absent: no upper bound. */
  max?: number;
}
export interface BooleanKnob extends KnobBase {
  type: 'boolean';
  default: boolean;
}
/** A string knob with a fixed set of values (e.g. --reading-type numeric|categorical). */
export interface ChoiceKnob extends KnobBase {
  type: 'choice';
  default: string;
  choices: readonly string[];
}
export type Knob = NumericKnob | BooleanKnob | ChoiceKnob;
/** A knob's value: what truth.json records under its flag. */
export type KnobValue = number | boolean | string;

/**
 * Rows a whole cohort may hold (--sites x --rows): every row is generated in memory with
 * its CSV text (about 0.85 KB a row, measured), so a million rows stay under 1 GB, inside
 * Node's default heap limit on any 64-bit machine; beyond it the run dies out of memory.
 */
export const MAX_SYNTH_COHORT_ROWS = 1_000_000;
/** The fewest sites: at least one training site and the held-out one. */
const MIN_SYNTH_SITES = 2;

export const SYNTH_KNOBS: readonly Knob[] = [
  { flag: 'sites', key: 'sites', type: 'int', default: 4, min: MIN_SYNTH_SITES, max: 100,
    doc: 'number of sites, named site1..siteN; the last is the held-out site where the shortcuts break' },
  { flag: 'rows', key: 'rows', type: 'int', default: 500, min: 20, max: MAX_SYNTH_COHORT_ROWS / MIN_SYNTH_SITES,
    doc: `patients (rows) per site; --sites x --rows is at most ${MAX_SYNTH_COHORT_ROWS} (every row is held in memory)` },
  { flag: 'seed', key: 'seed', type: 'int', default: 1, min: 0, max: 4294967295,
    doc: 'random seed; the same seed and knobs give byte-identical files' },
  { flag: 'spurious-strength', key: 'spuriousStrength', type: 'number', default: 1, min: 0, max: 10,
    doc: 'imaging reading = strength * (2y-1) + N(0,1) at training sites; corr with y about strength/sqrt(strength^2+1) at balanced classes (0 = no shortcut)' },
  { flag: 'spurious-flip', key: 'spuriousFlip', type: 'boolean', default: true,
    doc: 'at the held-out site the reading\'s link to y is reversed (true) or replaced by a coin flip (false)' },
  { flag: 'missing-bias', key: 'missingBias', type: 'number', default: 1.2, min: 0, max: 10,
    doc: 'log-odds of acquiring imaging = site term + bias * (2y-1) at training sites (1.2: about 75% of positives vs 25% of negatives); label-free at the held-out site' },
  { flag: 'missing-held-out', key: 'missingHeldOut', type: 'boolean', default: false,
    doc: 'the --missing-bias label term at the held-out site too (true: a practice every hospital shares, so the pattern\'s link to y is real there; false: one of the training sites\' habits, gone at the held-out site)' },
  { flag: 'site-shift', key: 'siteShift', type: 'number', default: 0.5, min: 0, max: 5,
    doc: 'scale of the site confounder: severity offset, lab calibration shift, prevalence log-odds and site-driven missingness' },
  { flag: 'alpha', key: 'alpha', type: 'number', default: 2, min: 0, max: 10,
    doc: 'effect of latent severity on the outcome: y ~ Bernoulli(sigmoid(alpha * s + site prevalence shift + outcome offset))' },
  { flag: 'outcome-offset', key: 'outcomeOffset', type: 'number', default: 0, min: -8, max: 8,
    doc: 'log-odds added to the outcome at every site (negative = a rarer outcome: -4 gives about 6% positives at the default knobs; the sites\' prevalence shifts stay on top)' },
  { flag: 'noise', key: 'noise', type: 'number', default: 1, min: 0, max: 10,
    doc: 'standard deviation of the measurement noise on the causal features (age, labs, vitals); larger = weaker causal signal' },
  { flag: 'labs-severity', key: 'labsSeverity', type: 'number', default: 1, min: -5, max: 5,
    doc: 'log-odds slope of labs being ordered on severity (sicker patients get more tests); 0 = site-driven only' },
  { flag: 'imaging-rate', key: 'imagingRate', type: 'number', default: 0.5, min: 0.05, max: 1,
    doc: 'base probability that imaging is acquired: log-odds = logit(rate) + site term (+ the --missing-bias label term at training sites); 1 = imaging (and so the reading) for every row' },
  { flag: 'agreement', key: 'agreement', type: 'number', default: 1, min: 0.5, max: 1,
    doc: 'probability that a reading\'s link is 2y-1 rather than a fresh coin (+-1) at training sites (every site with --label-driven), so lower = a weaker shortcut (1 = always y)' },
  { flag: 'readings', key: 'readings', type: 'int', default: 1, min: 1, max: 2,
    doc: 'label-only readings: 1 = reading (imaging); 2 adds reading2 in a device modality, recorded for 90% of rows at random, same strength and agreement, broken at the held-out site like reading' },
  { flag: 'reading-type', key: 'readingType', type: 'choice', default: 'numeric', choices: ['numeric', 'categorical'],
    doc: 'numeric readings, or categorical: each reading written as high (value > 0) or low and listed in the schema\'s categorical columns' },
  { flag: 'label-driven', key: 'labelDriven', type: 'boolean', default: false,
    doc: 'no latent severity: y ~ Bernoulli(sigmoid(site prevalence shift + outcome offset)) and every feature = loading * (2y-1) + noise, so nothing co-varies within a class; the readings are then real markers that keep their link at the held-out site (no spurious features)' },
];

/** The default options, as `fedcausal synth` with no knobs would use. */
export function defaultSynthOptions(): SynthOptions {
  return compileSynthOptions({});
}

const boundsOf = (k: NumericKnob) => ({ min: k.min, max: k.max, int: k.type === 'int' });

/** A knob's flag schema, from its row of the table. */
function knobSchema(k: Knob) {
  if (k.type === 'boolean') return boolFlag().default(k.default);
  if (k.type === 'choice') return choiceFlag(k.choices as [string, ...string[]]).default(k.default);
  return numberFlag(boundsOf(k)).default(k.default);
}

/** The knobs as one schema keyed by flag name; unknown flags are errors. */
export const synthFlagsSchema = strict(Object.fromEntries(SYNTH_KNOBS.map((k) => [k.flag, knobSchema(k)])));

/**
 * Flag values as strings (keys are flag names, with or without the leading "--";
 * undefined = default) to validated options. Throws InputError naming the flag and
 * its allowed range, or an unknown flag with the known ones.
 */
export function compileSynthOptions(raw: Record<string, string | undefined>): SynthOptions {
  const given = Object.fromEntries(Object.entries(raw).map(([name, v]) => [name.replace(/^--/, ''), v]));
  const byFlag = parseInput(synthFlagsSchema, given, { flags: true }) as Record<string, KnobValue>;
  const options = Object.fromEntries(SYNTH_KNOBS.map((k) => [k.key, byFlag[k.flag]])) as unknown as SynthOptions;
  checkCohortSize(options, given.rows);
  return options;
}

/** Each knob is within its own range; together, --sites and --rows must still fit in memory. */
function checkCohortSize({ sites, rows }: SynthOptions, typed: string | undefined): void {
  const most = Math.floor(MAX_SYNTH_COHORT_ROWS / sites);
  if (rows > most)
    throw new InputError(
      `--rows: must be an integer in [20, ${most}] with --sites ${sites}, so the cohort stays within ` +
        `${MAX_SYNTH_COHORT_ROWS} rows held in memory (got ${JSON.stringify(typed ?? String(rows))})`,
    );
}

/** The knob table as --help text: flag, default, range, doc. */
export function synthKnobsHelp(): string {
  return SYNTH_KNOBS.map((k) => {
    const range = k.type === 'boolean' ? 'true|false' : k.type === 'choice' ? k.choices.join('|') : describeBounds(boundsOf(k)).replace(/^an? /, '');
    return `  --${k.flag} (default ${k.default}; ${range})\n      ${k.doc}`;
  }).join('\n');
}

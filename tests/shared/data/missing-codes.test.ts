// Undeclared missing-value codes (shared/data/missing-codes.ts): a repeated value far from
// a numeric column's other values (-999 in cholesterol) is warned of; values that repeat
// and are real (a skewed lab's 0, a count's 0, an age capped at 90) are not, nor is
// anything in the heart-disease files or in synth's files at default knobs. The family
// below is the one SENTINEL_ROBUST_SDS and SENTINEL_GAP_SDS were chosen on (700 rows a
// column; the comment there gives each case's distance).
import { readFileSync } from 'node:fs';
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadSchema, compileSchema } from '../../../shared/data/schema.ts';
import { loadSiteTable, parseSiteTable } from '../../../shared/data/table.ts';
import { missingCodeNotes, sentinelValues, SENTINEL_MIN_ROWS } from '../../../shared/data/missing-codes.ts';
import { Rng } from '../../../shared/rng.ts';
import { defaultSynthOptions } from '../../../shared/synth/options.ts';
import { renderCohortFiles, synthesizeCohort } from '../../../shared/synth/write.ts';
import { HEART_FILES, HEART_SCHEMA } from '../../e2e/helpers/federation.ts';

const N = 700;
const rng = new Rng(7);
const round = (x: number, digits: number) => Math.round(x * 10 ** digits) / 10 ** digits;
function poisson(mean: number): number {
  let k = 0;
  let p = Math.exp(-mean);
  let s = p;
  const u = rng.next();
  while (u > s) {
    p *= mean / ++k;
    s += p;
  }
  return k;
}
/** `n` values of `draw`, the first `codes` of them replaced by `code` (exact counts: 1% of 700 is 7 rows). */
function column(draw: () => number, code?: number, codes = 0): number[] {
  return Array.from({ length: N }, (_, i) => (i < codes ? code! : draw()));
}
const chol = () => Math.round(240 + 50 * rng.normal());

const REAL: Record<string, number[]> = {
  'troponin-like, 30% zeros': column(() => (rng.next() < 0.3 ? 0 : round(Math.exp(rng.normal() - 1), 2))),
  'CRP-like, 10% zeros': column(() => (rng.next() < 0.1 ? 0 : round(Math.exp(1 + rng.normal()), 1))),
  'a count (Poisson 1.5)': column(() => poisson(1.5)),
  'a zero-inflated count (70% zeros)': column(() => (rng.next() < 0.7 ? 0 : poisson(3))),
  'an age capped at 90': column(() => Math.min(90, Math.round(70 + 12 * rng.normal()))),
  'a lab at its detection limit, 0.01': column(() => Math.max(0.01, round(Math.exp(rng.normal() - 2), 2))),
  'cholesterol': column(chol),
  // Far out (over 6 robust SDs), but the tail runs up to it: a reporting limit, not a code (an audit's mutant survived here).
  'a long-tailed lab at its upper reporting limit, 1000': column(() => Math.min(1000, Math.round(Math.exp(5 + 0.8 * rng.normal())))),
  // 4.9 robust SDs out: most likely a code too, left unsaid for the margin over real values.
  'a 0 under a tight lab (5% zeros)': column(() => (rng.next() < 0.05 ? 0 : Math.round(Math.exp(5 + 0.2 * rng.normal())))),
};

const CODED: [string, number[], number, number][] = [];
for (const share of [0.01, 0.05, 0.3]) {
  const k = Math.round(share * N);
  CODED.push([`cholesterol, -999 in ${share * 100}%`, column(chol, -999, k), -999, k]);
  CODED.push([`ages, 999 in ${share * 100}%`, column(() => Math.round(60 + 10 * rng.normal()), 999, k), 999, k]);
  CODED.push([`oldpeak-like (40% zeros), -9 in ${share * 100}%`, column(() => (rng.next() < 0.4 ? 0 : round(-Math.log(1 - rng.next()), 1)), -9, k), -9, k]);
  CODED.push([`a count, -1 in ${share * 100}%`, column(() => poisson(1.5), -1, k), -1, k]);
}

test('repeated real values, near the bulk or at the end of a tail, are no missing-value code', () => {
  for (const [name, values] of Object.entries(REAL)) assert.deepEqual(sentinelValues(values), [], name);
});

test('-999, 999, -9 and -1 in 1%, 5% and 30% of a column are taken for missing-value codes', () => {
  for (const [name, values, code, rows] of CODED) {
    const found = sentinelValues(values);
    assert.deepEqual(found.map((s) => [s.value, s.rows]), [[code, rows]], name);
  }
  // Fewer rows than the minimum: a typo or two is the range check's, not a code.
  assert.deepEqual(sentinelValues(column(chol, -999, SENTINEL_MIN_ROWS - 1)), []);
  // Two codes in one column are both named.
  const two = column(chol, -999, 40).map((v, i) => (i >= 40 && i < 60 ? 9999 : v));
  assert.deepEqual(sentinelValues(two).map((s) => s.value), [-999, 9999]);
});

test('the warning names the file, column, value and rows, and says to declare it in missingCodes', () => {
  const schema = compileSchema({ label: { column: 'y', threshold: 0 }, modalities: { labs: ['chol'] } }, 'schema.json');
  const values = column(chol, -999, 45);
  const text = ['chol,y', ...values.map((v, i) => `${v},${i % 2}`)].join('\n');
  const notes = missingCodeNotes('site.csv', parseSiteTable(schema, text, 'site.csv'), schema.categorical);
  assert.equal(notes.length, 1);
  assert.match(
    notes[0]!,
    /^site\.csv: column "chol" holds -999 in 45 of the 700 rows where it is observed, far from its other values \(median \d+, robust SD [\d.]+ without those rows; the nearest is \d+\), a usual code for "not measured": it looks like a missing-value code: declare it in the schema's missingCodes \(or fix the export\), e\.g\. "chol": \["-999"\], spelt as the file writes it; until then it is read as a value, in training and in the scaling$/,
  );
  // Declared, the code is missing, not a value: nothing to say.
  const declared = compileSchema({ label: { column: 'y', threshold: 0 }, modalities: { labs: ['chol'] }, missingCodes: { chol: ['-999'] } }, 'schema.json');
  assert.deepEqual(missingCodeNotes('site.csv', parseSiteTable(declared, text, 'site.csv'), declared.categorical), []);
});

test('nothing in the heart-disease files nor in synth files at default knobs looks like a code', () => {
  const heart = loadSchema(HEART_SCHEMA);
  for (const [site, file] of Object.entries(HEART_FILES)) assert.deepEqual(missingCodeNotes(site, loadSiteTable(heart, file), heart.categorical), [], site);
  for (const seed of [1, 2, 3]) {
    const files = renderCohortFiles(synthesizeCohort({ ...defaultSynthOptions(), seed }));
    const schema = compileSchema(JSON.parse(files.get('schema.json')!), 'schema.json');
    for (const [name, csv] of files)
      if (name.endsWith('.csv')) assert.deepEqual(missingCodeNotes(name, parseSiteTable(schema, csv, name), schema.categorical), [], `seed ${seed} ${name}`);
  }
});

test('a code for missing past the 50-robust-SD bound is refused as what it most likely is, naming its rows and missingCodes; one far value is a plain out-of-range', () => {
  const schema = loadSchema(HEART_SCHEMA);
  const lines = readFileSync(HEART_FILES.cleveland!, 'utf8').trimEnd().split('\n');
  // thalach (column 8): -9999 in 6 rows, past [median - 50 robust SDs] as spo2's -999 was in an outside try.
  const coded = lines.map((l, i) => (i % 50 === 7 ? l.split(',').map((v, j) => (j === 7 ? '-9999' : v)).join(',') : l)).join('\n');
  assert.throws(() => parseSiteTable(schema, coded, 'coded.csv'), /coded\.csv:8: column "thalach" value "-9999" in 6 rows is more than 50 robust SDs from the column's median .*: most likely a code for missing this export writes; declare it in the schema's "missingCodes" for "thalach" \(spelt "-9999", as the file writes it\)/);
  const once = lines.map((l, i) => (i === 7 ? l.split(',').map((v, j) => (j === 7 ? '-9999' : v)).join(',') : l)).join('\n');
  assert.throws(() => parseSiteTable(schema, once, 'once.csv'), /once\.csv:8: column "thalach" value "-9999" is more than 50 robust SDs .*; fix it, mark it missing, or declare "ranges" for "thalach"/);
});

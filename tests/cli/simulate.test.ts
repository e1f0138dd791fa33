// `fedcausal simulate` as a user runs it (a child process), on the four UCI heart sites:
// the results file and predictions CSV of INTERFACES.md, determinism per seed, test-only
// sites, fixed holdout files, and one-line reasons for bad input.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ResultsFile } from '../../cli/results.ts';
import { describeRun, runCli } from '../e2e/helpers/cli.ts';
import { HEART_FILES, HEART_SCHEMA } from '../e2e/helpers/federation.ts';
import { HEART_COLUMNS, heartSchemaWith } from '../e2e/helpers/bad-data.ts';
import { writePredictions } from '../../cli/simulate.ts';

const ALL = ['cleveland', 'hungary', 'switzerland', 'va'];
const ROUNDS = 3;
let dir: string;

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'fedcausal-simulate-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

interface Prediction {
  site: string;
  row: number;
  label: number;
  score: number;
}

/** The outcome of each data row of a heart-disease file (num > 0), by 0-based row index. */
function labelsOf(path: string): number[] {
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => (Number(l.split(',')[13]) > 0 ? 1 : 0));
}

function readPredictions(path: string): Prediction[] {
  const [header, ...lines] = readFileSync(path, 'utf8').trimEnd().split('\n');
  assert.equal(header, 'site,row,label,score');
  return lines.map((l, i) => {
    const f = l.split(',');
    assert.equal(f.length, 4, `predictions line ${i + 2}: ${l}`);
    return { site: f[0]!, row: Number(f[1]), label: Number(f[2]), score: Number(f[3]) };
  });
}

function assertMetrics(m: Record<string, number> | undefined, where: string): void {
  assert.ok(m, `${where} is present`);
  assert.ok(Number.isInteger(m.n) && m.n! > 0, `${where}.n = ${m.n}`);
  for (const k of ['auroc', 'accuracy', 'balancedAccuracy', 'ece'])
    assert.ok(typeof m[k] === 'number' && m[k] >= 0 && m[k] <= 1, `${where}.${k} = ${m[k]} in [0, 1]`);
}

function assertPrior(prior: { pattern: string; p: number }[]): void {
  assert.ok(prior.length > 0, 'prior has patterns');
  for (const e of prior) {
    assert.match(e.pattern, /^[01]{7}$/, 'one character per modality (7 in the heart schema)');
    assert.ok(e.p > 0 && e.p <= 1, `p(${e.pattern}) = ${e.p}`);
  }
  assert.equal(new Set(prior.map((e) => e.pattern)).size, prior.length, 'patterns are distinct');
  const sum = prior.reduce((a, e) => a + e.p, 0);
  assert.ok(Math.abs(sum - 1) < 1e-9, `prior sums to ${sum}`);
}

/**
 * Every scored row of each site is there once, with the file's own label: `row`
 * must index the site's data file (or its holdout file).
 */
function assertPredictionsCover(preds: Prediction[], results: ResultsFile, files: Record<string, string>): void {
  const scored = { ...results.sites, ...results.testSites };
  assert.deepEqual([...new Set(preds.map((p) => p.site))].sort(), Object.keys(scored).sort(), 'sites in the predictions file');
  for (const [site, m] of Object.entries(scored)) {
    const mine = preds.filter((p) => p.site === site);
    assert.equal(mine.length, m.n, `${site}: one prediction per held-out row`);
    assert.equal(new Set(mine.map((p) => p.row)).size, mine.length, `${site}: rows are distinct`);
    const labels = labelsOf(files[site]!);
    for (const p of mine) {
      assert.ok(Number.isInteger(p.row) && p.row >= 0 && p.row < labels.length, `${site} row ${p.row} is in its file`);
      assert.equal(p.label, labels[p.row], `${site} row ${p.row}: label matches the file`);
      assert.ok(p.score >= 0 && p.score <= 1, `${site} row ${p.row}: score ${p.score} in [0, 1]`);
    }
  }
}

const siteArgs = (names: string[], flag = '--site') => names.flatMap((n) => [flag, `${n}=${HEART_FILES[n]}`]);

async function simulate(name: string, extra: string[]): Promise<{ results: ResultsFile; predictions: Prediction[]; csv: string }> {
  const out = join(dir, `${name}.json`);
  const csv = join(dir, `${name}.csv`);
  const r = await runCli(['simulate', '--schema', HEART_SCHEMA, '--rounds', String(ROUNDS), '--out', out, '--predictions', csv, ...extra]);
  assert.equal(r.code, 0, describeRun(r));
  assert.equal(statSync(csv).mode & 0o777, 0o600, 'a score per patient: kept like the rows');
  return { results: JSON.parse(readFileSync(out, 'utf8')) as ResultsFile, predictions: readPredictions(csv), csv: readFileSync(csv, 'utf8') };
}

for (const model of ['logreg', 'baseline']) {
  test(`simulate --model ${model}: results and predictions as INTERFACES.md describes`, { timeout: 60_000 }, async () => {
    const modelArgs = model === 'baseline' ? ['--model', model, '--local-epochs', '1'] : ['--model', model];
    const { results, predictions } = await simulate(`four-${model}`, [...siteArgs(ALL), ...modelArgs]);
    assert.equal(results.model, model);
    assert.equal(results.rounds, ROUNDS);
    assert.equal(results.seed, 1, 'default seed');
    assert.deepEqual(Object.keys(results.sites).sort(), [...ALL].sort());
    for (const s of ALL) assertMetrics(results.sites[s], `sites.${s}`);
    // Each training site's own recalibration (Platt), with ECE of its held-out rows before (the raw scores' ECE) and after.
    for (const s of ALL) {
      const own = results.calibration?.sites[s]?.own;
      assert.ok(own && own.a >= 0 && own.a <= 4 && Number.isFinite(own.b) && own.rows > 0, `calibration.sites.${s}.own = ${JSON.stringify(own)}`);
      assert.ok(Math.abs(own.eceBefore - results.sites[s]!.ece) < 1e-9, `${s}: own.eceBefore is the raw ECE`);
    }
    assert.deepEqual(results.testSites, {});
    assertPrior(results.prior);
    // The default 0.3 held out of each file, stratified (so within a row or two of 30%).
    for (const s of ALL) {
      const rows = labelsOf(HEART_FILES[s]!).length;
      assert.ok(Math.abs(results.sites[s]!.n! - 0.3 * rows) <= 2, `${s}: ${results.sites[s]!.n} of ${rows} rows held out`);
    }
    assertPredictionsCover(predictions, results, HEART_FILES);
  });
}

test('simulate is deterministic per seed: same seed, same bytes; another seed, another split', { timeout: 60_000 }, async () => {
  const args = [...siteArgs(ALL), '--model', 'logreg'];
  const a = await simulate('seed7-a', [...args, '--seed', '7']);
  const b = await simulate('seed7-b', [...args, '--seed', '7']);
  const c = await simulate('seed8', [...args, '--seed', '8']);
  assert.equal(a.csv, b.csv, 'same seed: byte-identical predictions');
  // Timings in the round history differ run to run; the outcome must not.
  assert.deepEqual(a.results.sites, b.results.sites);
  assert.deepEqual(a.results.prior, b.results.prior);
  assert.equal(a.results.seed, 7);
  assert.equal(c.results.seed, 8);
  assert.notEqual(a.csv, c.csv, 'another seed: different predictions');
  const rows = (p: Prediction[]) => p.map((x) => `${x.site}:${x.row}`).join(' ');
  assert.notEqual(rows(a.predictions), rows(c.predictions), 'another seed: a different held-out split');
});

test('simulate --test-site: scored on its whole file, no part in training or the prior', { timeout: 60_000 }, async () => {
  const train = ['cleveland', 'hungary', 'va'];
  const { results, predictions } = await simulate('test-site', [...siteArgs(train), ...siteArgs(['switzerland'], '--test-site'), '--model', 'logreg']);
  assert.deepEqual(Object.keys(results.sites).sort(), train);
  assert.deepEqual(Object.keys(results.testSites), ['switzerland']);
  assertMetrics(results.testSites.switzerland, 'testSites.switzerland');
  const swiss = predictions.filter((p) => p.site === 'switzerland');
  assert.deepEqual(
    swiss.map((p) => p.row),
    labelsOf(HEART_FILES.switzerland!).map((_, i) => i),
    'every row of the test-site file, in order',
  );
  assert.equal(results.testSites.switzerland!.n, 123);
  assertPredictionsCover(predictions, results, HEART_FILES);
  // Pattern 1110101 (labs and fluoroscopy missing) occurs only in Switzerland's file:
  // a test-only site contributes nothing to the prior.
  assertPrior(results.prior);
  assert.ok(!results.prior.some((e) => e.pattern === '1110101'), `prior has no Swiss-only pattern: ${JSON.stringify(results.prior)}`);
});

/** The warnings a run logged (FEDCAUSAL_LOG=json: one object per stderr line). */
function loggedWarnings(stderr: string): { message: string; site?: string }[] {
  return stderr
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as { level: string; message: string; site?: string })
    .filter((e) => e.level === 'warn');
}

test('simulate warns at start of a one-class --test-site (results warnings too; AUROC and balanced accuracy null) and of a constant column', { timeout: 60_000 }, async () => {
  const va0 = join(dir, 'va0.csv');
  writeFileSync(va0, readFileSync(HEART_FILES.va!, 'utf8').split('\n').filter((l) => l.endsWith(',0')).join('\n') + '\n');
  const rows = labelsOf(va0).length;
  const age55 = join(dir, 'cleveland-age55.csv');
  writeFileSync(age55, readFileSync(HEART_FILES.cleveland!, 'utf8').split('\n').map((l) => (l ? l.replace(/^[^,]*/, '55.0') : l)).join('\n'));
  const out = join(dir, 'one-class-test-site.json');
  const r = await runCli(['simulate', '--schema', HEART_SCHEMA, '--rounds', '2', '--out', out, '--site', `cleveland=${age55}`, ...siteArgs(['hungary']), '--test-site', `va0=${va0}`, '--model', 'logreg']);
  assert.equal(r.code, 0, describeRun(r));
  const note =
    `test site "va0" (${va0}): all ${rows} test rows are of class 0 ("num" > 0 is false in every row); its AUROC and balanced accuracy ` +
    'are undefined there (null in the results): they need rows of both classes; its accuracy and ECE are reported';
  const warned = loggedWarnings(r.stderr);
  assert.deepEqual(warned.filter((w) => w.site === 'va0').map((w) => w.message), [note], JSON.stringify(warned));
  // check-data's words, from the site at start.
  assert.deepEqual(
    warned.filter((w) => w.site === 'cleveland').map((w) => w.message),
    [
      `site "cleveland" (${age55}): column "age" holds one value, 55, in all 303 rows where it is observed: most likely an export default or a device's placeholder, not a measurement; the column then carries nothing at this site (fix the export, or list the value in the schema's missingCodes for "age" if it means missing)`,
      // The coordinator, from the sums: its age SD (0) is nothing like the federation's.
      'site unlike the federation',
    ],
  );
  assert.ok(!warned.some((w) => w.site === 'hungary'), 'a site of both classes and no constant column says nothing');
  const results = JSON.parse(readFileSync(out, 'utf8')) as Record<string, any>;
  assert.equal(results.complete, true);
  assert.equal(results.warnings[0], note);
  assert.match(results.warnings[1], /^site "cleveland" is unlike the federation in the statistics it sent \(age: site SD 0 vs federation .*\); it trained as it is: check its units and coding$/);
  assert.equal(results.warnings.length, 2);
  const t = results.testSites.va0;
  assert.equal(t.n, rows);
  assert.equal(t.auroc, null);
  assert.equal(t.balancedAccuracy, null, 'one class: balanced accuracy is undefined, not accuracy under another name');
  assert.ok(t.accuracy >= 0 && t.accuracy <= 1 && t.ece >= 0 && t.ece <= 1, JSON.stringify(t));
  for (const s of ['cleveland', 'hungary']) assertMetrics(results.sites[s], `sites.${s}`);
});

test('simulate --holdout: the site is tested on exactly the holdout file', { timeout: 60_000 }, async () => {
  // The first 50 rows of Cleveland as a published "test split".
  const holdout = join(dir, 'cleveland-holdout.csv');
  writeFileSync(holdout, readFileSync(HEART_FILES.cleveland!, 'utf8').split('\n').slice(0, 50).join('\n') + '\n');
  const { results, predictions } = await simulate('holdout', [...siteArgs(['cleveland', 'va']), '--holdout', `cleveland=${holdout}`, '--model', 'logreg']);
  assert.equal(results.sites.cleveland!.n, 50);
  const clev = predictions.filter((p) => p.site === 'cleveland');
  assert.deepEqual(
    clev.map((p) => p.row),
    Array.from({ length: 50 }, (_, i) => i),
  );
  assertPredictionsCover(predictions, results, { cleveland: holdout, va: HEART_FILES.va! });
});

test('simulate with bad input exits 2 with a one-line reason naming the problem', { timeout: 60_000 }, async () => {
  const malformed = join(dir, 'malformed.csv');
  const good = readFileSync(HEART_FILES.va!, 'utf8').split('\n').slice(0, 3);
  // Line 3 loses its last field.
  writeFileSync(malformed, [good[0], good[1], good[2]!.split(',').slice(0, 13).join(',')].join('\n') + '\n');
  const cases: { args: string[]; reason: RegExp }[] = [
    { args: [...siteArgs(['va']), '--model', 'logreg'], reason: /--schema/ },
    { args: ['--schema', HEART_SCHEMA, ...siteArgs(['va']), '--model', 'nonsense'], reason: /--model: must be one of debiased, baseline, logreg \(got "nonsense"\)/ },
    {
      args: ['--schema', HEART_SCHEMA, ...siteArgs(['va']), '--site', `broken=${malformed}`, '--model', 'logreg'],
      reason: new RegExp(`${malformed.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:3\\b.*\\b14\\b.*\\b13\\b`),
    },
    { args: ['--schema', HEART_SCHEMA, ...siteArgs(['va']), '--model', 'logreg', '--rounds', 'zero'], reason: /--rounds/ },
    { args: ['--schema', HEART_SCHEMA, ...siteArgs(['va']), '--holdout', `nowhere=${HEART_FILES.va}`, '--model', 'logreg'], reason: /--holdout.*"nowhere"/ },
  ];
  for (const c of cases) {
    const r = await runCli(['simulate', ...c.args], 30_000);
    assert.equal(r.code, 2, `${c.args.join(' ')}: ${describeRun(r)}`);
    assert.equal(r.messages.length, 1, `one line of reason: ${JSON.stringify(r.messages)}`);
    assert.match(r.messages[0]!, /^fedcausal simulate: /);
    assert.match(r.messages[0]!, c.reason);
    assert.equal(r.stdout, '', 'nothing on stdout');
  }
});

test('simulate warns at start and in the results of an undeclared missing-value code, a site of one class by its label coding, and a test site coding sex another way', { timeout: 90_000 }, async () => {
  // Grades 0-4 with the outcome at num > 1: Hungary's 0/1 file is then all class 0, by its coding.
  const schema = heartSchemaWith(dir, (s) => ((s.label as { threshold: number }).threshold = 1), 'threshold-1');
  const chol = HEART_COLUMNS.indexOf('chol');
  const sex = HEART_COLUMNS.indexOf('sex');
  const edit = (site: string, name: string, f: (fields: string[], i: number) => void) => {
    const file = join(dir, `${name}.csv`);
    const lines = readFileSync(HEART_FILES[site]!, 'utf8').split('\n');
    writeFileSync(file, lines.map((l, i) => (l ? ((fields) => (f(fields, i), fields.join(',')))(l.split(',')) : l)).join('\n'));
    return file;
  };
  const cleveland = edit('cleveland', 'cleveland-chol-999', (fields, i) => i % 15 === 0 && (fields[chol] = '-999'));
  const age = HEART_COLUMNS.indexOf('age');
  // Sex as M/F, and age in months: the test site's file is read on the training sites' scale.
  const swiss = edit('switzerland', 'switzerland-sex-mf', (fields) => {
    fields[sex] = fields[sex] === '1' ? 'M' : 'F';
    fields[age] = String(Number(fields[age]) * 12);
  });
  const out = join(dir, 'data-warnings.json');
  const r = await runCli(['simulate', '--schema', schema, '--rounds', '2', '--out', out, '--model', 'logreg', '--site', `cleveland=${cleveland}`, ...siteArgs(['hungary', 'va']), '--test-site', `swiss=${swiss}`]);
  assert.equal(r.code, 0, describeRun(r));
  const results = JSON.parse(readFileSync(out, 'utf8')) as ResultsFile;
  const code = results.warnings.filter((w) => w.startsWith(`site "cleveland" (${cleveland}): column "chol" holds -999 in 21 of the 303 rows`));
  const oneClass = results.warnings.filter((w) =>
    /^site "hungary" \(.*\): all \d+ training rows are of class 0 \("num" > 1 is false in every row\);.*the file's label values 0 \(188 rows\) and 1 \(106\) all read as class 0 under "num" > 1: the file's label coding may differ/.test(w),
  );
  const coding = results.warnings.filter((w) =>
    w.startsWith(`test site "swiss" (${swiss}): column "sex": 123 of its 123 observed values are not in the other training sites' values ("0", "1"): "M" (113), "F" (10);`),
  );
  const unit = results.warnings.filter((w) =>
    /^test site "swiss" \(.*\): age: site mean 6\d\d vs the training sites' 5\d\.?\d* \(SD [\d.]+\): shifted by [\d.]+ SDs \(severe: check its unit and coding\); age: site SD [\d.]+ vs the training sites' [\d.]+: ratio [\d.]+ \(severe: check its unit and coding\); the model reads its values on the training sites' scale/.test(w),
  );
  assert.deepEqual([code.length, oneClass.length, coding.length, unit.length], [1, 1, 1, 1], results.warnings.join('\n'));
  // Nothing else of the test site's columns is far from the training sites'.
  assert.equal(results.warnings.filter((w) => w.startsWith('test site "swiss"')).length, 2, results.warnings.join('\n'));
  // The closing lines say each, as for every warning of the results.
  for (const w of [...code, ...oneClass, ...coding, ...unit]) assert.ok(r.stdout.includes(`warning: ${w}\n`), w);
  // Logged at start under the site's name; the agent does not say the vocabulary note a second time.
  const warned = loggedWarnings(r.stderr);
  assert.deepEqual(warned.filter((w) => w.message === code[0] || w.message === coding[0]).map((w) => w.site), ['cleveland', 'swiss']);
  assert.equal(warned.filter((w) => /observed values are not in/.test(w.message)).length, 1);
});

test('the predictions file keeps scores that differ near 1 apart (an AUROC from the file is the results\')', () => {
  const dir = mkdtempSync(join(tmpdir(), 'fedcausal-preds-'));
  try {
    const file = join(dir, 'p.csv');
    const scores = [0.99999994, 0.9999999, 0.99999988, 1e-9];
    writePredictions(file, scores.map((score, row) => ({ site: 'a', row, label: row % 2, score })));
    const read = readFileSync(file, 'utf8').trim().split('\n').slice(1).map((l) => Number(l.split(',')[3]));
    assert.deepEqual(read, scores);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

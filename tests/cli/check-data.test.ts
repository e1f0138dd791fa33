// `fedcausal check-data` as a user runs it (a child process): the missingness-pattern
// table of a valid file, and exit 2 with a one-line reason naming the file, line,
// column or field at fault for bad input.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeRun, runCli } from '../e2e/helpers/cli.ts';
import { HEART_FILES, HEART_SCHEMA } from '../e2e/helpers/federation.ts';
import { HEART_COLUMNS, heartSchemaWith, misnamedHeader, oneClassFile, oneRowFile, withCell, withColumn } from '../e2e/helpers/bad-data.ts';

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'fedcausal-check-data-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

/** Pattern -> [rows, positives] from the printed table (rows under the dashed rule). */
function patternTable(stdout: string): Map<string, [number, number]> {
  const lines = stdout.split('\n');
  const rule = lines.findIndex((l) => /^-+(\s+-+)+$/.test(l));
  assert.ok(rule > 0, `a table in:\n${stdout}`);
  const table = new Map<string, [number, number]>();
  for (const l of lines.slice(rule + 1)) {
    if (!l.trim()) break;
    const cells = l.trim().split(/\s{2,}/);
    // pattern, missing modalities, rows, share, positives
    assert.equal(cells.length, 5, `table row: ${l}`);
    table.set(cells[0]!, [Number(cells[2]), Number(cells[4])]);
  }
  return table;
}

// From ../shared/data/heart-disease/README.md and the schema's modality order
// (demographics, symptoms, resting, labs, exercise, fluoroscopy, thallium).
const EXPECTED: Record<string, { rows: number; positives: number; patterns: Record<string, number> }> = {
  cleveland: { rows: 303, positives: 139, patterns: { '1111111': 297, '1111101': 4, '1111110': 2 } },
  hungary: { rows: 294, positives: 106, patterns: { '1111100': 264, '1111101': 27, '1111110': 2, '1111111': 1 } },
  switzerland: {
    rows: 123,
    positives: 115,
    patterns: { '1110100': 44, '1111101': 44, '1110101': 26, '1110110': 5, '1111100': 3, '1111001': 1 },
  },
  va: {
    rows: 200,
    positives: 149,
    patterns: { '1111100': 108, '1111000': 52, '1111101': 32, '1110100': 5, '1111111': 1, '1111110': 1, '1111001': 1 },
  },
};

for (const [site, want] of Object.entries(EXPECTED)) {
  test(`check-data prints the missingness patterns of ${site}`, { timeout: 30_000 }, async () => {
    const r = await runCli(['check-data', '--schema', HEART_SCHEMA, '--data', HEART_FILES[site]!]);
    assert.equal(r.code, 0, describeRun(r));
    const n = Object.keys(want.patterns).length;
    assert.match(r.stdout, new RegExp(`: ${want.rows} rows, ${n} missingness patterns, ${want.positives} positive\\n`));
    assert.match(r.stdout, /modalities \(pattern order\): demographics, symptoms, resting, labs, exercise, fluoroscopy, thallium/);
    const table = patternTable(r.stdout);
    assert.deepEqual(Object.fromEntries([...table].map(([p, [rows]]) => [p, rows])), want.patterns);
    const positives = [...table.values()].reduce((a, [, pos]) => a + pos, 0);
    assert.equal(positives, want.positives, 'positives add up');
    // Largest pattern first.
    const rows = [...table.values()].map(([x]) => x);
    assert.deepEqual(rows, [...rows].sort((a, b) => b - a));
  });
}

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

async function assertRefused(args: string[], reason: RegExp): Promise<void> {
  const r = await runCli(['check-data', ...args], 30_000);
  assert.equal(r.code, 2, describeRun(r));
  assert.equal(r.messages.length, 1, `one line of reason: ${JSON.stringify(r.messages)}`);
  assert.match(r.messages[0]!, /^fedcausal check-data: /);
  assert.match(r.messages[0]!, reason);
  assert.equal(r.stdout, '', 'no table for bad input');
}

test('check-data on a CSV with a wrong field count exits 2 naming file and line', { timeout: 30_000 }, async () => {
  const rows = readFileSync(HEART_FILES.cleveland!, 'utf8').split('\n').slice(0, 4);
  rows[3] = rows[3] + ',1.0'; // line 4 has 15 fields
  const file = join(dir, 'extra-field.csv');
  writeFileSync(file, rows.join('\n') + '\n');
  await assertRefused(['--schema', HEART_SCHEMA, '--data', file], new RegExp(`${escape(file)}:4\\b.*\\b14\\b.*\\b15\\b`));
});

test('check-data on a non-numeric value in a numeric column exits 2 naming file, line and column', { timeout: 30_000 }, async () => {
  const rows = readFileSync(HEART_FILES.hungary!, 'utf8').split('\n').slice(0, 5);
  const fields = rows[2]!.split(',');
  fields[4] = 'high'; // chol, numeric in the schema
  rows[2] = fields.join(',');
  const file = join(dir, 'not-a-number.csv');
  writeFileSync(file, rows.join('\n') + '\n');
  await assertRefused(['--schema', HEART_SCHEMA, '--data', file], new RegExp(`${escape(file)}:3\\b.*"chol".*"high"`));
});

test('check-data with a schema putting a feature in two modalities exits 2 naming the field', { timeout: 30_000 }, async () => {
  const schema = JSON.parse(readFileSync(HEART_SCHEMA, 'utf8')) as { modalities: Record<string, string[]> };
  schema.modalities.labs!.push('thalach'); // also in "exercise"
  const file = join(dir, 'two-modalities.json');
  writeFileSync(file, JSON.stringify(schema));
  await assertRefused(['--schema', file, '--data', HEART_FILES.va!], new RegExp(`${escape(file)}.*"thalach".*"(labs|exercise)".*"(labs|exercise)"`));
});

test('check-data without --data exits 2 and says what is required', { timeout: 30_000 }, async () => {
  await assertRefused(['--schema', HEART_SCHEMA], /--data/);
});

// ---- Data that cannot poison: every bad cell is exit 2 naming file, line and column. ----

const badCells: { name: string; site: string; line: number; column: string; value: string; schema?: (s: Record<string, unknown>) => void; reason: RegExp }[] = [
  { name: 'huge-chol', site: 'hungary', line: 3, column: 'chol', value: '1e308', reason: /value "1e308" is out of range: \|value\| > 1e15/ },
  { name: 'hex', site: 'cleveland', line: 10, column: 'thalach', value: '0x1F', reason: /must be a number \(a plain decimal.*found "0x1F"/ },
  { name: 'infinity', site: 'va', line: 7, column: 'age', value: 'Infinity', reason: /must be a number .*found "Infinity"/ },
  { name: 'underscore', site: 'va', line: 7, column: 'age', value: '6_0', reason: /must be a number .*found "6_0"/ },
  { name: 'far-out', site: 'cleveland', line: 20, column: 'chol', value: '50000', reason: /value "50000" is more than 50 robust SDs from the column's median \(allowed \[-2168\.22, 2650\.22\]: median 241, robust SD 48\.1845 by MAD of the values off the median\); .*declare "ranges" for "chol"/ },
  { name: 'label-negative', site: 'cleveland', line: 5, column: 'num', value: '-1', reason: /\(label\) must be a non-negative integer .*found "-1"/ },
  { name: 'label-half', site: 'cleveland', line: 5, column: 'num', value: '0.5', reason: /\(label\) must be a non-negative integer .*found "0\.5"/ },
  {
    name: 'label-seven',
    site: 'cleveland',
    line: 5,
    column: 'num',
    value: '7',
    schema: (s) => ((s.label as Record<string, unknown>).values = [0, 1, 2, 3, 4]),
    reason: /\(label\) value "7" is not an allowed label value \(label\.values: 0, 1, 2, 3, 4\)/,
  },
  { name: 'category-nan', site: 'hungary', line: 8, column: 'cp', value: 'NaN', reason: /value "NaN" is not a category but a non-finite number/ },
  { name: 'category-banana', site: 'cleveland', line: 12, column: 'thal', value: 'banana', reason: /value "banana" is not a numeric code, though 300 of the column's 301 values are/ },
  {
    name: 'category-declared',
    site: 'va',
    line: 9,
    column: 'cp',
    value: '5',
    schema: (s) => (s.categories = { cp: [1, 2, 3, 4] }),
    reason: /value "5" is not one of its declared categories \("1", "2", "3", "4"\)/,
  },
  {
    name: 'range-declared',
    site: 'switzerland',
    line: 4,
    column: 'trestbps',
    value: '400',
    schema: (s) => (s.ranges = { trestbps: [50, 300] }),
    reason: /value "400" is outside its declared range \[50, 300\]/,
  },
];

for (const c of badCells)
  test(`check-data refuses a bad cell (${c.name}: ${c.column} = ${c.value}) naming file, line and column`, { timeout: 30_000 }, async () => {
    const file = withCell(dir, c.site, c.line, c.column, c.value, c.name);
    const schema = c.schema ? heartSchemaWith(dir, c.schema, `${c.name}-schema`) : HEART_SCHEMA;
    await assertRefused(['--schema', schema, '--data', file], new RegExp(`${escape(file)}:${c.line}: column "${c.column}".*${c.reason.source}`));
  });

test('check-data refuses a one-row file, naming its rows and the setting that sets the minimum', { timeout: 30_000 }, async () => {
  const file = oneRowFile(dir);
  await assertRefused(
    ['--schema', HEART_SCHEMA, '--data', file],
    new RegExp(`^fedcausal check-data: ${escape(file)}: 1 row to train on \\(1 row in the file, a share of 0\\.3 held out for testing\\), fewer than the minimum of 20 \\(site\\.yaml: minTrainingRows\\)`),
  );
});

test('check-data counts the rows left to train on, with the site\'s test fraction and minimum', { timeout: 30_000 }, async () => {
  // Switzerland: 123 rows, 8 of class 0 and 115 of class 1; at 0.3, 6 + 80 = 86 train.
  const ok = await runCli(['check-data', '--schema', HEART_SCHEMA, '--data', HEART_FILES.switzerland!]);
  assert.equal(ok.code, 0, describeRun(ok));
  assert.match(ok.stdout, /training rows: 86 \(test fraction 0\.3\); a site needs at least 20 \(site\.yaml: minTrainingRows\)\n/);
  await assertRefused(
    ['--schema', HEART_SCHEMA, '--data', HEART_FILES.switzerland!, '--test-fraction', '0.5', '--min-training-rows', '100'],
    /switzerland\.data: 61 rows to train on \(123 rows in the file, a share of 0\.5 held out for testing\), fewer than the minimum of 100/,
  );
});

test('check-data accepts a file of one class (the site trains), with a warning naming the class, the label and what is not computed', { timeout: 30_000 }, async () => {
  const { file, rows } = oneClassFile(dir);
  assert.ok(rows >= 20);
  const r = await runCli(['check-data', '--schema', HEART_SCHEMA, '--data', file]);
  assert.equal(r.code, 0, describeRun(r));
  assert.match(
    r.stdout,
    new RegExp(`warning: ${escape(file)}: all ${rows} training rows are of class 0 \\("num" > 0 is false in every row\\); the site trains.*own recalibration and its local-only baseline are reported as absent\\n`),
  );
  assert.equal(patternTable(r.stdout).size > 0, true);
  // A file of both classes says nothing of the kind.
  const both = await runCli(['check-data', '--schema', HEART_SCHEMA, '--data', HEART_FILES.cleveland!]);
  assert.doesNotMatch(both.stdout, /warning:/);
});

test('check-data accepts a column of one value in every row (age = 55.0), with a warning naming the file, column, value and rows', { timeout: 30_000 }, async () => {
  const file = withColumn(dir, 'cleveland', 'age', '55.0', 'age-constant');
  const r = await runCli(['check-data', '--schema', HEART_SCHEMA, '--data', file]);
  assert.equal(r.code, 0, describeRun(r));
  const warnings = r.stdout.split('\n').filter((l) => l.startsWith('warning:'));
  assert.deepEqual(warnings, [
    `warning: ${file}: column "age" holds one value, 55, in all 303 rows where it is observed: most likely an export default or a device's ` +
      'placeholder, not a measurement; the column then carries nothing at this site (fix the export, or list the value in the schema\'s ' +
      'missingCodes for "age" if it means missing)',
  ]);
  assert.equal(patternTable(r.stdout).get('1111111')?.[0], 297, 'the table as for Cleveland');
  // chol = 0 in every row is its declared missing code: the labs' chol is missing (a missing modality), not constant.
  const chol = await runCli(['check-data', '--schema', HEART_SCHEMA, '--data', withColumn(dir, 'cleveland', 'chol', '0', 'chol-zero')]);
  assert.equal(chol.code, 0, describeRun(chol));
  assert.doesNotMatch(chol.stdout, /warning:/);
});

test('check-data on a misnamed header names the missing column, the header found and a close match', { timeout: 30_000 }, async () => {
  // Schema without "columns": the header names them.
  const { data: file, schema } = misnamedHeader(dir);
  await assertRefused(
    ['--schema', schema, '--data', file],
    new RegExp(`${escape(file)}:1: header lacks column "chol" \\(did you mean "Chol"\\?\\) required by the schema; header found: "age", "sex", "cp", "trestbps", "Chol",`),
  );
  // Schema with "columns": a header line that does not match is named as such, not as bad numbers.
  await assertRefused(
    ['--schema', HEART_SCHEMA, '--data', file],
    new RegExp(`${escape(file)}:1: line 1 looks like a header but does not match the schema's "columns": "Chol" where "chol" was expected \\(position 5\\)`),
  );
});

test('check-data passes a file with the agreed header line (schema "columns")', { timeout: 30_000 }, async () => {
  const file = join(dir, 'with-header.csv');
  writeFileSync(file, [HEART_COLUMNS.join(','), readFileSync(HEART_FILES.va!, 'utf8')].join('\n'));
  const r = await runCli(['check-data', '--schema', HEART_SCHEMA, '--data', file]);
  assert.equal(r.code, 0, describeRun(r));
  assert.match(r.stdout, /: 200 rows, 7 missingness patterns, 149 positive\n/);
});

test('a label that stands apart from the rest (7 among grades 0-4) is refused under the stock schema too, naming the way to accept it', { timeout: 30_000 }, async () => {
  const file = withCell(dir, 'cleveland', 5, 'num', '7', 'label-seven-stock');
  await assertRefused(
    ['--schema', HEART_SCHEMA, '--data', file],
    new RegExp(`${escape(file)}:5: column "num" \\(label\\) value "7" stands apart from the file's other labels \\(0, 1, 2, 3, 4\\).*declare label.values in the schema if it is a real code`),
  );
  const clean = await runCli(['check-data', '--schema', HEART_SCHEMA, '--data', HEART_FILES.cleveland!], 30_000);
  assert.equal(clean.code, 0);
  assert.match(clean.stdout, /label values found: 0 \(\d+\), 1 \(\d+\), 2 \(\d+\), 3 \(\d+\), 4 \(\d+\); the outcome is "num" > 0/);
});

test('check-data accepts an undeclared missing-value code (chol = -999 in 21 rows), with a warning naming it and missingCodes', { timeout: 30_000 }, async () => {
  const lines = readFileSync(HEART_FILES.cleveland!, 'utf8').split('\n');
  const k = HEART_COLUMNS.indexOf('chol');
  const coded = lines.map((l, i) => (l && i % 15 === 0 ? l.split(',').map((f, j) => (j === k ? '-999' : f)).join(',') : l));
  const file = join(dir, 'chol-999.csv');
  writeFileSync(file, coded.join('\n'));
  const r = await runCli(['check-data', '--schema', HEART_SCHEMA, '--data', file]);
  assert.equal(r.code, 0, describeRun(r));
  const warnings = r.stdout.split('\n').filter((l) => l.startsWith('warning:'));
  assert.equal(warnings.length, 1, r.stdout);
  assert.match(
    warnings[0]!,
    new RegExp(`^warning: ${escape(file)}: column "chol" holds -999 in 21 of the 303 rows where it is observed, far from its other values \\(median [\\d.]+, robust SD [\\d.]+ without those rows; the nearest is 126\\), a usual code for "not measured": it looks like a missing-value code: declare it in the schema's missingCodes \\(or fix the export\\), e\\.g\\. "chol": \\["-999"\\]`),
  );
  // Declared, it is missing, not a value: nothing to say.
  const declared = heartSchemaWith(dir, (s) => ((s.missingCodes as Record<string, string[]>).chol!.push('-999')), 'chol-999-schema');
  const ok = await runCli(['check-data', '--schema', declared, '--data', file]);
  assert.equal(ok.code, 0, describeRun(ok));
  assert.doesNotMatch(ok.stdout, /warning:/);
});

test('check-data on a file of one class by its coding (0/1 under a threshold of 1) names the label values found', { timeout: 30_000 }, async () => {
  const schema = heartSchemaWith(dir, (s) => ((s.label as { threshold: number }).threshold = 1), 'threshold-1');
  const r = await runCli(['check-data', '--schema', schema, '--data', HEART_FILES.hungary!]);
  assert.equal(r.code, 0, describeRun(r));
  assert.match(
    r.stdout,
    /warning: .*: all 294 training rows are of class 0 \("num" > 1 is false in every row\); .*; the file's label values 0 \(188 rows\) and 1 \(106\) all read as class 0 under "num" > 1: the file's label coding may differ from the schema's/,
  );
  // Cleveland's grades 0-4 under the same schema: both classes, nothing said.
  const clev = await runCli(['check-data', '--schema', schema, '--data', HEART_FILES.cleveland!]);
  assert.doesNotMatch(clev.stdout, /warning:/);
});

test('check-data warns of a column the export wrote twice and of an identifier declared as a category, and goes on', { timeout: 30_000 }, async () => {
  const [trestbps, thalach] = [HEART_COLUMNS.indexOf('trestbps'), HEART_COLUMNS.indexOf('thalach')];
  // thalach written again in trestbps's place, and fbs holding a made-up patient number (declared categorical).
  const fbs = HEART_COLUMNS.indexOf('fbs');
  const lines = readFileSync(HEART_FILES.cleveland!, 'utf8').split('\n').map((l, i) => {
    if (l.trim() === '') return l;
    const f = l.split(',');
    f[trestbps] = f[thalach]!;
    f[fbs] = `P${10000 + i}`;
    return f.join(',');
  });
  const file = join(dir, 'twice.csv');
  writeFileSync(file, lines.join('\n'));
  const r = await runCli(['check-data', '--schema', HEART_SCHEMA, '--data', file]);
  assert.equal(r.code, 0, describeRun(r));
  const warnings = r.stdout.split('\n').filter((l) => l.startsWith('warning:'));
  assert.ok(warnings.some((w) => w.startsWith(`warning: ${file}: column "thalach" repeats column "trestbps" in every row`)), warnings.join('\n'));
  assert.ok(warnings.some((w) => w.startsWith(`warning: ${file}: categorical column "fbs" holds 303 distinct values in its 303 observed rows: an identifier`)), warnings.join('\n'));
});

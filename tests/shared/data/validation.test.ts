// Data that cannot poison: every bad cell is refused with a message naming the file,
// the line (as the user sees it, header counted), the column and the value.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compileSchema, loadSchema } from '../../../shared/data/schema.ts';
import { checkSiteRows, closeMatch, loadSiteTable, MIN_ROWS, parseSiteTable } from '../../../shared/data/table.ts';
import { CONSTANT_COLUMN_MIN_ROWS, constantColumnNotes, singleClassNote, singleClassOf, testSiteClassNote } from '../../../shared/data/site-notes.ts';
import { InputError } from '../../../shared/errors.ts';
import { prepareLocalData } from '../../../site-agent/local-data.ts';

const rawSchema = {
  label: { column: 'y', threshold: 0 },
  modalities: { a: ['x1', 'x2'], b: ['c', 'w'] },
  categorical: ['c', 'w'],
  missingValues: ['', 'NA'],
};
const schema = compileSchema(rawSchema, 'inline');

/** A clean file of `n` rows: x1 around 50, x2 in [0, 0.6], c a numeric code, w a word, y in {0, 1}. */
function rows(n = 30): string[][] {
  return Array.from({ length: n }, (_, i) => [String(50 + (i % 10)), String((i % 7) / 10), String(1 + (i % 3)), ['low', 'high'][i % 2]!, String(i % 2)]);
}
const HEADER = ['x1', 'x2', 'c', 'w', 'y'];
function text(body: string[][], header: string[] = HEADER): string {
  return [header, ...body].map((r) => r.join(',')).join('\n') + '\n';
}
/** The clean file with one cell replaced: data row `r` (0-based; its line is r + 2), column `col`. */
function withCell(r: number, col: string, value: string, s = schema): ReturnType<typeof parseSiteTable> {
  const body = rows();
  body[r]![HEADER.indexOf(col)] = value;
  return parseSiteTable(s, text(body), 'f.csv');
}
function refuses(fn: () => unknown, message: string | RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof InputError, `an InputError, got ${String(e)}`);
    if (typeof message === 'string') assert.equal(e.message, message);
    else assert.match(e.message, message);
    return true;
  });
}

test('a clean file parses', () => {
  const t = parseSiteTable(schema, text(rows()), 'f.csv');
  assert.equal(t.values.length, 30);
  assert.deepEqual(t.values[0], [50, 0, '1', 'low']);
  checkSiteRows(t);
});

// Numeric features: plain decimals only, |value| <= 1e15.
const badNumbers: [string, string][] = [
  ['0x1F', 'f.csv:5: column "x1" must be a number (a plain decimal such as 1.5, -2 or 3e2), found "0x1F"'],
  ['1_000', 'f.csv:5: column "x1" must be a number (a plain decimal such as 1.5, -2 or 3e2), found "1_000"'],
  ['Infinity', 'f.csv:5: column "x1" must be a number (a plain decimal such as 1.5, -2 or 3e2), found "Infinity"'],
  ['NaN', 'f.csv:5: column "x1" must be a number (a plain decimal such as 1.5, -2 or 3e2), found "NaN"'],
  ['"1,5"', 'f.csv:5: column "x1" must be a number (a plain decimal such as 1.5, -2 or 3e2), found "1,5"'],
  ['1e308', 'f.csv:5: column "x1" value "1e308" is out of range: |value| > 1e15'],
  ['-2e15', 'f.csv:5: column "x1" value "-2e15" is out of range: |value| > 1e15'],
  ['1e400', 'f.csv:5: column "x1" value "1e400" is out of range: |value| > 1e15'],
];
for (const [tok, msg] of badNumbers)
  test(`numeric feature refuses ${tok}`, () => refuses(() => withCell(3, 'x1', tok), msg));

test('a blank numeric cell is refused unless blank is a missing value', () => {
  const strict = compileSchema({ ...rawSchema, missingValues: ['NA'] }, 'inline');
  refuses(() => withCell(3, 'x1', '  ', strict), 'f.csv:5: column "x1" must be a number (a plain decimal such as 1.5, -2 or 3e2), found ""');
  assert.equal(withCell(3, 'x1', '  ').values[3]![0], null, '"" is a missing value in the default schema');
});

test('declared missing tokens are never parsed', () => {
  const s = compileSchema({ ...rawSchema, missingValues: ['NA', 'NaN'], missingCodes: { x1: ['-9'] } }, 'inline');
  assert.equal(withCell(3, 'x1', 'NaN', s).values[3]![0], null);
  assert.equal(withCell(3, 'x1', '-9', s).values[3]![0], null);
});

// The label: declared values, or by default a non-negative integer.
for (const tok of ['-1', '0.5', '1e-3', 'yes'])
  test(`label refuses ${tok} by default`, () =>
    // A word also says how to declare labels written as words.
    refuses(() => withCell(6, 'y', tok), new RegExp(`^f\\.csv:8: column "y" \\(label${tok === 'yes' ? '; written as words\\? declare label\\.positive and label\\.negative in the schema' : ''}\\) (must be a non-negative integer .*|must be a number .*), found "${tok.replace('.', '\\.')}"$`)));

test('label: the default rule accepts 0/1 and grades, thresholded as before; a lone code far above the rest is refused', () => {
  const t = withCell(6, 'y', '2');
  assert.equal(t.labels[6], 1);
  assert.equal(withCell(6, 'y', '1.0').labels[6], 1, '1.0 is the integer 1');
  refuses(
    () => withCell(6, 'y', '4'),
    'f.csv:8: column "y" (label) value "4" stands apart from the file\'s other labels (0, 1): a code in at most 1% of the rows and more than 1 above the rest is taken for an error; declare label.values in the schema if it is a real code',
  );
});

test('label: declared values refuse anything else, naming row, column and the allowed values', () => {
  const s = compileSchema({ ...rawSchema, label: { column: 'y', threshold: 0, values: [0, 1, 2, 3, 4] } }, 'inline');
  refuses(() => withCell(6, 'y', '7', s), 'f.csv:8: column "y" (label) value "7" is not an allowed label value (label.values: 0, 1, 2, 3, 4)');
  assert.equal(withCell(6, 'y', '3', s).labels[6], 1);
  const half = compileSchema({ ...rawSchema, label: { column: 'y', threshold: 0.25, values: [0, 0.5, 1] } }, 'inline');
  assert.equal(withCell(6, 'y', '0.5', half).labels[6], 1, 'declared values may be fractions');
});

test('label: a missing label is refused', () =>
  refuses(() => withCell(2, 'y', 'NA'), 'f.csv:4: column "y" (label) is missing ("NA"); every row needs a label'));

// Categories.
test('declared categories refuse a value outside them, naming the allowed values', () => {
  const s = compileSchema({ ...rawSchema, categories: { c: [1, 2, 3] } }, 'inline');
  refuses(() => withCell(9, 'c', '5', s), 'f.csv:11: column "c" value "5" is not one of its declared categories ("1", "2", "3")');
  refuses(() => withCell(9, 'c', '0x1', s), /^f\.csv:11: column "c" value "0x1" is not one of its declared categories/);
  assert.equal(withCell(9, 'c', '2.0', s).values[9]![2], '2', '"2.0" is the declared 2');
});

test('undeclared numeric-coded categorical column refuses a word such as banana', () =>
  refuses(
    () => withCell(4, 'c', 'banana'),
    'f.csv:6: column "c" value "banana" is not a numeric code, though 29 of the column\'s 30 values are; fix it, add it to missingValues, or declare "categories" for "c" in the schema',
  ));

for (const col of ['c', 'w'])
  test(`undeclared categorical column "${col}" refuses NaN and Infinity`, () => {
    refuses(() => withCell(4, col, 'NaN'), new RegExp(`^f\\.csv:6: column "${col}" value "NaN" is not a category but a non-finite number`));
    refuses(() => withCell(4, col, '-inf'), new RegExp(`^f\\.csv:6: column "${col}" value "-inf" is not a category`));
  });

test('undeclared categorical tokens must be short and printable', () => {
  refuses(() => withCell(4, 'w', 'x'.repeat(65)), `f.csv:6: column "w" value "${'x'.repeat(65)}" is not a category: longer than 64 characters`);
  refuses(() => withCell(4, 'w', 'x'.repeat(100)), /^f\.csv:6: column "w" value "x{77}\.\.\." is not a category: longer than 64 characters$/);
  refuses(() => withCell(4, 'w', 'lo\u0007w'), 'f.csv:6: column "w" value "lo\\u0007w" is not a category: it holds control or non-printable characters');
  assert.equal(withCell(4, 'w', 'x'.repeat(64)).values[4]![3], 'x'.repeat(64));
  assert.equal(withCell(4, 'w', 'très élevé').values[4]![3], 'très élevé', 'accented words are printable');
});

test('a word column keeps its words (and a numeric code among them)', () => {
  assert.equal(withCell(4, 'w', 'medium').values[4]![3], 'medium');
  assert.equal(withCell(4, 'w', '3').values[4]![3], '3');
});

// Ranges.
test('declared ranges refuse a value outside, naming row, column, value and range', () => {
  const s = compileSchema({ ...rawSchema, ranges: { x1: [0, 100] } }, 'inline');
  refuses(() => withCell(12, 'x1', '100.5', s), 'f.csv:14: column "x1" value "100.5" is outside its declared range [0, 100]');
  assert.equal(withCell(12, 'x1', '100', s).values[12]![0], 100, 'bounds are inclusive');
});

test('a declared range replaces the robust check', () => {
  const s = compileSchema({ ...rawSchema, ranges: { x1: [0, 1e6] } }, 'inline');
  assert.equal(withCell(12, 'x1', '900000', s).values[12]![0], 900000);
});

test('undeclared: a value beyond 50 robust SDs of the median is refused, naming the bound', () => {
  // x1 = 50..59 (three of each) with one value replaced: median 55; the MAD of the values
  // off the median, 3 * 1.4826, is the largest scale; bounds 55 -+ 222.39.
  refuses(
    () => withCell(12, 'x1', '300', schema),
    'f.csv:14: column "x1" value "300" is more than 50 robust SDs from the column\'s median (allowed [-167.39, 277.39]: median 55, robust SD 4.4478 by MAD of the values off the median); fix it, mark it missing, or declare "ranges" for "x1" in the schema',
  );
  assert.equal(withCell(12, 'x1', '277', schema).values[12]![0], 277, 'just inside the bound');
  refuses(() => withCell(12, 'x1', '-200', schema), /^f\.csv:14: column "x1" value "-200" is more than 50 robust SDs/);
});

test('robust check in a column piled up at its median: the spread of the other values sets the scale', () => {
  // 16 zeros, 13 ones and the 100: MAD 0, IQR 1 (0.74129); the values off the median: 1.4826; bounds 0 -+ 74.13.
  const body = rows().map((r, i) => {
    r[1] = i < 16 ? '0' : '1';
    return r;
  });
  body[20]![1] = '100';
  refuses(
    () => parseSiteTable(schema, text(body), 'f.csv'),
    /^f\.csv:22: column "x2" value "100" is more than 50 robust SDs .*\(allowed \[-74\.13, 74\.13\]: median 0, robust SD 1\.4826 by MAD of the values off the median\)/,
  );
  body[20]![1] = '74';
  assert.equal(parseSiteTable(schema, text(body), 'f.csv').values[20]![1], 74);
  // 29 zeros and one 3: a rare value, not an error.
  const sparse = rows().map((r, i) => {
    r[1] = i === 20 ? '3' : '0';
    return r;
  });
  assert.equal(parseSiteTable(schema, text(sparse), 'f.csv').values[20]![1], 3);
});

test('a column of fewer than 20 observed values gets only the |value| limit and declared ranges', () => {
  const body = rows().map((r, i) => {
    if (i >= 19) r[0] = 'NA';
    return r;
  });
  body[5]![0] = '1e12';
  assert.equal(parseSiteTable(schema, text(body), 'f.csv').values[5]![0], 1e12);
  body[6]![0] = '55';
  body.push(['50', '0', '1', 'low', '0']);
  refuses(() => parseSiteTable(schema, text(body), 'f.csv'), /^f\.csv:7: column "x1" value "1e12" is more than 50 robust SDs/);
});

// Rows and classes.
test('checkSiteRows: fewer than MIN_ROWS rows is refused, with the minimum named', () => {
  assert.equal(MIN_ROWS, 20);
  const t = parseSiteTable(schema, text(rows(19)), 'f.csv');
  refuses(() => checkSiteRows(t), 'f.csv: 19 data rows, fewer than the minimum row count of 20 a site needs to train and be evaluated');
  checkSiteRows(t, { minRows: 19 });
  refuses(() => checkSiteRows(parseSiteTable(schema, text(rows(1)), 'f.csv'), { minRows: 5 }), /^f\.csv: 1 data row, fewer than the minimum row count of 5/);
  checkSiteRows(parseSiteTable(schema, text(rows(20)), 'f.csv'));
});

test('checkSiteRows: one class only is allowed; singleClassNote names the class, the outcome and what is not computed', () => {
  const body = rows().map((r) => {
    r[4] = '2';
    return r;
  });
  const t = parseSiteTable(schema, text(body), 'f.csv');
  checkSiteRows(t, { label: '"y" > 0' });
  assert.equal(singleClassOf(t.labels), 1);
  assert.equal(
    singleClassNote('site "s"', t.labels, { label: '"y" > 0' }),
    'site "s": all 30 training rows are of class 1 ("y" > 0 is true in every row); the site trains and its rows count in the ' +
      "federation's model, but what needs both classes in its training rows is not computed: its own recalibration and its " +
      'local-only baseline are reported as absent',
  );
  assert.match(singleClassNote('f.csv', new Uint8Array(30), { heldOut: new Uint8Array(9) })!, /^f\.csv: all 30 training rows are of class 0; .*; its held-out rows hold one class too, so their AUROC and balanced accuracy are absent/);
  assert.equal(singleClassNote('f.csv', Uint8Array.of(0, 1, 1)), undefined);
  assert.equal(singleClassOf([]), undefined);
});

test('testSiteClassNote: a test-only site of one class names the site, the class, the rows and the metrics left undefined', () => {
  assert.equal(
    testSiteClassNote('test site "va0" (f.csv)', new Uint8Array(40), { label: '"y" > 0' }),
    'test site "va0" (f.csv): all 40 test rows are of class 0 ("y" > 0 is false in every row); its AUROC and balanced accuracy are ' +
      'undefined there (null in the results): they need rows of both classes; its accuracy and ECE are reported',
  );
  assert.match(testSiteClassNote('t', Uint8Array.of(1, 1))!, /^t: all 2 test rows are of class 1; /);
  assert.equal(testSiteClassNote('t', Uint8Array.of(0, 1)), undefined);
});

test('constantColumnNotes: one value in every observed row (at least CONSTANT_COLUMN_MIN_ROWS) is named with its file, column, value and rows', () => {
  assert.equal(CONSTANT_COLUMN_MIN_ROWS, 20);
  assert.deepEqual(constantColumnNotes('f.csv', parseSiteTable(schema, text(rows()), 'f.csv')), [], 'a clean file says nothing');
  // x1 written 55.0 and 55 (one number), missing in two rows; the word column "w" one category throughout.
  const body = rows().map((r, i) => {
    r[0] = i < 2 ? 'NA' : i % 2 ? '55.0' : '55';
    r[3] = 'low';
    return r;
  });
  const notes = constantColumnNotes('site "s" (f.csv)', parseSiteTable(schema, text(body), 'f.csv'));
  assert.deepEqual(notes, [
    'site "s" (f.csv): column "x1" holds one value, 55, in all 28 rows where it is observed (missing in the other 2): most likely an ' +
      "export default or a device's placeholder, not a measurement; the column then carries nothing at this site (fix the export, " +
      'or list the value in the schema\'s missingCodes for "x1" if it means missing)',
    'site "s" (f.csv): column "w" holds one value, "low", in all 30 rows where it is observed: most likely an ' +
      "export default or a device's placeholder, not a measurement; the column then carries nothing at this site (fix the export, " +
      'or list the value in the schema\'s missingCodes for "w" if it means missing)',
  ]);
  // Observed in fewer rows than the minimum: one value may be chance.
  const few = rows().map((r, i) => ((r[0] = i < 30 - (CONSTANT_COLUMN_MIN_ROWS - 1) ? 'NA' : '55'), r));
  assert.deepEqual(constantColumnNotes('f.csv', parseSiteTable(schema, text(few), 'f.csv')), []);
});

test('constantColumnNotes: a column whose only value is a declared missing code is missing (a missing modality), not constant', () => {
  const coded = compileSchema({ ...rawSchema, missingCodes: { x1: ['0', '0.0'] } }, 'inline');
  const body = rows().map((r) => ((r[0] = '0'), r));
  const t = parseSiteTable(coded, text(body), 'f.csv');
  assert.ok(t.values.every((v) => v[0] === null));
  assert.deepEqual(constantColumnNotes('f.csv', t), []);
  // Without the code, the same 0s are a value: warned.
  assert.match(constantColumnNotes('f.csv', parseSiteTable(schema, text(body), 'f.csv')).join('\n'), /^f\.csv: column "x1" holds one value, 0, in all 30 rows/);
});

// Headers.
test('a misnamed header column is named, with the header found and a close match', () => {
  refuses(
    () => parseSiteTable(schema, text(rows(), ['X1', 'x2', 'c', 'w', 'y']), 'f.csv'),
    'f.csv:1: header lacks column "x1" (did you mean "X1"?) required by the schema; header found: "X1", "x2", "c", "w", "y"',
  );
  refuses(
    () => parseSiteTable(schema, text(rows(), ['x_1', 'x2', 'c', 'ww', 'label']), 'f.csv'),
    'f.csv:1: header lacks columns "x1" (did you mean "x_1"?), "w" (did you mean "ww"?), "y" required by the schema; header found: "x_1", "x2", "c", "ww", "label"',
  );
});

test('a header separated by semicolons says so', () =>
  refuses(
    () => parseSiteTable(schema, 'x1;x2;c;w;y\n1;2;3;a;0\n', 'f.csv'),
    'f.csv:1: header lacks columns "x1", "x2", "c", "w", "y" required by the schema; header found: "x1;x2;c;w;y"; the file looks semicolon-separated; fedcausal reads comma-separated CSV (export with "," as the separator and "." as the decimal mark)',
  ));

test('a header naming a schema column twice is refused', () =>
  refuses(() => parseSiteTable(schema, text(rows(), ['x1', 'x2', 'c', 'x1', 'w', 'y']), 'f.csv'), /^f\.csv:1: header names column "x1" more than once$/));

test('with schema "columns", a header line that does not match is reported as a header', () => {
  const s = compileSchema({ ...rawSchema, columns: HEADER }, 'inline');
  assert.equal(parseSiteTable(s, text(rows()), 'f.csv').values.length, 30, 'a matching header is skipped');
  assert.equal(parseSiteTable(s, text(rows()).split('\n').slice(1).join('\n'), 'f.csv').values.length, 30, 'no header');
  refuses(
    () => parseSiteTable(s, text(rows(), ['x1', 'x2', 'C', 'w', 'y']), 'f.csv'),
    'f.csv:1: line 1 looks like a header but does not match the schema\'s "columns": "C" where "c" was expected (position 3); header found: "x1", "x2", "C", "w", "y"',
  );
  // Every column named once, in another order (and a column of the export's own beside them): read by the names, as predict reads it.
  const plain = parseSiteTable(s, text(rows()), 'f.csv');
  const [head, ...body] = text(rows()).trimEnd().split('\n');
  const order = [4, 2, 0, 3, 1];
  const permuted = [['id', ...order.map((i) => head!.split(',')[i])].join(','), ...body.map((l, r) => [`r${r}`, ...order.map((i) => l.split(',')[i])].join(','))].join('\n');
  const byName = parseSiteTable(s, permuted, 'f.csv');
  assert.deepEqual(byName.values, plain.values);
  assert.deepEqual([...byName.labels], [...plain.labels]);
  // Such a header with a name misspelt, twice or missing is said by name, not position by position.
  const spoilt = (from: string, to: string) => permuted.replace(/^[^\n]*/, (h) => h.replace(from, to));
  refuses(() => parseSiteTable(s, spoilt(',c,', ',cc,'), 'f.csv'), /^f\.csv:1: header lacks column "c" \(did you mean "cc"\?\) required by the schema/);
  refuses(() => parseSiteTable(s, spoilt(',c,', ',x1,'), 'f.csv'), /^f\.csv:1: header lacks column "c" required by the schema/);
  refuses(() => parseSiteTable(s, spoilt('y,', 'id2,'), 'f.csv'), /^f\.csv:1: header lacks column "y" required by the schema/);
});

test('closeMatch: case, blanks and punctuation, or a typo or two', () => {
  assert.equal(closeMatch('chol', ['age', 'Chol', 'num']), 'Chol');
  assert.equal(closeMatch('chol', ['chol_']), 'chol_');
  assert.equal(closeMatch('thalach', ['thalac', 'age']), 'thalac');
  assert.equal(closeMatch('chol', ['cholesterol']), undefined);
  assert.equal(closeMatch('ca', ['cp']), 'cp');
  assert.equal(closeMatch('age', ['sex', 'num']), undefined);
});

// At a site: site start loads its file with loadSiteTable and splits it with prepareLocalData.
const HEART = new URL('../../../../shared/data/heart-disease/', import.meta.url).pathname;

test('at a site: the four heart-disease files load and are fit to train on', () => {
  const s = loadSchema(HEART + 'schema.json');
  for (const site of ['cleveland', 'hungarian', 'switzerland', 'va']) {
    const t = loadSiteTable(s, `${HEART}processed.${site}.data`);
    checkSiteRows(t);
    prepareLocalData(t, { testFraction: 0.3, seed: 1 });
  }
});

test('at a site: 1e308 in one hospital\'s file stops the site before it sends anything', () => {
  const dir = mkdtempSync(join(tmpdir(), 'fedcausal-poison-'));
  try {
    const lines = readFileSync(`${HEART}processed.hungarian.data`, 'utf8').split('\n');
    const f = lines[2]!.split(',');
    f[4] = '1e308';
    lines[2] = f.join(',');
    const file = join(dir, 'hungarian.csv');
    writeFileSync(file, lines.join('\n'));
    refuses(() => loadSiteTable(loadSchema(HEART + 'schema.json'), file), `${file}:3: column "chol" value "1e308" is out of range: |value| > 1e15`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('at a site: prepareLocalData refuses a training file too small or of one class, not a test-only or holdout file', () => {
  const small = parseSiteTable(schema, text(rows(10)), 'small.csv');
  refuses(
    () => prepareLocalData(small, { testFraction: 0.3, seed: 1 }),
    /^small\.csv: 6 rows to train on \(10 rows in the file, a share of 0\.3 held out for testing\), fewer than the minimum of 20 \(site\.yaml: minTrainingRows\)/,
  );
  // Counted after the split: 30 rows leave 20 to train on (the default minimum), a minimum of 21 refuses them.
  const thirty = parseSiteTable(schema, text(rows(30)), 'thirty.csv');
  prepareLocalData(thirty, { testFraction: 0.3, seed: 1 });
  refuses(() => prepareLocalData(thirty, { testFraction: 0.3, seed: 1, minTrainingRows: 21, minTrainingRowsSetting: '--min-training-rows' }), /^thirty\.csv: 20 rows to train on .*minimum of 21 \(--min-training-rows\)/);
  prepareLocalData(small, { testFraction: 0.3, seed: 1, minTrainingRows: 6 });
  prepareLocalData(small, { testFraction: 0.3, seed: 1, testOnly: true });
  const big = parseSiteTable(schema, text(rows(40)), 'big.csv');
  assert.equal(prepareLocalData(big, { testFraction: 0.3, seed: 1, holdout: small }).test.values.length, 10);
});

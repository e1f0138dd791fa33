import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CsvReader, parseCsv, separatorHint } from '../../../shared/data/csv.ts';
import { compileSchema } from '../../../shared/data/schema.ts';
import { parseSiteTable } from '../../../shared/data/table.ts';
import { InputError } from '../../../shared/errors.ts';

/** Records as [line, ...fields], the shape the assertions read best in. */
const rows = (text: string) => parseCsv(text, 'f.csv').map((r) => [r.line, ...r.fields]);

test('plain rows: fields split on commas, blanks around unquoted fields trimmed, empty fields kept', () => {
  assert.deepEqual(rows('a,b,c\n1, 2 ,\n,,x'), [
    [1, 'a', 'b', 'c'],
    [2, '1', '2', ''],
    [3, '', '', 'x'],
  ]);
});

test('quoted fields keep commas and newlines; a doubled quote is one quote; blanks at the ends are trimmed as elsewhere', () => {
  assert.deepEqual(rows('"a,b"," padded ","say ""hi"""\n"line 1\nline 2",x\n'), [
    [1, 'a,b', 'padded', 'say "hi"'],
    [2, 'line 1\nline 2', 'x'],
  ]);
  assert.deepEqual(rows('""""\n"",""'), [[1, '"'], [2, '', '']]);
  // A quote inside an unquoted field is an ordinary character.
  assert.deepEqual(rows('5" tall,x'), [[1, '5" tall', 'x']]);
});

test('CRLF, LF and a lone CR all end a record; CRLF inside quotes stays in the field', () => {
  assert.deepEqual(rows('a,b\r\n1,2\r\n'), [[1, 'a', 'b'], [2, '1', '2']]);
  assert.deepEqual(rows('a\r1\n2'), [[1, 'a'], [2, '1'], [3, '2']]);
  assert.deepEqual(rows('"x\r\ny",1\r\nz,2'), [[1, 'x\r\ny', '1'], [3, 'z', '2']]);
});

test('a byte-order mark is dropped, before an unquoted or a quoted first field', () => {
  assert.deepEqual(rows('\uFEFFage,num\n1,0\n'), [[1, 'age', 'num'], [2, '1', '0']]);
  assert.deepEqual(rows('\uFEFF"age","num"\r\n1,0\r\n'), [[1, 'age', 'num'], [2, '1', '0']]);
});

test('blank lines are skipped but counted, so later records keep their line in the file', () => {
  assert.deepEqual(rows('\n\na,b\n\r\n\n1,2\n   \n3,4'), [
    [3, 'a', 'b'],
    [6, '1', '2'],
    [8, '3', '4'],
  ]);
  assert.deepEqual(rows(''), []);
  assert.deepEqual(rows('\n\r\n\n'), []);
  // A line of commas is a record of empty fields, not a blank line.
  assert.deepEqual(rows(',\n'), [[1, '', '']]);
});

test('a trailing newline adds no record; its absence loses none', () => {
  assert.deepEqual(rows('a\n1\n'), rows('a\n1'));
  assert.deepEqual(rows('a\r\n1\r\n'), rows('a\n1'));
  assert.deepEqual(rows('a\n1\n'), [[1, 'a'], [2, '1']]);
});

test('an unterminated quote is bad input naming the file and the line where the field began', () => {
  assert.throws(
    () => parseCsv('a,b\n1,"open\n2,3\n', 'site.csv'),
    (e: unknown) => e instanceof InputError && e.message === 'site.csv:2: unterminated quoted field',
  );
});

const schema = compileSchema({ label: { column: 'y', threshold: 0 }, modalities: { a: ['x1', 'x2'] }, missingValues: ['NA'] }, 'inline');

test('a ragged row is bad input naming the file line and both field counts', () => {
  // Line 4: the blank line 3 is counted, as an editor shows it.
  const short = 'x1,x2,y\n1,2,0\n\n3,1\n';
  assert.throws(
    () => parseSiteTable(schema, short, 'site.csv'),
    (e: unknown) => e instanceof InputError && e.message === 'site.csv:4: expected 3 fields, found 2',
  );
  const long = 'x1,x2,y\r\n1,2,0\r\n3,4,1,9\r\n';
  assert.throws(
    () => parseSiteTable(schema, long, 'site.csv'),
    (e: unknown) => e instanceof InputError && e.message === 'site.csv:3: expected 3 fields, found 4',
  );
});

test('a BOM-prefixed export with a quoted header and CRLF loads like the plain file', () => {
  const plain = parseSiteTable(schema, 'x1,x2,y\n1,2,0\n3,NA,1\n', 'site.csv');
  const excel = parseSiteTable(schema, '\uFEFF"x1","x2","y"\r\n1,2,0\r\n3,NA,1\r\n', 'site.csv');
  assert.deepEqual(excel.values, plain.values);
  assert.deepEqual(excel.labels, plain.labels);
  assert.deepEqual(excel.lines, [2, 3]);
});

const SEMICOLON_HINT =
  '; the file looks semicolon-separated; fedcausal reads comma-separated CSV (export with "," as the separator and "." as the decimal mark)';

test('a semicolon-separated file: the field count error says how to export it', () => {
  // The heart-disease schema names its columns (no header line): the first row is the first record.
  const headerless = compileSchema({ columns: ['x1', 'x2', 'y'], label: { column: 'y', threshold: 0 }, modalities: { a: ['x1', 'x2'] }, missingValues: ['NA'] }, 'inline');
  assert.throws(
    () => parseSiteTable(headerless, '1;2;0\n3;4;1\n', 'data/semi.csv'),
    (e: unknown) => e instanceof InputError && e.message === `data/semi.csv:1: expected 3 fields, found 1${SEMICOLON_HINT}`,
  );
  // Decimal commas split such a row in two: splitting on ";" instead gives the count.
  assert.throws(
    () => parseSiteTable(headerless, '1,5;2;0\n', 'data/semi.csv'),
    (e: unknown) => e instanceof InputError && e.message === `data/semi.csv:1: expected 3 fields, found 2${SEMICOLON_HINT}`,
  );
  // A header line of one field, under a schema without "columns": the same hint.
  assert.throws(
    () => parseSiteTable(schema, 'x1;x2;y\n1;2;0\n', 'data/semi.csv'),
    (e: unknown) => e instanceof InputError && e.message.endsWith(`header found: "x1;x2;y"${SEMICOLON_HINT}`),
  );
});

test('separatorHint: tabs too, and nothing for a row that is merely short', () => {
  assert.match(separatorHint(['1\t2\t0']), /^; the file looks tab-separated; fedcausal reads comma-separated CSV/);
  assert.equal(separatorHint(['1', '2'], 3), '', 'a short comma-separated row');
  assert.equal(separatorHint(['a;b', '2'], 3), '', 'a ";" inside one of several fields, the count not explained by it');
});

test('read in pieces, cut anywhere (inside quotes, between CR and LF, in a byte-order mark\'s record), the records and their lines are the whole text\'s', () => {
  const texts = [
    '\uFEFF"age","num"\r\n1,"a\r\nb"\r\n\r\n"say ""hi""",2\r\n3,4',
    'a,b\n\n"x\ny",1\r\n   \nz,"2"\n5" tall,\n',
    'a\r1\r\r2\n',
  ];
  for (const text of texts) {
    const whole = parseCsv(text, 'f.csv');
    for (let cut = 0; cut <= text.length; cut++)
      for (const second of [cut, Math.min(text.length, cut + 1), Math.min(text.length, cut + 3)]) {
        const r = new CsvReader('f.csv');
        const got = [...r.push(text.slice(0, cut)), ...r.push(text.slice(cut, second)), ...r.end(text.slice(second))];
        assert.deepEqual(got, whole, `${JSON.stringify(text)} cut at ${cut} and ${second}`);
      }
  }
});

test('read in pieces, an unterminated quote is refused only at the end, at the line where the field began', () => {
  const r = new CsvReader('site.csv');
  assert.deepEqual(r.push('a,b\n1,"open\n2,3\n'), [{ line: 1, fields: ['a', 'b'] }]);
  assert.throws(() => r.end(), (e: unknown) => e instanceof InputError && e.message === 'site.csv:2: unterminated quoted field');
});

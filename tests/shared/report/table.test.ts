import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatTable, markdownTable } from '../../../shared/report/table.ts';

const headers = ['site', 'n', 'auroc'];
const rows: (string | number)[][] = [
  ['cleveland', 61, 0.8712],
  ['va', 20, NaN],
  ['hungary', 59, 0.5],
];

test('formatTable: text left, numbers right with fixed decimals, NaN as "-"', () => {
  assert.equal(
    formatTable(headers, rows),
    [
      'site        n  auroc',
      '---------  --  -----',
      'cleveland  61  0.871',
      'va         20      -',
      'hungary    59  0.500',
      '',
    ].join('\n'),
  );
});

test('formatTable: every line has the same column boundaries', () => {
  const out = formatTable(['a', 'metric value'], [['x', 1.5], ['longer name', -0.25]], { decimals: 2 });
  const lines = out.trimEnd().split('\n');
  assert.deepEqual(lines.map((l) => l.length), [lines[1]!.length, lines[1]!.length, lines[1]!.length, lines[1]!.length]);
  assert.ok(lines[2]!.endsWith(' 1.50') && lines[3]!.endsWith('-0.25'));
  assert.ok(lines[2]!.startsWith('x           ') && lines[3]!.startsWith('longer name '));
});

test('formatTable: decimals and align options; -0 and infinities read sensibly', () => {
  const out = formatTable(['name', 'v'], [['a', -0.0001], ['b', Infinity], ['c', 2.25]], {
    decimals: 1,
    align: ['right', 'left'],
  });
  assert.equal(out, ['name  v', '----  ---', '   a  0.0', '   b  inf', '   c  2.3', ''].join('\n'));
});

test('formatTable: integer-only columns print as integers; mixed columns do not', () => {
  const out = formatTable(['n', 'x'], [[3, 1], [12, 0.5]]);
  assert.equal(out, [' n      x', '--  -----', ' 3  1.000', '12  0.500', ''].join('\n'));
});

test('formatTable: a row of the wrong length is named', () => {
  assert.throws(() => formatTable(['a', 'b'], [['x', 1], ['y']]), /row 1 has 1 cells but there are 2 headers/);
  assert.throws(() => formatTable(['a'], [['x']], { align: ['left', 'right'] }), /align has 2/);
  assert.throws(() => formatTable(['a'], [['x']], { decimals: -1 }), /decimals/);
});

test('markdownTable: aligned GitHub table with alignment markers and escaped pipes', () => {
  assert.equal(
    markdownTable(['site', 'n', 'auroc'], [['a|b', 61, 0.8712], ['va', 20, NaN]]),
    [
      '| site |   n | auroc |',
      '| :--- | --: | ----: |',
      '| a\\|b |  61 | 0.871 |',
      '| va   |  20 |     - |',
      '',
    ].join('\n'),
  );
});

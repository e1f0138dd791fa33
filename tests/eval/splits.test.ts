import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { compileSchema } from '../../shared/data/schema.ts';
import { completeRows, concatText, exactStratifiedSplit, flambySplit, readRawSiteFile, splitSeed, subsetText } from '../../eval/splits.ts';

const labels = (n: number, pos: number) => Array.from({ length: n }, (_, i) => (i < pos ? 1 : 0));

describe('exactStratifiedSplit', () => {
  it("reproduces FLamby's per-centre test counts (ceil(0.34 n))", () => {
    // Rows and positives per centre after FLamby's preparation: test rows 104, 89, 16, 45.
    const centres: [number, number, number][] = [
      [303, 139, 104],
      [261, 98, 89],
      [46, 45, 16],
      [130, 101, 45],
    ];
    for (const [n, pos, want] of centres) {
      const s = exactStratifiedSplit(labels(n, pos), 0.34, 7);
      assert.equal(s.test.length, want, `n=${n}`);
      assert.equal(s.train.length + s.test.length, n);
    }
  });

  it('keeps each class near its share and never splits a row twice', () => {
    const y = labels(303, 139);
    const s = exactStratifiedSplit(y, 0.34, 3);
    const testPos = s.test.filter((i) => y[i] === 1).length;
    assert.ok(Math.abs(testPos - 139 * (104 / 303)) < 1, `positives in test: ${testPos}`);
    const all = [...s.train, ...s.test].sort((a, b) => a - b);
    assert.deepEqual(all, Array.from({ length: 303 }, (_, i) => i));
  });

  it('is deterministic per seed and differs across seeds', () => {
    const y = labels(100, 40);
    assert.deepEqual(exactStratifiedSplit(y, 0.3, 5), exactStratifiedSplit(y, 0.3, 5));
    assert.notDeepEqual(exactStratifiedSplit(y, 0.3, 5).test, exactStratifiedSplit(y, 0.3, 6).test);
  });

  it('rejects a fraction outside (0, 1)', () => {
    assert.throws(() => exactStratifiedSplit(labels(10, 5), 1, 1), /test fraction must be in \(0, 1\), got 1/);
  });
});

describe('flambySplit', () => {
  it('stratifies a centre whose classes both have more than 2 rows', () => {
    const y = labels(303, 139);
    const s = flambySplit(y, 0.34, 3);
    assert.equal(s.stratified, true);
    assert.deepEqual({ train: s.train, test: s.test }, exactStratifiedSplit(y, 0.34, 3));
  });

  it("shuffles without strata where a class has 2 or fewer rows (Switzerland: one negative in 46), as FLamby's dataset.py", () => {
    const y = labels(46, 45);
    const negative = 45;
    let inTest = 0;
    const seeds = 300;
    for (let seed = 0; seed < seeds; seed++) {
      const s = flambySplit(y, 0.34, seed);
      assert.equal(s.stratified, false);
      assert.equal(s.test.length, 16);
      assert.deepEqual([...s.train, ...s.test].sort((a, b) => a - b), Array.from({ length: 46 }, (_, i) => i));
      if (s.test.includes(negative)) inTest++;
    }
    // A stratified split would keep the one negative in train on every seed; here it falls in test about 16/46 of the time.
    const share = inTest / seeds;
    assert.ok(share > 0.25 && share < 0.45, `negative in the test part on ${inTest} of ${seeds} seeds`);
    assert.equal(flambySplit(labels(46, 44), 0.34, 1).stratified, false, 'two rows of a class: still unstratified');
    assert.equal(flambySplit(labels(46, 43), 0.34, 1).stratified, true, 'three rows of each class: stratified');
  });
});

describe('split files', () => {
  const dir = mkdtempSync(join(tmpdir(), 'fedcausal-eval-test-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const schemaRaw = { label: { column: 'y', threshold: 0 }, modalities: { a: ['x1'], b: ['x2'] } };

  it('keeps the header and the rows byte for byte', () => {
    const path = join(dir, 'h.csv');
    writeFileSync(path, 'x1,x2,y\n1.50,?,1\n\n.7,2,0\n3,4,1\n');
    const f = readRawSiteFile(compileSchema(schemaRaw, 'schema'), path);
    assert.equal(f.header, 'x1,x2,y');
    assert.deepEqual(f.rows, ['1.50,?,1', '.7,2,0', '3,4,1']);
    assert.deepEqual([...f.labels], [1, 0, 1]);
    assert.equal(subsetText(f, [2, 0]), 'x1,x2,y\n3,4,1\n1.50,?,1\n');
  });

  it('writes no header for a file without one (the schema lists the columns)', () => {
    const path = join(dir, 'n.csv');
    writeFileSync(path, '1,2,0\n3,4,2\n');
    const f = readRawSiteFile(compileSchema({ ...schemaRaw, columns: ['x1', 'x2', 'y'] }, 'schema'), path);
    assert.equal(f.header, undefined);
    assert.equal(subsetText(f, [1]), '3,4,2\n');
    assert.deepEqual([...f.labels], [0, 1]);
  });

  it('names a row index outside the file', () => {
    assert.throws(() => subsetText({ rows: ['a'] }, [1]), /row index 1 is outside the 1 rows/);
  });

  it('pools files under one header and refuses differing headers', () => {
    const a = { path: 'a.csv', header: 'x,y', rows: ['1,0'] };
    const b = { path: 'b.csv', header: 'x,y', rows: ['2,1', '3,0'] };
    assert.equal(concatText([a, b]), 'x,y\n1,0\n2,1\n3,0\n');
    assert.throws(() => concatText([a, { ...b, header: 'y,x' }]), /cannot pool b\.csv: its header differs from a\.csv's/);
  });
});

describe('completeRows', () => {
  it('drops a row only for a missing token in the columns asked about', () => {
    const file = { rows: ['1,?,3', '?,2,3', '1,2,3', '1, ,3'] };
    assert.deepEqual(completeRows(file, [0, 2], new Set(['?'])), [0, 2, 3]);
    assert.deepEqual(completeRows(file, [1], new Set(['?', ''])), [1, 2]);
  });
});

describe('splitSeed', () => {
  it('is stable and depends on both the seed and the site', () => {
    assert.equal(splitSeed(1, 'va'), splitSeed(1, 'va'));
    assert.notEqual(splitSeed(1, 'va'), splitSeed(2, 'va'));
    assert.notEqual(splitSeed(1, 'va'), splitSeed(1, 'hungary'));
  });
});

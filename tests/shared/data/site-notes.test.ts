// The start warnings of shared/data/site-notes.ts: few held-out rows of a class make a
// site's AUROC wide (Hanley and McNeil's standard error); a one-class file may be the label coding's.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { aurocStandardError, FEW_CLASS_ROWS, fewHeldOutRowsNote, labelCodingPhrase, singleClassNote } from '../../../shared/data/site-notes.ts';

const labels = (ones: number, zeros: number) => [...Array<number>(ones).fill(1), ...Array<number>(zeros).fill(0)];

test('the standard error of an AUROC, by hand for one case and falling with more rows', () => {
  // A = 0.75, n1 = 2, n0 = 35: Q1 = 0.75 / 1.25 = 0.6, Q2 = 2 * 0.5625 / 1.75 = 0.642857...
  const byHand = Math.sqrt((0.75 * 0.25 + 1 * (0.6 - 0.5625) + 34 * (0.642857142857 - 0.5625)) / 70);
  assert.ok(Math.abs(aurocStandardError(0.75, 2, 35) - byHand) < 1e-9);
  assert.ok(aurocStandardError(0.75, 50, 50) < aurocStandardError(0.75, 5, 50));
});

test('few held-out rows of a class are warned of with the spread, one class as undefined figures; enough rows are not', () => {
  const note = fewHeldOutRowsNote('site "switzerland"', labels(35, 2));
  assert.match(note ?? '', /^site "switzerland": its 37 held-out rows hold 35 of class 1 and 2 of class 0, so its AUROC rests on 70 pairs: one standard error is about 0\.15 at an AUROC of 0\.75/);
  assert.equal(fewHeldOutRowsNote('s', labels(FEW_CLASS_ROWS, 40)), undefined);
  assert.ok(fewHeldOutRowsNote('s', labels(FEW_CLASS_ROWS - 1, 40)));
  assert.match(fewHeldOutRowsNote('s', labels(0, 40)) ?? '', /^s: all 40 held-out rows are of class 0; its AUROC and balanced accuracy are undefined there \(null in the results\)/);
  assert.equal(fewHeldOutRowsNote('s', []), undefined);
});

test('a one-class file whose label values all read as that class under the schema says its label coding may differ', () => {
  const label = { column: 'num', threshold: 1 };
  const values = new Map([[0, 188], [1, 106]]);
  const note = singleClassNote('site "hungary"', new Uint8Array(294), { label: '"num" > 1', coding: { values, label } });
  assert.match(
    note ?? '',
    /; the file's label values 0 \(188 rows\) and 1 \(106\) all read as class 0 under "num" > 1: the file's label coding may differ from the schema's \(check label\.threshold/,
  );
  assert.equal(labelCodingPhrase(new Map([[0, 5], [1, 3], [2, 4]]), label), '', 'values on both sides: the coding is not in question');
  assert.equal(labelCodingPhrase(new Map([[0, 5]]), label), '', 'one raw value says nothing of the coding');
  assert.match(labelCodingPhrase(new Map([[1, 5], [2, 3]]), { column: 'num', threshold: 0 }), /values 1 \(5 rows\) and 2 \(3\) all read as class 1 under "num" > 0/);
  assert.equal(labelCodingPhrase(new Map([[2, 5], [3, 1], [4, 2]]), label), '', 'grades, all above the threshold: a referral clinic, not a coding');
  assert.doesNotMatch(singleClassNote('s', new Uint8Array(30), { coding: { values: new Map([[0, 30]]), label } })!, /label coding/);
});

// The held-out rows' warning (shared/data/site-notes.ts): few rows of a class make a
// site's AUROC wide, and the warning says how wide (Hanley and McNeil's standard error).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { aurocStandardError, FEW_CLASS_ROWS, fewHeldOutRowsNote } from '../../../shared/data/site-notes.ts';

const labels = (ones: number, zeros: number) => [...Array<number>(ones).fill(1), ...Array<number>(zeros).fill(0)];

test('the standard error of an AUROC, by hand for one case and falling with more rows', () => {
  // A = 0.75, n1 = 2, n0 = 35: Q1 = 0.75 / 1.25 = 0.6, Q2 = 2 * 0.5625 / 1.75 = 0.642857...
  const byHand = Math.sqrt((0.75 * 0.25 + 1 * (0.6 - 0.5625) + 34 * (0.642857142857 - 0.5625)) / 70);
  assert.ok(Math.abs(aurocStandardError(0.75, 2, 35) - byHand) < 1e-9);
  assert.ok(aurocStandardError(0.75, 50, 50) < aurocStandardError(0.75, 5, 50));
});

test('few held-out rows of a class are warned of with the spread; enough rows, or one class, are not', () => {
  const note = fewHeldOutRowsNote('site "switzerland"', labels(35, 2));
  assert.match(note ?? '', /^site "switzerland": its 37 held-out rows hold 35 of class 1 and 2 of class 0, so its AUROC rests on 70 pairs: one standard error is about 0\.15 at an AUROC of 0\.75/);
  assert.equal(fewHeldOutRowsNote('s', labels(FEW_CLASS_ROWS, 40)), undefined);
  assert.ok(fewHeldOutRowsNote('s', labels(FEW_CLASS_ROWS - 1, 40)));
  assert.equal(fewHeldOutRowsNote('s', labels(0, 40)), undefined, 'one class: the AUROC is undefined, said elsewhere');
  assert.equal(fewHeldOutRowsNote('s', []), undefined);
});

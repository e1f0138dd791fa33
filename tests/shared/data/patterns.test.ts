import assert from 'node:assert/strict';
import { test } from 'node:test';
import { patternLabelAuroc, patternLabelDependence } from '../../../shared/data/patterns.ts';

test("the pattern's label AUROC: 0.5 when it says nothing, 1 when it sorts the labels, ties count half", () => {
  assert.equal(patternLabelAuroc({ '11': [30, 30], '10': [10, 10] }), 0.5);
  assert.equal(patternLabelAuroc({ '11': [0, 40], '10': [25, 0] }), 1);
  // A test ordered for 80% of the sick and 20% of the healthy: 0.8 x 0.8 + 0.5 x (0.8 x 0.2 + 0.2 x 0.8) = 0.8.
  assert.ok(Math.abs(patternLabelAuroc({ '11': [20, 80], '10': [80, 20] }) - 0.8) < 1e-12);
  assert.ok(Number.isNaN(patternLabelAuroc({ '11': [5, 0] })), 'one class: undefined');
  assert.equal(patternLabelAuroc({ '11': [-2, 10], '10': [10, -1] }), 1, 'counts noised below 0 count as 0');
});

test('the pattern-label dependence: Pearson chi-square over the table, as a Wilson-Hilferty z', () => {
  // 2 x 2, 200 rows, 60% against 40% positives: chi-square 8 on 1 degree of freedom.
  const d = patternLabelDependence({ '11': [40, 60], '10': [60, 40] });
  assert.ok(Math.abs(d.chi2 - 8) < 1e-9);
  assert.equal(d.dof, 1);
  assert.ok(d.z > 2.3 && d.z < 2.7, `${d.z}`);
  assert.ok(Math.abs(patternLabelDependence({ '11': [30, 30], '10': [10, 10] }).chi2) < 1e-12, 'no dependence');
  assert.ok(Number.isNaN(patternLabelDependence({ '11': [5, 3] }).z), 'one pattern: undefined');
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { derivePrior, sumPatternCounts } from '../../coordinator/priors.ts';
import { balancingWeight } from '../../shared/data/patterns.ts';

test('counts from sites add up cell by cell', () => {
  const sum = sumPatternCounts([{ '11': [3, 4], '10': [1, 0] }, { '11': [10, 20], '01': [7, 8] }]);
  assert.deepEqual(sum, { '11': [13, 24], '10': [1, 0], '01': [7, 8] });
});

test('prior: small patterns suppressed, the rest normalised and versioned', () => {
  const p = derivePrior({ '11': [30, 10], '10': [5, 15], '01': [1, 2] }, 5, 3);
  assert.equal(p.version, 3);
  assert.deepEqual(p.patterns.map((x) => x.pattern), ['10', '11']); // '01' total 3 < 5
  assert.ok(Math.abs(p.patterns.reduce((a, x) => a + x.p, 0) - 1) < 1e-12);
  assert.ok(Math.abs(p.patterns[1]!.p - 40 / 60) < 1e-12);
  assert.equal(p.totalRows, 60, 'the rows of the published patterns: 63 would give the suppressed one\'s 3 back');
});

test('balancing: in the reweighted sample the pattern is independent of the label', () => {
  const counts: Record<string, [number, number]> = { '11': [60, 20], '10': [10, 30], '01': [25, 25] };
  const p = derivePrior(counts, 5, 1);
  const w = (m: string, y: number) => balancingWeight(p, m, y);
  let total = 0;
  const mass: Record<string, [number, number]> = {};
  for (const [m, [n0, n1]] of Object.entries(counts)) {
    mass[m] = [n0 * w(m, 0), n1 * w(m, 1)];
    total += mass[m][0] + mass[m][1];
  }
  const py1 = Object.values(mass).reduce((a, [, b]) => a + b, 0) / total;
  for (const [m, [a, b]] of Object.entries(mass)) {
    assert.ok(Math.abs(b / (a + b) - py1) < 1e-12, `P(y=1 | m=${m}) must equal P(y=1)`);
    // The pattern's share is kept: P(m) is unchanged by the reweighting.
    const n = counts[m]![0] + counts[m]![1];
    assert.ok(Math.abs((a + b) / total - n / 170) < 1e-12);
  }
  assert.ok(Math.abs(total / 170 - 1) < 1e-12, 'mean weight 1');
});

test('balancing: a pattern with a cell below the minimum keeps weight 1 for both labels', () => {
  const p = derivePrior({ '11': [40, 40], '10': [30, 2] }, 5, 1);
  assert.equal(balancingWeight(p, '10', 0), 1);
  assert.equal(balancingWeight(p, '10', 1), 1);
  assert.equal(balancingWeight(p, '00', 1), 1, 'unseen pattern');
  assert.equal(balancingWeight(p, '11', 1), 1, 'the only balanced pattern is already balanced');
});

// Independence alone does not pin the class weights: swapping P(y=0) and P(y=1) keeps every
// pattern independent of the label but flips the prevalence the model is trained on.
test('balancing: the reweighted sample keeps the raw class prevalence', () => {
  const counts: Record<string, [number, number]> = { '11': [60, 20], '10': [10, 30], '01': [25, 25] };
  const p = derivePrior(counts, 5, 1);
  let y1 = 0;
  let total = 0;
  for (const [m, [n0, n1]] of Object.entries(counts)) {
    const a = n0 * balancingWeight(p, m, 0);
    const b = n1 * balancingWeight(p, m, 1);
    assert.ok(Math.abs(b / (a + b) - 75 / 170) < 1e-12, `weighted P(y=1 | m=${m}) must be the raw 75/170`);
    y1 += b;
    total += a + b;
  }
  assert.ok(Math.abs(y1 / total - 75 / 170) < 1e-12, `weighted P(y=1) ${y1 / total} must be the raw 75/170`);
});

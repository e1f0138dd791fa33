import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TrimmedMean } from '../../../coordinator/strategy/trimmed-mean.ts';
import { assertClose, runRound } from './run-round.ts';

// Column 0 has a high outlier (1000), column 1 a low one (-500).
const five = [
  { site: 'a', numExamples: 1, values: [1, 10] },
  { site: 'b', numExamples: 1, values: [2, 11] },
  { site: 'c', numExamples: 1, values: [3, -500] },
  { site: 'd', numExamples: 50, values: [4, 12] },
  { site: 'e', numExamples: 1, values: [1000, 13] },
];

test('trimmed mean drops floor(beta n) values at each end (default beta 0.2)', () => {
  // n = 5, cut = floor(0.2 * 5) = 1 per end.
  // [1, 2, 3, 4, 1000] -> mean(2, 3, 4) = 3;  [-500, 10, 11, 12, 13] -> mean(10, 11, 12) = 11
  assertClose(runRound(new TrimmedMean(), 1, [0, 0], five), [3, 11], 1e-12);
});

test('trimmed mean: beta 0 is the plain unweighted mean; beta 0.4 cuts 2 per end', () => {
  // (1+2+3+4+1000)/5 = 202;  (10+11-500+12+13)/5 = -90.8
  assertClose(runRound(new TrimmedMean(0), 1, [0, 0], five), [202, -90.8], 1e-4);
  // cut = floor(0.4 * 5) = 2 -> only the middle value: [3, 11]
  assertClose(runRound(new TrimmedMean(0.4), 1, [0, 0], five), [3, 11], 0);
  // n = 4, cut = floor(0.2 * 4) = 0 -> plain mean of the first four: [2.5, -116.75]
  assertClose(runRound(new TrimmedMean(), 1, [0, 0], five.slice(0, 4)), [2.5, -116.75], 1e-4);
});

test('trimmed mean: chunked equals unchunked, no results -> null, bad fraction refused', () => {
  assert.deepEqual(runRound(new TrimmedMean(), 1, [0, 0], five, 1), runRound(new TrimmedMean(), 1, [0, 0], five));
  assert.equal(runRound(new TrimmedMean(), 1, [0, 0], []), null);
  assert.throws(() => new TrimmedMean(0.5), /must be in \[0, 0.5\), got 0.5/);
  assert.equal(new TrimmedMean().name, 'trimmed-mean');
});

test('trimmed mean: a truncated update is rejected', () => {
  const agg = new TrimmedMean().beginAggregation(1, new Float32Array(2));
  agg.add('a', 1, 0, Float32Array.of(1));
  assert.throws(() => agg.finish([{ site: 'a', numExamples: 1, metrics: {} }], []), /site "a": update is truncated/);
});

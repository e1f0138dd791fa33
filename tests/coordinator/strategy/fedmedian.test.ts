import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ProtocolError } from '../../../shared/errors.ts';
import { FedMedian } from '../../../coordinator/strategy/fedmedian.ts';
import { assertClose, runRound } from './run-round.ts';

const three = [
  { site: 'a', numExamples: 1, values: [1, 10, -1] },
  { site: 'b', numExamples: 1000, values: [2, 20, -5] },
  { site: 'c', numExamples: 1, values: [100, 0, -3] },
];

test('FedMedian: coordinate-wise median, ignoring numExamples', () => {
  // columns sorted: [1, 2, 100] -> 2; [0, 10, 20] -> 10; [-5, -3, -1] -> -3
  assertClose(runRound(new FedMedian(), 1, [0, 0, 0], three), [2, 10, -3], 0);
});

test('FedMedian: an even count averages the two middle values', () => {
  const four = [...three, { site: 'd', numExamples: 1, values: [3, 30, 0] }];
  // [1, 2, 3, 100] -> 2.5; [0, 10, 20, 30] -> 15; [-5, -3, -1, 0] -> -2
  assertClose(runRound(new FedMedian(), 1, [0, 0, 0], four), [2.5, 15, -2], 0);
});

test('FedMedian: chunked equals unchunked; chunk buffers may be reused by the caller', () => {
  assert.deepEqual(runRound(new FedMedian(), 1, [0, 0, 0], three, 1), runRound(new FedMedian(), 1, [0, 0, 0], three));
  const agg = new FedMedian().beginAggregation(1, new Float32Array(2));
  const scratch = new Float32Array(2);
  for (const [site, x] of [['a', 1], ['b', 5], ['c', 9]] as const) {
    scratch.fill(x);
    agg.add(site, 1, 0, scratch);
  }
  const results = ['a', 'b', 'c'].map((site) => ({ site, numExamples: 1, metrics: {} }));
  assertClose(agg.finish(results, []), [5, 5], 0);
});

test('FedMedian: no results -> null; truncated update rejected', () => {
  assert.equal(runRound(new FedMedian(), 1, [1, 2], []), null);
  const agg = new FedMedian().beginAggregation(1, new Float32Array(3));
  agg.add('a', 1, 0, Float32Array.of(1, 2));
  assert.throws(
    () => agg.finish([{ site: 'a', numExamples: 1, metrics: {} }], []),
    (e: unknown) => e instanceof ProtocolError && /covered 2 of 3/.test(e.message),
  );
  assert.throws(() => agg.add('b', 1, 1, Float32Array.of(1, 2, 3)), /exceeds the model's 3 parameters/);
});

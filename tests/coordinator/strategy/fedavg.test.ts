import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ProtocolError } from '../../../shared/errors.ts';
import { Rng } from '../../../shared/rng.ts';
import { FedAvg } from '../../../coordinator/strategy/fedavg.ts';
import { assertClose, runRound, type SiteUpdate } from './run-round.ts';

const twoSites: SiteUpdate[] = [
  { site: 'a', numExamples: 1, values: [1, 2, 3] },
  { site: 'b', numExamples: 3, values: [5, 6, 7] },
];

test('FedAvg is the example-weighted mean', () => {
  // (1*[1,2,3] + 3*[5,6,7]) / 4 = [16, 20, 24] / 4 = [4, 5, 6]
  assertClose(runRound(new FedAvg(), 1, [0, 0, 0], twoSites), [4, 5, 6], 0);
});

test('FedAvg: chunked adds give exactly the unchunked result', () => {
  const rng = new Rng(7);
  const updates = ['a', 'b', 'c'].map((site, i) => ({
    site,
    numExamples: 10 * (i + 1),
    values: Array.from({ length: 10 }, () => rng.normal()),
  }));
  const whole = runRound(new FedAvg(), 1, new Array(10).fill(0), updates);
  for (const chunk of [1, 3, 4]) {
    assert.deepEqual(runRound(new FedAvg(), 1, new Array(10).fill(0), updates, chunk), whole, `chunk ${chunk}`);
  }
});

test('FedAvg: no results keeps the previous global (null)', () => {
  assert.equal(runRound(new FedAvg(), 1, [1, 2, 3], []), null);
  // Results that carry no examples carry no weight either.
  assert.equal(runRound(new FedAvg(), 1, [1, 2], [{ site: 'a', numExamples: 0, values: [9, 9] }]), null);
});

test('FedAvg: a truncated update is rejected at finish', () => {
  const agg = new FedAvg().beginAggregation(1, new Float32Array(3));
  agg.add('a', 1, 0, Float32Array.of(1, 2));
  assert.throws(
    () => agg.finish([{ site: 'a', numExamples: 1, metrics: {} }], []),
    (e: unknown) =>
      e instanceof ProtocolError &&
      e.reason === 'malformed' &&
      e.message === 'site "a": update is truncated: chunks covered 2 of 3 parameters',
  );
  // A result whose site sent nothing at all is truncated too.
  const empty = new FedAvg().beginAggregation(1, new Float32Array(3));
  assert.throws(() => empty.finish([{ site: 'z', numExamples: 1, metrics: {} }], []), /covered 0 of 3/);
});

test('FedAvg: chunks beyond the model, out of order, repeated or non-finite are malformed', () => {
  const agg = new FedAvg().beginAggregation(1, new Float32Array(3));
  const malformed = (message: string) => (e: unknown) =>
    e instanceof ProtocolError && e.reason === 'malformed' && e.message === message;
  assert.throws(
    () => agg.add('a', 1, 2, Float32Array.of(1, 2)),
    malformed(`site "a": chunk [2, 4) exceeds the model's 3 parameters`),
  );
  assert.throws(
    () => agg.add('a', 1, 1, Float32Array.of(1)),
    malformed('site "a": chunk starts at parameter 1, expected 0 (chunks must be contiguous, in order, sent once)'),
  );
  agg.add('a', 1, 0, Float32Array.of(1, 2, 3));
  assert.throws(() => agg.add('a', 1, 0, Float32Array.of(1)), /starts at parameter 0, expected 3/);
  assert.throws(() => agg.add('b', 1, 0, Float32Array.of(1, NaN)), malformed('site "b": non-finite value NaN at parameter 1'));
  assert.throws(() => agg.add('c', -1, 0, Float32Array.of(1)), /numExamples must be a finite number >= 0, got -1/);
  agg.add('d', 2, 0, Float32Array.of(1));
  assert.throws(() => agg.add('d', 3, 1, Float32Array.of(1)), /numExamples changed between chunks \(2 then 3\)/);
});

test('FedAvg: a rejected chunk adds nothing, and the rest of the round still aggregates', () => {
  const agg = new FedAvg().beginAggregation(1, new Float32Array(2));
  assert.throws(() => agg.add('a', 1, 0, Float32Array.of(100, Infinity)));
  agg.add('a', 1, 0, Float32Array.of(2, 4));
  assertClose(agg.finish([{ site: 'a', numExamples: 1, metrics: {} }], []), [2, 4], 0);
});

test('FedAvg: results must match the sites that were added', () => {
  const agg = new FedAvg().beginAggregation(1, new Float32Array(1));
  agg.add('a', 1, 0, Float32Array.of(1));
  agg.add('b', 1, 0, Float32Array.of(1));
  assert.throws(
    () => agg.finish([{ site: 'a', numExamples: 1, metrics: {} }], []),
    /site "b": update was added to the aggregation but is not among the round's results/,
  );
  const agg2 = new FedAvg().beginAggregation(1, new Float32Array(1));
  agg2.add('a', 1, 0, Float32Array.of(1));
  assert.throws(
    () => agg2.finish([{ site: 'a', numExamples: 5, metrics: {} }], []),
    /result reports numExamples 5 but its update was added with 1/,
  );
});

test('FedAvg: aggregateEvaluate averages each metric over the sites that report it', () => {
  const out = new FedAvg().aggregateEvaluate(1, [
    { site: 'a', numExamples: 1, metrics: { accuracy: 0.5, loss: 2 } },
    { site: 'b', numExamples: 3, metrics: { accuracy: 0.9 } },
    { site: 'c', numExamples: 0, metrics: { accuracy: 0.0, auc: 0.7 } },
  ]);
  // accuracy = (1*0.5 + 3*0.9 + 0*0) / 4 = 3.2 / 4 = 0.8; loss only at a = 2; auc has no weight -> absent
  assert.deepEqual(Object.keys(out).sort(), ['accuracy', 'loss']);
  assert.ok(Math.abs(out.accuracy! - 0.8) < 1e-12);
  assert.equal(out.loss, 2);
  assert.deepEqual(new FedAvg().aggregateEvaluate(1, []), {});
});

test('FedAvg: a metric a site could not compute (AUROC on one class, null on the wire) is left out, not counted as 0', () => {
  const out = new FedAvg().aggregateEvaluate(1, [
    { site: 'a', numExamples: 90, metrics: { auroc: 0.8, accuracy: 0.7 } },
    { site: 'p', numExamples: 24, metrics: { auroc: null as unknown as number, accuracy: 1 } },
    { site: 'q', numExamples: 10, metrics: { auroc: Number.NaN } },
  ]);
  assert.equal(out.auroc, 0.8);
  assert.ok(Math.abs(out.accuracy! - (90 * 0.7 + 24) / 114) < 1e-12);
  assert.equal(Object.hasOwn(new FedAvg().aggregateEvaluate(1, [{ site: 'p', numExamples: 5, metrics: { auroc: null as unknown as number } }]), 'auroc'), false);
});

test('FedAvg: configureFit returns a copy of the base config', () => {
  const base = { learningRate: 0.1, epochs: 2 };
  const config = new FedAvg().configureFit(3, base);
  assert.deepEqual(config, base);
  assert.notEqual(config, base);
});

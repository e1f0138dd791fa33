import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RoundCollector } from '../../coordinator/collector.ts';
import { aggregateRound, refuseNonFinite } from '../../coordinator/round-outcome.ts';
import { createStrategy } from '../../coordinator/strategy/registry.ts';
import type { Aggregation } from '../../coordinator/strategy/strategy.ts';
import type { ResultMeta } from '../../shared/protocol/messages.ts';
import { captureWarnings } from '../shared/capture-logger.ts';

test('refuseNonFinite passes a finite model and refuses one with a NaN or an infinity, naming where and what to check', () => {
  const ok = Float32Array.of(1, 2);
  assert.deepEqual(refuseNonFinite(ok, 'fedadam'), { next: ok, verdict: { accepted: true } });
  assert.deepEqual(refuseNonFinite(null, 'fedavg'), { next: null, verdict: { accepted: true } });
  const bad = refuseNonFinite(Float32Array.of(1, Number.POSITIVE_INFINITY), 'fedadam');
  assert.equal(bad.next, null);
  assert.equal(bad.verdict.accepted, false);
  assert.match(bad.verdict.accepted ? '' : bad.verdict.reason, /fedadam aggregate is not finite \(parameter 1 is Infinity\).*serverLearningRate, proximalMu/);
});

test('a round whose aggregate is not finite is not accepted, and the model stays as it was (next is null)', () => {
  const c = new RoundCollector(3, 'fit', ['a'], 60_000);
  c.resolve('a', { kind: 'fit-result', numExamples: 10, metrics: {} } as unknown as ResultMeta);
  const overflowing: Aggregation = { add() {}, finish: () => Float32Array.of(0.5, Number.NaN) };
  const { log, warnings } = captureWarnings();
  const { record, next } = aggregateRound(3, c, overflowing, createStrategy('fedadam'), { minSitesToAccept: 1 }, log);
  assert.equal(next, null);
  assert.equal(record.accepted, false);
  assert.match(record.reason ?? '', /not finite \(parameter 1 is NaN\)/);
  assert.ok(warnings.includes('round not accepted'));
});

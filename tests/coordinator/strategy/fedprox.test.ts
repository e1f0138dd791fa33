import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FedProx } from '../../../coordinator/strategy/fedprox.ts';
import { assertClose, runRound } from './run-round.ts';

test('FedProx adds proximalMu (default 0.01) over the base config', () => {
  assert.deepEqual(new FedProx().configureFit(1, { learningRate: 0.1 }), { learningRate: 0.1, proximalMu: 0.01 });
  assert.deepEqual(new FedProx(0.5).configureFit(2, { proximalMu: 9, epochs: 1 }), { proximalMu: 0.5, epochs: 1 });
  assert.equal(new FedProx().name, 'fedprox');
});

test('FedProx aggregates like FedAvg', () => {
  // (2*[0, 10] + 2*[4, 20]) / 4 = [2, 15]
  const out = runRound(new FedProx(), 1, [0, 0], [
    { site: 'a', numExamples: 2, values: [0, 10] },
    { site: 'b', numExamples: 2, values: [4, 20] },
  ]);
  assertClose(out, [2, 15], 0);
});

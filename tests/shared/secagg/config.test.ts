import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InputError } from '../../../shared/errors.ts';
import { compileSecAggConfig, thresholdFor } from '../../../shared/secagg/config.ts';
import { federation } from './helpers.ts';

test('defaults are filled in and the default threshold is more than two thirds', () => {
  const c = compileSecAggConfig({});
  assert.deepEqual(c, { minSites: 3, clipBound: 10, maxExamples: 100_000 });
  assert.deepEqual([3, 4, 6, 9, 10, 100].map((m) => thresholdFor(c, m)), [3, 3, 5, 7, 7, 67]);
});

const bad: [unknown, RegExp][] = [
  [{ threshold: 1 }, /secureAggregation\.threshold: Too small/],
  [{ threshold: 2.5 }, /secureAggregation\.threshold: Invalid input: expected int/],
  [{ minSites: 2 }, /secureAggregation\.minSites: Too small/],
  [{ clipBound: 0 }, /secureAggregation\.clipBound: Too small/],
  [{ clipBound: 'big' }, /secureAggregation\.clipBound: .*number/],
  [{ maxExamples: -1 }, /secureAggregation\.maxExamples/],
  [{ fractionalBits: 30 }, /secureAggregation\.fractionalBits: Too big/],
  [{ neighbours: 3 }, /secureAggregation\.neighbours: must be even/],
  [{ treshold: 5 }, /Unrecognized key.*treshold/],
];

for (const [raw, message] of bad) {
  test(`refuses ${JSON.stringify(raw)}`, () => {
    assert.throws(() => compileSecAggConfig(raw), (e: unknown) => e instanceof InputError && message.test(e.message));
  });
}

test('a threshold at or below half a neighbourhood, or above it, is refused', () => {
  assert.throws(() => thresholdFor(compileSecAggConfig({ threshold: 5 }), 10), /must be more than half of the 10 sites/);
  assert.throws(() => thresholdFor(compileSecAggConfig({ threshold: 11 }), 10), /exceeds the 10 sites/);
  assert.equal(thresholdFor(compileSecAggConfig({ threshold: 6 }), 10), 6);
});

test('a round plan needs the minimum number of sites, and SecAgg+ beyond 255', () => {
  assert.throws(() => federation(2), /at least 3 invited sites, got 2/);
  assert.throws(() => federation(4, { minSites: 5 }), /at least 5 invited sites, got 4/);
  assert.throws(() => federation(256), /needs secureAggregation.neighbours/);
});

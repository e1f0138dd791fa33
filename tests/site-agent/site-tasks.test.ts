// A site's training result is checked before it leaves (site-agent/site-tasks.ts): a
// non-finite loss, weight or control variate is reported as a failure, never sent; a
// finite one is sent as it is. The loss and control variate cases are in agent.test.ts
// and agent-scaffold.test.ts; here the trained weights themselves.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { RunnerFactory } from '../../site-agent/runner-api.ts';
import { end, fakeRunner, model, prior, serve, space, task } from './agent-harness.ts';

/** The harness's fake runner, but training ends on `trained` whatever it started from. */
function trainsTo(trained: Float32Array) {
  const r = fakeRunner();
  const factory: RunnerFactory = async (...args) => {
    const runner = await r.factory(...args);
    return { ...runner, getWeights: () => trained };
  };
  return { ...r, factory };
}

const fit = (trained: Float32Array) => serve([task({ kind: 'fit', round: 1, featureSpace: space, prior, model }, Float32Array.from([0, 0, 0])), end(1)], {}, trainsTo(trained));

test('trained weights holding NaN or an infinity are reported as a failure, never sent', async () => {
  for (const bad of [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]) {
    const { submitted, ended } = await fit(Float32Array.from([1, bad, 2]));
    assert.equal(ended.error, undefined);
    assert.equal(submitted.length, 1);
    assert.equal(submitted[0]!.meta.error, 'the trained weights hold a non-finite value', `a weight of ${bad}`);
    assert.equal(submitted[0]!.weights.length, 0, `a weight of ${bad}: no weights sent`);
  }
});

test('finite trained weights (a finite loss, no control variate) are sent with no error', async () => {
  const { submitted } = await fit(Float32Array.from([1, -3e38, 2]));
  assert.equal(submitted[0]!.meta.error, undefined, 'a finite result is no failure');
  assert.deepEqual([...submitted[0]!.weights], [1, -3e38, 2].map((x) => Math.fround(x)));
});

// SCAFFOLD (control variates) at the site agent: the variate's way into training and back,
// and the rounds where it must not leave the site. Setup shared in agent-harness.ts.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { dpTaskConfig } from '../../shared/privacy/dp.ts';
import { end, fakeRunner, model, prior, serve, space, task } from './agent-harness.ts';

test("SCAFFOLD fit: the federation's c reaches training as a Float32Array, and the site's control variate goes back in the meta", async () => {
  const runner = fakeRunner({ controlVariate: Float32Array.from([0.25, -0.5, 1]) });
  const { submitted, ended } = await serve(
    [task({ kind: 'fit', round: 2, featureSpace: space, prior, model, config: { controlVariates: true }, controlVariate: [1, 2, 3] }, Float32Array.from([0, 0, 0])), end(2)],
    {},
    runner,
  );
  assert.equal(ended.error, undefined);
  assert.deepEqual(runner.configs[0]!.controlVariate, Float32Array.from([1, 2, 3]));
  assert.deepEqual(submitted[0]!.meta.controlVariate, [0.25, -0.5, 1]);
});

test('a control variate holding a non-finite value is reported as a failure, never sent', async () => {
  const runner = fakeRunner({ controlVariate: Float32Array.from([0, Number.NaN, 1]) });
  const { submitted } = await serve([task({ kind: 'fit', round: 1, featureSpace: space, prior, model, config: { controlVariates: true } }, Float32Array.from([0, 0, 0])), end(1)], {}, runner);
  assert.equal(submitted[0]!.meta.error, 'the control variate holds a non-finite value');
  assert.equal(submitted[0]!.meta.controlVariate, undefined);
});

test('a task asking for a control variate in a differentially private round is refused: the gradient would go un-noised', async () => {
  const runner = fakeRunner({ controlVariate: Float32Array.from([0, 0, 0]) });
  const { submitted, ended } = await serve(
    [task({ kind: 'fit', round: 1, featureSpace: space, prior, model, config: { controlVariates: true, ...dpTaskConfig({ clipNorm: 1, noiseMultiplier: 1, delta: 1e-5 }) } }, Float32Array.from([0, 0, 0])), end(1)],
    {},
    runner,
  );
  assert.ok(!submitted.some((r) => r.meta.controlVariate !== undefined), 'no gradient left the site');
  assert.ok(!runner.calls.some((c) => c.startsWith('train')), 'nothing was trained');
  const said = ended.error instanceof Error ? ended.error.message : String(submitted[0]?.meta.error);
  assert.match(said, /asks for a control variate \(SCAFFOLD\) in a differentially private round; this site sends none/);
});

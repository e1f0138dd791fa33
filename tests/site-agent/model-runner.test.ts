import assert from 'node:assert/strict';
import { test } from 'node:test';
import { derivePrior } from '../../coordinator/priors.ts';
import { countPatternLabels } from '../../shared/data/patterns.ts';
import { silentLogger } from '../../shared/logger.ts';
import type { FedModel } from '../../shared/model/model.ts';
import { SiteModelRunner } from '../../site-agent/model-runner.ts';
import { numericSpace, toyData } from '../shared/model/variants/debiased/helpers.ts';

test('per-row state (the dual branch running losses) is attached once and kept across rounds', async () => {
  const space = numericSpace({ labs: ['a', 'b'], imaging: ['c'], exam: ['d', 'e'] });
  const data = toyData(space, 96, 1);
  const prior = derivePrior(countPatternLabels(data.patterns, data.y), 3, 1);
  const runner = await SiteModelRunner.create(
    { kind: 'debiased', raw: { localEpochs: 1, debiasing: { mode: 'on', weighting: 'adaptive' } }, seed: 1 },
    space,
    1,
    silentLogger,
  );
  const model = (runner as unknown as { model: FedModel & { stats(): { trackedRows: number } } }).model;
  let attached = 0;
  const attach = model.attachTrainingSet!.bind(model);
  model.attachTrainingSet = (n: number) => {
    attached++;
    attach(n);
  };
  for (let round = 1; round <= 3; round++) await runner.train(data, { round, prior }, {}, runner.getWeights());
  assert.equal(attached, 1, 'attached once, not every round');
  assert.equal(model.stats().trackedRows, data.n);
  runner.dispose();
});

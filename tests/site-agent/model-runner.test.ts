import assert from 'node:assert/strict';
import { test } from 'node:test';
import { derivePrior } from '../../coordinator/priors.ts';
import { balanceFeatures, cellKeys, countCells, fitOutcomeBalance } from '../../shared/data/outcome-balance.ts';
import { countPatternLabels } from '../../shared/data/patterns.ts';
import { silentLogger } from '../../shared/logger.ts';
import { backendFromEnv, loadBackend } from '../../shared/model/backend.ts';
import { createModel } from '../../shared/model/factory.ts';
import type { DebiasedModel } from '../../shared/model/variants/debiased/index.ts';
import { SiteModelRunner } from '../../site-agent/model-runner.ts';
import { numericSpace, toyData } from '../shared/model/variants/debiased/helpers.ts';

test('per-row state (the dual branch running losses) is attached once and kept across rounds', async () => {
  const space = numericSpace({ labs: ['a', 'b'], imaging: ['c'], exam: ['d', 'e'] });
  const data = toyData(space, 96, 1);
  const prior = derivePrior(countPatternLabels(data.patterns, data.y), 3, 1);
  const spec = { kind: 'debiased', raw: { localEpochs: 1, debiasing: { mode: 'on', weighting: 'adaptive' } }, seed: 1 };
  await loadBackend(backendFromEnv(process.env), silentLogger);
  // Built here and handed to the runner, so the test watches the very model the runner trains.
  const model = createModel(spec.kind, space, spec.raw, spec.seed) as DebiasedModel;
  let attached = 0;
  const attach = model.attachTrainingSet!.bind(model);
  model.attachTrainingSet = (n: number) => {
    attached++;
    attach(n);
  };
  const runner = SiteModelRunner.withModel(model, spec, space, 1, silentLogger);
  for (let round = 1; round <= 3; round++) await runner.train(data, { round, prior }, {}, runner.getWeights());
  assert.equal(attached, 1, 'attached once, not every round');
  assert.equal(model.stats().trackedRows, data.n);
  runner.dispose();
});

test('the local-only baseline (the whole federation\'s epochs in one call) lets timers run while it trains', async () => {
  const space = numericSpace({ labs: ['a', 'b'], imaging: ['c'], exam: ['d', 'e'] });
  const train = toyData(space, 256, 2);
  const test = toyData(space, 64, 3);
  const prior = derivePrior(countPatternLabels(train.patterns, train.y), 3, 1);
  const runner = await SiteModelRunner.create({ kind: 'baseline', raw: { localEpochs: 2, batchSize: 4 }, seed: 1 }, space, 1, silentLogger);
  let ticks = 0;
  const timer = setInterval(() => ticks++, 5);
  try {
    const t0 = performance.now();
    const m = await runner.trainAlone({ train, test }, { round: 1, prior }, 8);
    const ms = performance.now() - t0;
    assert.ok(m.auroc >= 0 && m.auroc <= 1);
    // A loop that never yields would let no timer fire until it returned (keepalive pings neither).
    assert.ok(ticks >= 3, `${ticks} timer callbacks during ${ms.toFixed(0)} ms`);
    assert.ok(ms > 100, `trained for ${ms.toFixed(0)} ms`);
  } finally {
    clearInterval(timer);
    runner.dispose();
  }
});

test('SCAFFOLD on the site: no correction without an own control variate; a round trained again uses the same pair', async () => {
  const space = numericSpace({ labs: ['a', 'b'], imaging: ['c'], exam: ['d', 'e'] });
  const data = toyData(space, 96, 1);
  const prior = derivePrior(countPatternLabels(data.patterns, data.y), 3, 1);
  const spec = { kind: 'logreg', raw: { localEpochs: 1 }, seed: 1 };
  await loadBackend(backendFromEnv(process.env), silentLogger);
  const make = () => SiteModelRunner.withModel(createModel(spec.kind, space, spec.raw, spec.seed), spec, space, 1, silentLogger);
  const plain = make();
  const scaffold = make();
  try {
    const start = plain.getWeights();
    await plain.train(data, { round: 1, prior }, {}, start);
    scaffold.setWeights(start);
    const first = await scaffold.train(data, { round: 1, prior }, { controlVariates: true, controlVariate: new Float32Array(start.length).fill(5) }, start);
    // Round 1: the site has no c_i of its own yet, so it trains as FedAvg would, whatever c says; it returns its gradient at `start`.
    assert.deepEqual(scaffold.getWeights(), plain.getWeights());
    assert.equal(first.controlVariate!.length, start.length);
    assert.ok(first.controlVariate!.some((x) => x !== 0));
    // Round 2, asked twice (a restarted coordinator): the same c gives the same update both times.
    const w1 = scaffold.getWeights();
    const c = Float32Array.from(first.controlVariate!, (x) => x + 0.1);
    const again = async () => {
      scaffold.setWeights(w1);
      const r = await scaffold.train(data, { round: 2, prior }, { controlVariates: true, controlVariate: c }, w1);
      return { w: scaffold.getWeights(), cv: r.controlVariate! };
    };
    const a = await again();
    const b = await again();
    assert.deepEqual(b.w, a.w);
    assert.deepEqual(b.cv, a.cv);
    // And the correction acted: without it (plain FedAvg from the same weights) round 2 ends elsewhere.
    plain.setWeights(w1);
    await plain.train(data, { round: 2, prior }, {}, w1);
    assert.notDeepEqual(plain.getWeights(), a.w);
  } finally {
    plain.dispose();
    scaffold.dispose();
  }
});

test("a round trained again ends where it first did, with the dual branch's feature swap drawing permutations", async () => {
  const space = numericSpace({ labs: ['a', 'b'], imaging: ['c'], exam: ['d', 'e'] });
  const data = toyData(space, 96, 1);
  const prior = derivePrior(countPatternLabels(data.patterns, data.y), 3, 1);
  const spec = { kind: 'debiased', raw: { localEpochs: 1, debiasing: { mode: 'on', weighting: 'adaptive', lambdaSwap: 1, swapWarmupEpochs: 0 } }, seed: 1 };
  await loadBackend(backendFromEnv(process.env), silentLogger);
  const runner = SiteModelRunner.withModel(createModel(spec.kind, space, spec.raw, spec.seed), spec, space, 1, silentLogger);
  try {
    await runner.train(data, { round: 1, prior }, {}, runner.getWeights());
    const w1 = runner.getWeights();
    const again = async () => {
      runner.setWeights(w1);
      await runner.train(data, { round: 2, prior }, {}, w1);
      return runner.getWeights();
    };
    // Round 2 asked twice (a restarted coordinator): the permutations must repeat, not continue their stream.
    const a = await again();
    const b = await again();
    assert.deepEqual(b, a);
  } finally {
    runner.dispose();
  }
});

test("'drop': a flagged reading never reaches training: rows whose reading alone differs train to the same weights", async () => {
  // An audit's mutant trained on the rows unmasked and passed every test: reliance is measured on the masked view.
  const space = numericSpace({ labs: ['a', 'b'], imaging: ['c'], exam: ['d', 'e'] });
  const data = toyData(space, 96, 1);
  const prior = derivePrior(countPatternLabels(data.patterns, data.y), 3, 1);
  const col = space.columns.findIndex((c) => c.feature === 'c');
  const other = { ...data, x: Float32Array.from(data.x, (v, k) => (k % data.dim === col ? 3 * v + 1 : v)) };
  const flagged = [{ feature: 'c', labelCorr: 0.6, withinClassCorr: 0.05, source: 'suspect' }];
  const trained = async (weighting: string, rows: typeof data) => {
    const spec = { kind: 'debiased', raw: { localEpochs: 1, debiasing: { mode: 'on', active: true, weighting, flagged } }, seed: 1 };
    const runner = await SiteModelRunner.create(spec, space, 1, silentLogger);
    try {
      await runner.train(rows, { round: 1, prior }, {}, runner.getWeights());
      return runner.getWeights();
    } finally {
      runner.dispose();
    }
  };
  assert.deepEqual(await trained('drop', other), await trained('drop', data));
  // Where the model sees the reading (outcome weighting, no table published: pattern weights), the same change moves the weights.
  assert.notDeepEqual(await trained('outcome', other), await trained('outcome', data));
});

test("outcome weights follow the guard's tempering: the same rows at another strength are weighed anew, not from the round's cache", async () => {
  // An audit's mutant that cached the weights by rows and prior alone passed every test.
  const space = numericSpace({ labs: ['a', 'b'], imaging: ['c'], exam: ['d', 'e'] });
  const data = toyData(space, 96, 1);
  const prior = derivePrior(countPatternLabels(data.patterns, data.y), 3, 1);
  const balance = fitOutcomeBalance(countCells(cellKeys(data, balanceFeatures(space, ['c'])), data.y), ['c'], [true], 10);
  const flagged = [{ feature: 'c', labelCorr: 0.6, withinClassCorr: 0.05, source: 'suspect' }];
  const spec = { kind: 'debiased', raw: { localEpochs: 1, debiasing: { mode: 'on', active: true, weighting: 'outcome', flagged } }, seed: 1 };
  const runner = await SiteModelRunner.create(spec, space, 1, silentLogger);
  try {
    const at = (temper: number) => runner.health(data, { round: 1, prior, balance, temper })!;
    const full = at(1);
    const none = at(0);
    assert.notDeepEqual(none.readings, full.readings, 'tempered to nothing, the weighted rows differ');
    assert.deepEqual(at(1), full, 'and back at full strength, as before');
  } finally {
    runner.dispose();
  }
});

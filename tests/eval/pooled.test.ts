import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { budgetFindings, budgetRows, budgetVariants, fmtDiff, stepMatchedBatch, variantSettings, withinNoise, type BudgetData } from '../../eval/pooled.ts';

const close = (a: number, b: number, tol = 1e-9) => assert.ok(Math.abs(a - b) <= tol, `${a} != ${b}`);

describe('stepMatchedBatch', () => {
  it("gives the pooled site about the example-weighted average site's steps per epoch", () => {
    // FLamby's train sizes: 7, 6, 1 and 3 steps at batch 32; weighted mean (199*7 + 172*6 + 30 + 85*3) / 486.
    const m = stepMatchedBatch([199, 172, 30, 85]);
    close(m.siteSteps, (199 * 7 + 172 * 6 + 30 * 1 + 85 * 3) / 486);
    assert.equal(m.pooledStepsDefault, 16);
    assert.equal(m.batch, 81); // ceil(486 / 6)
    assert.equal(m.pooledSteps, 6);
  });
  it('is the plain batch for one site, and never below one step', () => {
    assert.deepEqual(stepMatchedBatch([64]), { siteSteps: 2, pooledStepsDefault: 2, batch: 32, pooledSteps: 2 });
    assert.equal(stepMatchedBatch([3, 5], 32).pooledSteps, 1);
  });
  it('rejects empty or malformed sizes', () => {
    assert.throws(() => stepMatchedBatch([]));
    assert.throws(() => stepMatchedBatch([0, 0]));
    assert.throws(() => stepMatchedBatch([1.5]));
    assert.throws(() => stepMatchedBatch([10], 0));
  });
});

describe('variantSettings', () => {
  const match = stepMatchedBatch([199, 172, 30, 85]);
  it('keeps the section epochs unless the variant sets its own, and adds only what the variant changes', () => {
    const [p70, e1, steps] = budgetVariants(false);
    assert.deepEqual(variantSettings(p70!, 2, match), { localEpochs: 2 });
    assert.deepEqual(variantSettings(e1!, 2, match), { localEpochs: 1 });
    assert.deepEqual(variantSettings(steps!, 2, match), { localEpochs: 2, batchSize: 81 });
  });
  it('adds the weight-decay pair only when asked', () => {
    assert.equal(budgetVariants(false).length, 3);
    const wd = budgetVariants(true);
    assert.deepEqual(wd.slice(3).map((v) => [v.id, v.layout, v.weightDecay]), [['pooled-wd', 'pooled', 1e-2], ['fedavg-wd', 'federated', 1e-2]]);
  });
});

describe('budgetRows', () => {
  const run = (config: string, seed: number, v: number, steps = 10) => ({ config, seed, stepsPerRound: steps, values: { m: v } });
  it('gives each config its mean and its difference from the reference paired by seed', () => {
    const runs = [run('fed', 1, 0.8, 12), run('fed', 2, 0.6, 12), run('pooled', 1, 0.7, 40), run('pooled', 2, 0.6, 42), run('pooled', 3, 0.9, 41)];
    const [fed, pooled] = budgetRows(runs, [{ id: 'fed', label: 'F' }, { id: 'pooled', label: 'P' }], 'fed', ['m']);
    close(fed!.metrics.m!.diff.mean, 0);
    close(pooled!.metrics.m!.value.mean, (0.7 + 0.6 + 0.9) / 3);
    // seed 3 has no reference run: the paired difference uses seeds 1 and 2 only
    close(pooled!.metrics.m!.diff.mean, -0.05);
    assert.equal(pooled!.metrics.m!.diff.n, 2);
    close(pooled!.steps, 41);
  });
});

describe('withinNoise and fmtDiff', () => {
  it('reads a paired difference against twice its standard error', () => {
    assert.equal(withinNoise({ mean: 0.01, std: 0.03, n: 5 }), true);
    assert.equal(withinNoise({ mean: -0.04, std: 0.02, n: 5 }), false);
    assert.equal(withinNoise({ mean: 0.5, std: 0, n: 1 }), true);
  });
  it('prints a signed mean and its spread', () => {
    assert.equal(fmtDiff({ mean: -0.0404, std: 0.041, n: 5 }), '-0.040 ± 0.041');
    assert.equal(fmtDiff({ mean: 0.003, std: 0, n: 1 }), '+0.003');
    assert.equal(fmtDiff({ mean: NaN, std: NaN, n: 0 }), '-');
  });
});

describe('budgetFindings', () => {
  const ms = (mean: number, diff: number, dstd = 0.01) => ({ m: { value: { mean, std: 0.05, n: 5 }, diff: { mean: diff, std: dstd, n: 5 } } });
  const data = (pooled70Diff: number, pooledDiff: number, e1Diff = pooledDiff, stepsDiff = pooledDiff): BudgetData => ({
    reference: 'baseline',
    pooled: 'pooled',
    metrics: [{ key: 'm', label: 'metric' }],
    stepMatch: stepMatchedBatch([199, 172, 30, 85]),
    rows: [
      { id: 'baseline', label: 'FedAvg', steps: 11.2, metrics: ms(0.8, 0) },
      { id: 'pooled', label: 'pooled', steps: 32, metrics: ms(0.8 + pooledDiff, pooledDiff) },
      { id: 'pooled-70', label: 'p70', steps: 22, metrics: ms(0.8 + pooled70Diff, pooled70Diff) },
      { id: 'pooled-1epoch', label: 'e1', steps: 16, metrics: ms(0.8 + e1Diff, e1Diff) },
      { id: 'pooled-steps', label: 'st', steps: 12, metrics: ms(0.8 + stepsDiff, stepsDiff) },
    ],
  });
  it('blames the missing rows when they explain the gap', () => {
    const text = budgetFindings(data(-0.04, -0.002), 'metric').join('\n');
    assert.match(text, /missing 30% of the rows explain the gap/);
    assert.match(text, /extra steps cost nothing measurable/);
  });
  it('does not blame the rows when they change nothing', () => {
    const text = budgetFindings(data(-0.015, -0.015), 'metric').join('\n');
    assert.match(text, /missing rows cost little here/);
  });
  it('calls the budget over-training only when both fewer-step variants help', () => {
    const both = budgetFindings(data(-0.015, -0.015, -0.004, -0.009), 'metric').join('\n');
    assert.match(both, /Both help/);
    assert.match(both, /with one epoch the difference from FedAvg is inside the noise/);
    const mixed = budgetFindings(data(-0.04, -0.003, 0.007, -0.006), 'metric').join('\n');
    assert.match(mixed, /One helps and the other does not/);
  });
});

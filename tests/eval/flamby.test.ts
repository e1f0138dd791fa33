import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FLAMBY_POOLED_TARGET, flambyTarget, type FlambyData } from '../../eval/flamby.ts';
import { FLAMBY_TUNING_SEEDS, flambyTuningSeeds, TUNED, tunedLabel, tuningOutcome } from '../../eval/flamby-tuning.ts';

const close = (a: number, b: number, tol = 1e-9) => assert.ok(Math.abs(a - b) <= tol, `${a} != ${b}`);

describe('flambyTuningSeeds', () => {
  it('are disjoint from the reported seeds; a quick run uses the first', () => {
    assert.deepEqual(flambyTuningSeeds({ quick: false, seeds: [1, 2, 3, 4, 5] }), [...FLAMBY_TUNING_SEEDS]);
    assert.deepEqual(flambyTuningSeeds({ quick: true, seeds: [1] }), [FLAMBY_TUNING_SEEDS[0]]);
  });
  it('refuses a reported seed among them', () => {
    assert.throws(() => flambyTuningSeeds({ quick: false, seeds: [1, 101] }), /disjoint/);
  });
  it("keep each strategy's library default in its grid", () => {
    for (const t of TUNED) assert.ok(t.grid.includes(t.option === 'proximalMu' ? 0.01 : 0.1), t.id);
  });
});

describe('tuningOutcome', () => {
  const r = (config: string, value: number | undefined, seed: number, accuracy: number, auroc = 0.8) => ({ config, ...(value !== undefined ? { value } : {}), seed, accuracy, auroc });
  const runs = [
    r('fedadam-logreg', 0.03, 101, 0.7),
    r('fedadam-logreg', 0.03, 102, 0.72),
    r('fedadam-logreg', 0.1, 101, 0.8),
    r('fedadam-logreg', 0.1, 102, 0.78),
    r('fedadam-logreg', 0.3, 101, 0.79),
    r('fedadam-logreg', 0.3, 102, 0.79, 0.9),
    r('fedprox-logreg', 0.01, 101, 0.8),
    r('fedprox-logreg', 0.01, 102, 0.81),
    r('logreg', undefined, 101, 0.8),
    r('logreg', undefined, 102, 0.8),
  ];
  it('picks per row the setting with the best mean accuracy (ties to AUROC), then the best row', () => {
    const t = tuningOutcome([101, 102], runs);
    const picked = t.tried.filter((x) => x.picked).map((x) => [x.config, x.value]);
    // fedadam: 0.1 and 0.3 tie at 0.79 mean accuracy; 0.3 has the higher AUROC
    assert.deepEqual(picked, [['fedadam-logreg', 0.3], ['fedprox-logreg', 0.01]]);
    assert.equal(t.best, 'fedprox-logreg');
    close(t.tried.find((x) => x.config === 'fedadam-logreg' && x.value === 0.03)!.accuracy.mean, 0.71);
    assert.equal(t.tried.find((x) => x.config === 'logreg')!.option, undefined);
    assert.deepEqual(t.seeds, [101, 102]);
  });
  it('keeps FedAvg as the best row when it wins', () => {
    const t = tuningOutcome([101], [r('logreg', undefined, 101, 0.9), r('fedadam-logreg', 0.1, 101, 0.8)]);
    assert.equal(t.best, 'logreg');
  });
});

describe('flambyTarget', () => {
  const m = (mean: number) => ({ accuracy: { mean, std: 0.01, n: 5 }, auroc: { mean: 0.87, std: 0, n: 5 }, balancedAccuracy: { mean, std: 0, n: 5 }, ece: { mean: 0.05, std: 0, n: 5 } });
  const summary: FlambyData['summary'] = { logreg: m(0.789), 'fedprox-logreg': m(0.791), 'fedadam-logreg': m(0.797), 'pooled-logreg': m(0.82) };
  const configs = Object.keys(summary).map((id) => ({ id, label: id, model: 'logreg' }));
  it('judges the row picked on the tuning seeds, and names the highest reported federated row apart', () => {
    const t = flambyTarget('fedprox-logreg', summary, configs);
    assert.equal(t.verdict, 'missed');
    close(t.accuracy.mean, 0.791);
    assert.equal(t.maxConfig, 'fedadam-logreg'); // pooled rows are not federated
    close(t.maxAccuracy, 0.797);
    assert.equal(t.target, FLAMBY_POOLED_TARGET);
  });
  it('is met at or above the target', () => {
    assert.equal(flambyTarget('fedadam-logreg', summary, configs).verdict, 'met');
  });
});

describe('tunedLabel', () => {
  it("puts the setting in the label's own parenthesis, or in a new one", () => {
    assert.equal(tunedLabel('FedAdam baseline (backbone, no debiasing)', 'server lr 0.1'), 'FedAdam baseline (backbone, no debiasing; server lr 0.1)');
    assert.equal(tunedLabel('FedProx logistic regression', 'mu 0.1'), 'FedProx logistic regression (mu 0.1)');
  });
});

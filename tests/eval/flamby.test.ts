import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FEDERATED, FLAMBY_POOLED_TARGET, flambyTarget, type FlambyData } from '../../eval/flamby.ts';
import { FIXED_CONFIGS } from '../../eval/flamby-fixed.ts';
import { labelSkewLine, oneClassLine } from '../../eval/flamby-render.ts';
import { FLAMBY_TUNING_SEEDS, flambyTuningSeeds, seedRun, TUNED, tunedLabel, tuningOutcome, type FlambyTuning } from '../../eval/flamby-tuning.ts';

const close = (a: number, b: number, tol = 1e-9) => assert.ok(Math.abs(a - b) <= tol, `${a} != ${b}`);

describe('seedRun', () => {
  it('writes a run of consecutive seeds as a range, anything else as a list', () => {
    assert.equal(seedRun([101, 102, 103, 104]), '101 to 104');
    assert.equal(seedRun([101, 103, 104]), '101, 103, 104');
    assert.equal(seedRun([1, 2]), '1, 2');
  });
});

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

describe("FLamby's fixed split runs every candidate", () => {
  it('holds each row the tuning splits can pick, so the judged row always has runs there', () => {
    for (const id of [...FEDERATED.map((x) => x.id), ...TUNED.map((x) => x.id)]) assert.ok((FIXED_CONFIGS as readonly string[]).includes(id), id);
  });
});

describe('labelSkewLine and oneClassLine', () => {
  const acc = (mean: number) => ({ mean, std: 0, n: 2 });
  const tuning: FlambyTuning = {
    seeds: [101, 102, 103],
    tried: [
      { config: 'logreg', accuracy: acc(0.8), auroc: acc(0.88), picked: false },
      { config: 'fedprox-logreg', option: 'proximalMu', value: 0.1, accuracy: acc(0.81), auroc: acc(0.88), picked: true },
      { config: 'fedprox-logreg', option: 'proximalMu', value: 1, accuracy: acc(0.7), auroc: acc(0.88), picked: false },
    ],
    runs: [
      { config: 'logreg', seed: 101, accuracy: 0.78, auroc: 0.88 },
      { config: 'logreg', seed: 102, accuracy: 0.8, auroc: 0.88 },
      { config: 'logreg', seed: 103, accuracy: 0.82, auroc: 0.88 },
      { config: 'fedprox-logreg', value: 0.1, seed: 101, accuracy: 0.79, auroc: 0.88 },
      { config: 'fedprox-logreg', value: 0.1, seed: 102, accuracy: 0.81, auroc: 0.88 },
      { config: 'fedprox-logreg', value: 0.1, seed: 103, accuracy: 0.83, auroc: 0.88 },
      { config: 'fedprox-logreg', value: 1, seed: 101, accuracy: 0.5, auroc: 0.88 },
    ],
    best: 'fedprox-logreg',
  };
  const perSeed = [
    { seed: 1, sites: ['switzerland'] },
    { seed: 101, sites: ['switzerland'] },
    { seed: 102, sites: [] },
    { seed: 103, sites: [] },
  ];
  it('splits each finalist (at its pick) by whether a train part held one class', () => {
    const line = labelSkewLine(tuning, perSeed, (id) => id)!;
    assert.match(line, /on the 1 tuning splits where a site's train part holds one class \(101\), the mean accuracy of each row at its pick is fedprox-logreg 0\.790, logreg 0\.780; on the other 2, fedprox-logreg 0\.820, logreg 0\.810\./);
    assert.doesNotMatch(line, /0\.500/, 'a setting not picked is not a finalist');
  });
  it('says nothing when every tuning split, or none, is skewed', () => {
    assert.equal(labelSkewLine(tuning, perSeed.map((x) => ({ ...x, sites: [] })), (id) => id), undefined);
    assert.equal(labelSkewLine(tuning, perSeed.map((x) => ({ ...x, sites: ['va'] })), (id) => id), undefined);
  });
  it('lists the reported and the tuning splits apart', () => {
    assert.match(oneClassLine(perSeed, tuning.seeds), /reported seeds 1 \(switzerland\); tuning split seeds 101 \(switzerland\); of 4 random splits\./);
  });
});

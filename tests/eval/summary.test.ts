import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { auroc } from '../../shared/metrics/classification.ts';
import {
  atLeast,
  fmtMeanStd,
  gapClosure,
  meanOverSites,
  pairedDifference,
  pickByAccuracy,
  pickByGapClosure,
  pooledReport,
  reportsBySite,
  weightedAuroc,
} from '../../eval/summary.ts';

const close = (a: number, b: number, tol = 1e-9) => assert.ok(Math.abs(a - b) <= tol, `${a} != ${b}`);

describe('gapClosure', () => {
  it('is the share of the backbone-to-oracle gap the model closes', () => {
    close(gapClosure(0.7, 0.4, 0.8), 0.75);
    close(gapClosure(0.4, 0.4, 0.8), 0);
    close(gapClosure(0.3, 0.4, 0.8), -0.25);
    close(gapClosure(0.9, 0.4, 0.8), 1.25);
  });
  it('is undefined (NaN) when the oracle is not above the backbone', () => {
    assert.ok(Number.isNaN(gapClosure(0.7, 0.8, 0.8)));
    assert.ok(Number.isNaN(gapClosure(0.7, 0.8, 0.6)));
    assert.ok(Number.isNaN(gapClosure(NaN, 0.4, 0.8)));
  });
});

describe('weightedAuroc', () => {
  it('equals the plain AUROC with unit weights, ties included', () => {
    const y = [0, 1, 0, 1, 1, 0, 1, 0];
    const s = [0.1, 0.4, 0.4, 0.8, 0.2, 0.9, 0.4, 0.3];
    close(weightedAuroc(y, s, y.map(() => 1)), auroc(y, s));
  });
  it('treats a weight of 2 as the row counted twice', () => {
    const y = [0, 1, 0, 1];
    const s = [0.3, 0.2, 0.1, 0.9];
    close(weightedAuroc(y, s, [2, 1, 1, 1]), auroc([0, 0, 1, 0, 1], [0.3, 0.3, 0.2, 0.1, 0.9]));
  });
  it('ignores rows of zero weight and is NaN with one class', () => {
    close(weightedAuroc([0, 1, 1], [0.5, 0.9, 0.1], [1, 1, 0]), 1);
    assert.ok(Number.isNaN(weightedAuroc([1, 1], [0.2, 0.3], [1, 1])));
  });
  it('names mismatched lengths', () => {
    assert.throws(() => weightedAuroc([0, 1], [0.1], [1, 1]), /2 labels, 1 scores, 2 weights/);
  });
});

describe('pickByGapClosure', () => {
  const oracle = 0.8;
  it('takes the largest closure among settings at or above the oracle in distribution', () => {
    const c = [
      { id: 'a', gapClosure: 0.9, inDist: 0.79 }, // gives up more than the shortcut bought
      { id: 'b', gapClosure: 0.7, inDist: 0.85 },
      { id: 'c', gapClosure: 0.6, inDist: 0.9 },
      { id: 'd', gapClosure: NaN, inDist: 0.9 },
    ];
    assert.equal(pickByGapClosure(c, oracle), 'b');
  });
  it('picks nothing when no setting qualifies', () => {
    assert.equal(pickByGapClosure([{ id: 'a', gapClosure: 0.9, inDist: 0.5 }], oracle), undefined);
  });
});

describe('formatting and verdicts', () => {
  it('formats mean ± std, a single value alone, nothing as "-"', () => {
    assert.equal(fmtMeanStd({ mean: 0.81234, std: 0.0211, n: 5 }), '0.812 ± 0.021');
    assert.equal(fmtMeanStd({ mean: 0.81234, std: 0, n: 1 }), '0.812');
    assert.equal(fmtMeanStd({ mean: NaN, std: NaN, n: 0 }), '-');
  });
  it('judges a target with its tolerance', () => {
    assert.equal(atLeast(0.795, 0.803, 0.01), 'met');
    assert.equal(atLeast(0.79, 0.803, 0.01), 'missed');
    assert.equal(atLeast(0.6, 0.6), 'met');
    assert.equal(atLeast(NaN, 0.6), 'n/a');
  });
});

describe('reports from predictions', () => {
  const preds = [
    { site: 'a', row: 0, label: 1, score: 0.9 },
    { site: 'b', row: 0, label: 0, score: 0.8 },
    { site: 'a', row: 1, label: 0, score: 0.2 },
    { site: 'b', row: 1, label: 1, score: 0.4 },
  ];
  it('groups by site and pools when asked', () => {
    const r = reportsBySite(preds);
    assert.deepEqual(Object.keys(r), ['a', 'b']);
    close(r.a!.auroc, 1);
    close(r.b!.auroc, 0);
    const p = pooledReport(preds);
    assert.equal(p.n, 4);
    close(p.accuracy, 0.5);
    close(pooledReport(preds, ['a']).accuracy, 1);
  });
  it('averages a metric over sites and names a missing site', () => {
    const r = reportsBySite(preds);
    close(meanOverSites(r, 'auroc'), 0.5);
    assert.throws(() => meanOverSites(r, 'auroc', ['c']), /no report for site "c" \(have: a, b\)/);
  });
});

describe('pairedDifference', () => {
  it('differences matched by seed, skipping unmatched seeds and non-finite values', () => {
    const m = pairedDifference(
      [{ seed: 1, value: 0.8 }, { seed: 2, value: 0.7 }, { seed: 3, value: 0.9 }, { seed: 4, value: NaN }],
      [{ seed: 2, value: 0.6 }, { seed: 1, value: 0.8 }, { seed: 4, value: 0.5 }],
    );
    assert.equal(m.n, 2);
    close(m.mean, 0.05);
    close(m.std, Math.sqrt(0.005));
  });
  it('is empty without a common seed', () => {
    assert.equal(pairedDifference([{ seed: 1, value: 1 }], [{ seed: 2, value: 1 }]).n, 0);
  });
});

describe('pickByAccuracy', () => {
  it('takes the highest accuracy', () => {
    assert.equal(pickByAccuracy([{ id: 'a', accuracy: 0.78, auroc: 0.9 }, { id: 'b', accuracy: 0.8, auroc: 0.8 }])?.id, 'b');
  });
  it('breaks an accuracy tie by AUROC, then by order', () => {
    const c = [
      { id: 'a', accuracy: 0.8, auroc: 0.85 },
      { id: 'b', accuracy: 0.8, auroc: 0.87 },
      { id: 'c', accuracy: 0.8, auroc: 0.87 },
    ];
    assert.equal(pickByAccuracy(c)?.id, 'b');
  });
  it('skips non-finite accuracies and is undefined when none is left', () => {
    assert.equal(pickByAccuracy([{ id: 'a', accuracy: NaN, auroc: 1 }, { id: 'b', accuracy: 0.5, auroc: NaN }])?.id, 'b');
    assert.equal(pickByAccuracy([{ id: 'a', accuracy: NaN, auroc: 1 }]), undefined);
    assert.equal(pickByAccuracy([]), undefined);
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ProtocolError } from '../../../shared/errors.ts';
import { ece } from '../../../shared/metrics/classification.ts';
import { applySiteCalibration, fitSiteCalibration, MAX_SHIFT, MAX_SLOPE, siteCalibrationReport, validateSiteCalibration, validateSiteCalibrationRates } from '../../../shared/metrics/site-calibration.ts';
import { Rng } from '../../../shared/rng.ts';

const sigmoid = (z: number) => 1 / (1 + Math.exp(-z));
const logit = (p: number) => Math.log(p / (1 - p));
const mean = (a: ArrayLike<number>) => Array.from(a).reduce((x, y) => x + y, 0) / a.length;

/**
 * A site whose true risk is sigmoid(s + shift) while the model scores sigmoid(s): the
 * label shift a federation-wide model leaves at a site whose prevalence is not the
 * federation's. Rows come from one seeded generator.
 */
function shiftedSite(n: number, shift: number, seed: number, slope = 1) {
  const rng = new Rng(seed);
  const y = new Uint8Array(n);
  const p = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const s = 2 * rng.normal();
    p[i] = sigmoid(s);
    y[i] = rng.next() < sigmoid(slope * s + shift) ? 1 : 0;
  }
  return { y, p };
}

describe('fitSiteCalibration', () => {
  it('recovers the slope and shift of a miscalibrated site, and the recalibrated mean score matches the prevalence', () => {
    for (const [shift, slope] of [[-1.5, 1], [0, 0.5], [2, 1.6]] as const) {
      const { y, p } = shiftedSite(20_000, shift, 7, slope);
      const fit = fitSiteCalibration(y, p);
      assert.ok(Math.abs(fit.a - slope) < 0.1, `slope ${slope}: fitted ${fit.a}`);
      assert.ok(Math.abs(fit.b - shift) < 0.1, `shift ${shift}: fitted ${fit.b}`);
      assert.ok(Math.abs(mean(applySiteCalibration(p, fit)) - fit.prevalence) < 1e-6);
      assert.equal(fit.rows, 20_000);
    }
  });
  it('fitted on training rows, it lowers ECE on other rows of the same site', () => {
    const train = shiftedSite(400, 1.5, 1);
    const test = shiftedSite(400, 1.5, 2);
    const r = siteCalibrationReport({ labels: train.y, scores: train.p }, { labels: test.y, scores: test.p })!;
    assert.ok(Math.abs(r.eceBefore - ece(test.y, test.p)) < 1e-12);
    assert.ok(r.eceAfter < r.eceBefore / 2, `${r.eceAfter} vs ${r.eceBefore}`);
  });
  it('stays finite for a site of one class (Platt\'s targets), within MAX_SHIFT; its report is absent, never NaN', () => {
    const fit = fitSiteCalibration(new Uint8Array(30).fill(1), new Float32Array(30).fill(0.7));
    assert.ok(Math.abs(fit.prevalence - 31 / 32) < 1e-12);
    assert.equal(fit.a, 1);
    assert.ok(Math.abs(fit.b - (logit(31 / 32) - logit(0.7))) < 1e-6);
    const extreme = fitSiteCalibration(new Uint8Array(5).fill(1), new Float32Array(5).fill(1e-9));
    assert.ok(extreme.b <= MAX_SHIFT && extreme.b > MAX_SHIFT - 1e-6);
    const test = { labels: Uint8Array.of(0, 1, 1), scores: Float32Array.of(0.2, 0.6, 0.9) };
    assert.equal(siteCalibrationReport({ labels: new Uint8Array(30).fill(1), scores: new Float32Array(30).fill(0.7) }, test), undefined);
    assert.equal(siteCalibrationReport({ labels: new Uint8Array(30), scores: new Float32Array(30).fill(0.2) }, test), undefined);
  });
  it('keeps the slope in [0, MAX_SLOPE] and stays finite when the training scores separate the classes', () => {
    // Perfectly separated: an unsmoothed fit would run the slope to infinity.
    const y = Uint8Array.from({ length: 40 }, (_, i) => (i < 20 ? 0 : 1));
    const p = Float32Array.from({ length: 40 }, (_, i) => (i < 20 ? 0.45 : 0.55));
    const sep = fitSiteCalibration(y, p);
    assert.ok(sep.a > 0 && sep.a <= MAX_SLOPE && Number.isFinite(sep.b), JSON.stringify(sep));
    // Reversed ranking: never a negative slope.
    const rev = fitSiteCalibration(y, Float32Array.from(p, (x) => 1 - x));
    assert.ok(rev.a >= 0 && rev.a <= MAX_SLOPE, JSON.stringify(rev));
  });
  it('refits an intercept fitted out of range, so the coordinator accepts the report of a site whose scores all sit near 0', () => {
    // Scores in [1e-7, 1e-5] (logits near -14), ranked with the labels: the free fit's
    // intercept lies far past MAX_SHIFT; left there, validateSiteCalibration refused the site's report.
    const rng = new Rng(3);
    const site = (n: number) => {
      const y = Uint8Array.from({ length: n }, () => (rng.next() < 0.5 ? 1 : 0));
      const p = Float32Array.from(y, (yi) => 10 ** (-7 + 2 * sigmoid(1.5 * yi + rng.normal())));
      return { labels: y, scores: p };
    };
    const train = site(300);
    assert.ok(train.scores.every((x) => x >= 1e-7 * 0.999 && x <= 1e-5 * 1.001), 'scores squeezed into [1e-7, 1e-5]');
    const fit = fitSiteCalibration(train.labels, train.scores);
    assert.ok(Math.abs(fit.b) <= MAX_SHIFT, `intercept ${fit.b} must be within [-${MAX_SHIFT}, ${MAX_SHIFT}]`);
    assert.ok(fit.a >= 0 && fit.a <= MAX_SLOPE, `slope ${fit.a} must be within [0, ${MAX_SLOPE}]`);
    const report = siteCalibrationReport(train, site(300))!;
    assert.doesNotThrow(() => validateSiteCalibration(JSON.parse(JSON.stringify(report)), 'site "low"'), 'the coordinator accepts the report');
  });
  it('is the identity with no rows, and rejects malformed input', () => {
    assert.deepEqual({ ...fitSiteCalibration([], []), prevalence: 0, meanScore: 0 }, { a: 1, b: 0, rows: 0, prevalence: 0, meanScore: 0 });
    assert.throws(() => fitSiteCalibration([0, 1], [0.5]), /differ in length/);
    assert.throws(() => fitSiteCalibration([0, 2], [0.5, 0.5]), /labels must be 0 or 1/);
  });
});

describe('applySiteCalibration', () => {
  it('returns the scores unchanged for the identity and shifts the logit otherwise', () => {
    const p = Float32Array.of(0.1, 0.5, 0.9);
    assert.deepEqual(applySiteCalibration(p, { a: 1, b: 0 }), p);
    const q = applySiteCalibration(p, { a: 1, b: 1 });
    for (let i = 0; i < 3; i++) assert.ok(Math.abs(q[i]! - sigmoid(logit(p[i]!) + 1)) < 1e-6);
  });
});

describe('validateSiteCalibration', () => {
  const good = { a: 1, b: 0.4, rows: 80, prevalence: 0.6, meanScore: 0.5, eceBefore: 0.2, eceAfter: 0.1 };
  it('keeps a well-formed report', () => {
    assert.deepEqual(validateSiteCalibration({ ...good, extra: 1 }, 'x'), good);
  });
  it('names the field at fault', () => {
    assert.deepEqual(validateSiteCalibration({ ...good, a: 2 }, 'x'), { ...good, a: 2 });
    assert.throws(() => validateSiteCalibration({ ...good, a: 5 }, 'site "h"'), (e: Error) => e instanceof ProtocolError && /site "h": a is 5; must be a number in \[0, 4\]/.test(e.message));
    assert.throws(() => validateSiteCalibration({ ...good, a: -1 }, 'x'), /a is -1/);
    assert.throws(() => validateSiteCalibration({ ...good, b: 99 }, 'x'), /b is 99; must be a number in \[-8, 8\]/);
    assert.throws(() => validateSiteCalibration({ ...good, eceAfter: 1.5 }, 'x'), /eceAfter is 1.5/);
    assert.throws(() => validateSiteCalibration({ ...good, rows: undefined }, 'x'), /rows is missing/);
    assert.throws(() => validateSiteCalibration([], 'x'), /not an object/);
  });
  it('clamps a share read past [0, 1] by float rounding alone, and refuses one further out', () => {
    // An honest site's mean of scores in [0, 1] read this; the report was refused and the whole run with it.
    assert.deepEqual(validateSiteCalibration({ ...good, meanScore: 1.0000000000000056, eceBefore: -1e-17 }, 'x'), { ...good, meanScore: 1, eceBefore: 0 });
    assert.throws(() => validateSiteCalibration({ ...good, meanScore: 5 }, 'site "va"'), /site "va": meanScore is 5; must be in \[0, 1\]/);
    assert.throws(() => validateSiteCalibration({ ...good, prevalence: 1 + 1e-6 }, 'x'), /prevalence is 1\.000001/);
    assert.throws(() => validateSiteCalibration({ ...good, meanScore: 'x' }, 'x'), /meanScore is "x"; must be a number/);
  });
  it('a secure report: (a, b) and ECE only, each checked', () => {
    assert.deepEqual(validateSiteCalibrationRates({ a: 1.2, b: -0.3, eceBefore: 0.1, eceAfter: null, rows: 5, pad: 'x' }, 'x'), { a: 1.2, b: -0.3, eceBefore: 0.1, eceAfter: NaN });
    assert.throws(() => validateSiteCalibrationRates({ a: 'x', b: 0, eceBefore: 0, eceAfter: 0 }, 'own calibration of site "va"'), /own calibration of site "va": a is "x"; must be a number/);
  });
});

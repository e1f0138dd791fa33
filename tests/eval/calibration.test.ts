import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { calibrationCell, calibrationTarget, pairedDifference, pairedStandardError, renderCalibration } from '../../eval/calibration.ts';
import type { RunRecord } from '../../eval/context.ts';

const rec = (config: string, seed: number, before: [number, number], own?: [number, number]): RunRecord => ({
  config,
  seed,
  sites: {},
  seconds: 1,
  calibration: {
    x: { eceBefore: before[0], eceAfter: 0.3, ...(own ? { own: { eceAfter: own[0], b: 0.5, prevalence: 0.4, meanScore: 0.5 } } : {}) },
    y: { eceBefore: before[1], eceAfter: 0.3, ...(own ? { own: { eceAfter: own[1], b: -0.5, prevalence: 0.9, meanScore: 0.8 } } : {}) },
  },
});

describe('calibration tables', () => {
  const runs = [
    rec('baseline', 1, [0.1, 0.2], [0.05, 0.05]),
    rec('baseline', 2, [0.2, 0.3], [0.05, 0.15]),
    rec('debiased', 1, [0.2, 0.2], [0.1, 0.1]),
    rec('debiased', 2, [0.3, 0.3], [0.1, 0.1]),
  ];
  it('averages over the sites per seed, then over seeds', () => {
    assert.equal(calibrationCell(runs.filter((r) => r.config === 'baseline'), (c) => c.eceBefore), '0.200 ± 0.071');
    assert.equal(calibrationCell(runs.filter((r) => r.config === 'baseline'), (c) => c.eceBefore, ['x']), '0.150 ± 0.071');
    assert.equal(calibrationCell(runs, (c) => c.own?.b === 9 ? 1 : undefined), '-');
  });
  it('pairs debiased with baseline by seed', () => {
    assert.equal(pairedDifference(runs, 'debiased', 'baseline', (c) => c.eceBefore), '+0.050 ± 0.000');
    assert.equal(pairedDifference(runs, 'debiased', 'baseline', (c) => c.own?.eceAfter), '+0.025 ± 0.035');
  });
  it('gives the standard error of the paired difference (std over seeds / sqrt(seeds))', () => {
    // Per seed, debiased - baseline of the own ECE: 0.05 and 0.0; std 0.0354, two seeds.
    const se = pairedStandardError(runs, 'debiased', 'baseline', (c) => c.own?.eceAfter);
    assert.equal(se.seeds, 2);
    assert.ok(Math.abs(se.mean - 0.025) < 1e-12);
    assert.ok(Math.abs(se.se - Math.SQRT1_2 * 0.05 / Math.SQRT2) < 1e-12, String(se.se));
    assert.ok(Number.isNaN(pairedStandardError(runs.filter((r) => r.seed === 1), 'debiased', 'baseline', (c) => c.own?.eceAfter).se));
  });
  it('adds the own-shift column and the per-site table only when sites sent their own', () => {
    const configs = [{ id: 'baseline', label: 'B' }, { id: 'debiased', label: 'D' }];
    const withOwn = renderCalibration(runs, configs);
    assert.match(withOwn, /ECE, own recalibration/);
    assert.match(withOwn, /prevalence \(train rows\)/);
    const without = renderCalibration([rec('baseline', 1, [0.1, 0.2])], configs);
    assert.doesNotMatch(without, /own recalibration/);
    assert.match(without, /\| B +\| 0\.150 +\| 0\.300 +\|/);
  });
  it('judges the target on the own shift: debiased at or below the baseline', () => {
    const t = calibrationTarget(runs)!;
    assert.ok(Math.abs(t.debiased - 0.1) < 1e-12 && Math.abs(t.baseline - 0.075) < 1e-12);
    assert.equal(t.met, false);
    assert.ok(Math.abs(t.rawDebiased - 0.25) < 1e-12);
    assert.equal(calibrationTarget([rec('baseline', 1, [0.1, 0.2]), rec('debiased', 1, [0.1, 0.2])]), undefined);
  });
});

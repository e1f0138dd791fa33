import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { mergeRecords, mergeRuns, summarizeBySite, wanted, type RunRecord } from '../../eval/context.ts';

const rep = (auroc: number) => ({ n: 10, auroc, accuracy: 0.5, balancedAccuracy: 0.5, ece: 0.1 });
const run = (config: string, seed: number, a: number, b: number): RunRecord => ({
  config,
  seed,
  sites: { a: rep(a), b: rep(b) },
  seconds: 1,
});

describe('summarizeBySite', () => {
  it('gives each site over seeds, and the site mean taken per seed first', () => {
    const s = summarizeBySite([run('m', 1, 0.6, 0.8), run('m', 2, 0.8, 1.0), run('other', 1, 0, 0)], ['m'], ['a', 'b']);
    assert.ok(Math.abs(s.m!.a!.auroc.mean - 0.7) < 1e-12);
    assert.ok(Math.abs(s.m!.mean!.auroc.mean - 0.8) < 1e-12);
    // per-seed means 0.7 and 0.9: sample std sqrt(0.02)
    assert.ok(Math.abs(s.m!.mean!.auroc.std - Math.sqrt(0.02)) < 1e-12);
    assert.equal(s.m!.a!.auroc.n, 2);
  });
});

describe('mergeRecords', () => {
  it('joins one-site runs into one record per seed', () => {
    const one = (site: string, auroc: number): RunRecord => ({ config: 'alone', seed: 3, sites: { [site]: rep(auroc) }, seconds: 2 });
    const m = mergeRecords('alone', 3, [one('a', 0.6), one('b', 0.7)]);
    assert.deepEqual(Object.keys(m.sites), ['a', 'b']);
    assert.equal(m.seconds, 4);
  });
});

describe('wanted and mergeRuns (--only-configs)', () => {
  it('runs everything without --only-configs, only the listed ids with it', () => {
    assert.equal(wanted({}, 'baseline'), true);
    const only = { ids: new Set(['debiased']), stored: {} };
    assert.equal(wanted({ only }, 'debiased'), true);
    assert.equal(wanted({ only }, 'baseline'), false);
  });
  it('replaces stored runs of the same config and seed, keeps the others', () => {
    const r = (config: string, seed: number, v: number) => ({ config, seed, v });
    const merged = mergeRuns([r('a', 1, 10), r('a', 2, 20)], [r('a', 1, 1), r('b', 1, 2), r('a', 3, 3)]);
    assert.deepEqual(merged, [r('b', 1, 2), r('a', 3, 3), r('a', 1, 10), r('a', 2, 20)]);
    assert.deepEqual(mergeRuns([r('a', 1, 10)], undefined), [r('a', 1, 10)]);
  });
});

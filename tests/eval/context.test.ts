import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { mergeRecords, summarizeBySite, type RunRecord } from '../../eval/context.ts';

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

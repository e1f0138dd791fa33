// A categorical feature's grouped values as one more column: its sums derived from the
// values' sums are those of the indicator computed row by row.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { centreWithinSite, COL_FIELDS, computeClassMoments, mergeClassMoments, PAIR_FIELDS, pairIndex, type ClassMoments } from '../../../../../shared/data/class-moments.ts';
import type { EncodedData } from '../../../../../shared/data/encode.ts';
import type { FeatureSpace } from '../../../../../shared/data/feature-space.ts';
import { findGroups, withGroups } from '../../../../../shared/model/variants/debiased/grouped-columns.ts';
import { withinClassCorrelation, withinSiteLabelCorrelation } from '../../../../../shared/model/variants/debiased/moment-correlations.ts';
import { Rng } from '../../../../../shared/rng.ts';

const LEVELS = 6;
/** labs: a (numeric, missing in a fifth of rows); ward: one-hot over 6 values, 3 of them where patients are sicker (missing in a tenth). */
const space: FeatureSpace = {
  modalities: [
    { name: 'labs', start: 0, end: 1 },
    { name: 'ward', start: 1, end: 1 + LEVELS },
  ],
  columns: [
    { feature: 'a', featureIndex: 0, kind: 'numeric', mean: 0, std: 1 },
    ...Array.from({ length: LEVELS }, (_, k) => ({ feature: 'ward', featureIndex: 1, kind: 'category' as const, category: `w${k}`, mean: 0, std: 1 })),
  ],
};

/** One site's rows, with the grouped indicator appended as a real column when `withIndicator` lists the grouped values' columns. */
function site(n: number, seed: number, shift: number, withIndicator?: number[]): EncodedData {
  const rng = new Rng(seed);
  const dim = 1 + LEVELS + (withIndicator ? 1 : 0);
  const x = new Float32Array(n * dim);
  const observed = new Float32Array(n * dim);
  const y = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    y[i] = rng.next() < 0.4 + 0.1 * shift ? 1 : 0;
    const set = (j: number, v: number) => {
      x[i * dim + j] = v;
      observed[i * dim + j] = 1;
    };
    if (rng.next() > 0.2) set(0, y[i]! + rng.normal() + shift);
    if (rng.next() < 0.1) continue;
    const ward = y[i] ? (rng.next() < 0.8 ? rng.int(3) : 3 + rng.int(3)) : rng.next() < 0.8 ? 3 + rng.int(3) : rng.int(3);
    for (let k = 0; k < LEVELS; k++) set(1 + k, k === ward ? 1 : 0);
    if (withIndicator) set(dim - 1, withIndicator.includes(1 + ward) ? 1 : 0);
  }
  return { n, dim, x, observed, present: new Float32Array(n * 2), y, patterns: new Array(n).fill('11') };
}

/** Equal sums, but for the pairs of the group with its own feature's columns (never compared: left at 0). */
function close(a: ClassMoments, b: ClassMoments, tol: number) {
  assert.equal(a.dim, b.dim);
  const own = new Set(Array.from({ length: LEVELS }, (_, k) => pairIndex(1 + k, a.dim - 1, a.dim)));
  for (let k = 0; k < 2; k++)
    for (const f of [...COL_FIELDS, ...PAIR_FIELDS])
      a.classes[k]![f].forEach((v, i) => {
        if (f.startsWith('pair') && own.has(i)) return;
        assert.ok(Math.abs(v - b.classes[k]![f][i]!) <= tol * (1 + Math.abs(v)), `${f}[${i}] class ${k}: ${v} vs ${b.classes[k]![f][i]}`);
      });
}

test('the grouped values are those of higher positive rate, and the derived raw sums are the indicator\'s, row by row', () => {
  const sites = [0, 1, 2].map((s) => site(400, 10 + s, s));
  const raw = mergeClassMoments(sites.map(computeClassMoments));
  const groups = findGroups(raw, space);
  assert.deepEqual(groups.map((g) => [g.feature, g.col, g.levels]), [['ward', 7, [1, 2, 3]]]);
  const direct = mergeClassMoments([0, 1, 2].map((s) => computeClassMoments(site(400, 10 + s, s, groups[0]!.levels))));
  close(withGroups(raw, groups), direct, 1e-9);
});

test('site-centred: the grouped column\'s within-class correlations and within-site label correlation are the indicator\'s', () => {
  const levels = [1, 2, 3];
  const centred = (withIndicator?: number[]) => mergeClassMoments([0, 1, 2].map((s) => centreWithinSite(computeClassMoments(site(400, 10 + s, s, withIndicator)))));
  const derived = withGroups(centred(), [{ feature: 'ward', col: 7, levels, columns: [1, 2, 3, 4, 5, 6] }]);
  const direct = centred(levels);
  // Where the lab is observed wherever the ward is not (missing apart), the cross terms are scaled: close, not exact.
  assert.ok(Math.abs(withinClassCorrelation(derived, 0, 7).corr - withinClassCorrelation(direct, 0, 7).corr) < 0.01);
  assert.ok(Math.abs(withinSiteLabelCorrelation(derived, 7) - withinSiteLabelCorrelation(direct, 7)) < 0.01, `${withinSiteLabelCorrelation(derived, 7)} vs ${withinSiteLabelCorrelation(direct, 7)}`);
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  centreWithinSite,
  checkCentred,
  computeClassMoments,
  emptyClassMoments,
  mergeClassMoments,
  pairCountFor,
  pairIndex,
  validateClassMoments,
  type ClassMoments,
} from '../../../shared/data/class-moments.ts';
import { takeRows, type EncodedData } from '../../../shared/data/encode.ts';
import { ProtocolError } from '../../../shared/errors.ts';
import { Rng } from '../../../shared/rng.ts';

function randomData(n: number, dim: number, seed: number): EncodedData {
  const rng = new Rng(seed);
  const x = Float32Array.from({ length: n * dim }, () => rng.normal());
  const observed = Float32Array.from({ length: n * dim }, () => (rng.next() < 0.7 ? 1 : 0));
  x.forEach((_, k) => (observed[k] ? 0 : (x[k] = 0)));
  const y = Float32Array.from({ length: n }, () => (rng.next() < 0.4 ? 1 : 0));
  return { n, dim, x, observed, present: new Float32Array(n), y, patterns: new Array(n).fill('1') };
}

function assertClose(a: ClassMoments, b: ClassMoments) {
  assert.equal(a.dim, b.dim);
  for (const k of [0, 1] as const) {
    assert.equal(a.classes[k].rows, b.classes[k].rows);
    for (const f of ['colCount', 'colSum', 'colSumSq', 'pairCount', 'pairSumI', 'pairSumJ', 'pairSumII', 'pairSumJJ', 'pairSumIJ'] as const)
      a.classes[k][f].forEach((v, i) => assert.ok(Math.abs(v - b.classes[k][f][i]!) < 1e-6, `class ${k} ${f}[${i}]: ${v} vs ${b.classes[k][f][i]}`));
  }
}

test('pairIndex enumerates the upper triangle densely', () => {
  const dim = 5;
  const seen: number[] = [];
  for (let i = 0; i < dim; i++) for (let j = i + 1; j < dim; j++) seen.push(pairIndex(i, j, dim));
  assert.deepEqual(seen, Array.from({ length: pairCountFor(dim) }, (_, k) => k));
  assert.throws(() => pairIndex(2, 2, dim), /0 <= i < j < 5/);
});

test('sums match a direct computation on a tiny set', () => {
  const d: EncodedData = {
    n: 3,
    dim: 3,
    x: Float32Array.from([1, 2, 0, 3, 0, 5, -1, 4, 2]),
    observed: Float32Array.from([1, 1, 0, 1, 0, 1, 1, 1, 1]),
    present: new Float32Array(3),
    y: Float32Array.from([1, 1, 0]),
    patterns: ['1', '1', '1'],
  };
  const m = computeClassMoments(d);
  const c1 = m.classes[1];
  assert.equal(c1.rows, 2);
  assert.deepEqual(c1.colCount, [2, 1, 1]);
  assert.deepEqual(c1.colSum, [4, 2, 5]);
  assert.deepEqual(c1.colSumSq, [10, 4, 25]);
  const p01 = pairIndex(0, 1, 3);
  const p02 = pairIndex(0, 2, 3);
  assert.deepEqual([c1.pairCount[p01], c1.pairSumIJ[p01]], [1, 2]);
  assert.deepEqual([c1.pairCount[p02], c1.pairSumI[p02], c1.pairSumJ[p02], c1.pairSumIJ[p02]], [1, 3, 5, 15]);
  assert.equal(c1.pairCount[pairIndex(1, 2, 3)], 0);
  const c0 = m.classes[0];
  assert.deepEqual([c0.rows, c0.pairSumIJ[p01], c0.pairSumJJ[p02], c0.pairCount[pairIndex(1, 2, 3)]], [1, -4, 4, 1]);
});

test('merging two halves gives the moments of the whole', () => {
  const d = randomData(120, 6, 1);
  const idx = Array.from({ length: d.n }, (_, i) => i);
  const a = takeRows(d, idx.filter((i) => i % 3 === 0));
  const b = takeRows(d, idx.filter((i) => i % 3 !== 0));
  assertClose(mergeClassMoments([computeClassMoments(a), computeClassMoments(b)]), computeClassMoments(d));
  assertClose(mergeClassMoments([computeClassMoments(d), emptyClassMoments(6)]), computeClassMoments(d));
  // The merge does not alter its inputs and survives a JSON round trip (how sites send it).
  const whole = computeClassMoments(d);
  const copy = JSON.parse(JSON.stringify(whole)) as ClassMoments;
  mergeClassMoments([whole, whole]);
  assertClose(whole, copy);
});

test('merge and validation name what is wrong', () => {
  assert.throws(() => mergeClassMoments([]), /at least one/);
  assert.throws(() => mergeClassMoments([emptyClassMoments(3), emptyClassMoments(4)]), /entry 1 have 4 columns, entry 0 has 3/);
  const good = computeClassMoments(randomData(10, 3, 2));
  assert.deepEqual(validateClassMoments(JSON.parse(JSON.stringify(good)), 3), good);
  const bad = JSON.parse(JSON.stringify(good));
  bad.classes[1].pairSumIJ = [1, 2];
  assert.throws(() => validateClassMoments(bad, 3, 'site a'), (e: unknown) => e instanceof ProtocolError && /site a: classes\[1\]\.pairSumIJ must be a list of 3 numbers/.test(e.message));
  assert.throws(() => validateClassMoments(good, 4), /dim is 3, the feature space has 4 columns/);
  const nan = JSON.parse(JSON.stringify(good));
  nan.classes[0].colSum[0] = null;
  assert.throws(() => validateClassMoments(nan, 3), /classes\[0\]\.colSum holds a non-finite value/);
});

test('site-centred pair sums add up to the within-(site, class) scatter; column counts stay raw', () => {
  const sites = [randomData(80, 3, 5), randomData(50, 3, 6)];
  // Shift the second site's column 1: between-site offsets must not reach the centred scatter.
  sites[1]!.x.forEach((v, k) => (k % 3 === 1 && sites[1]!.observed[k] ? (sites[1]!.x[k] = v + 5) : 0));
  const merged = mergeClassMoments(sites.map((d) => centreWithinSite(computeClassMoments(d))));
  const raw = mergeClassMoments(sites.map((d) => computeClassMoments(d)));
  const p = pairIndex(0, 1, 3);
  for (const k of [0, 1] as const) {
    // Direct: per site and class, scatter about that site's means of the rows with both observed.
    let sii = 0, sjj = 0, sij = 0, df = 0;
    for (const d of sites) {
      const rows = [...Array(d.n).keys()].filter((r) => (d.y[r] ? 1 : 0) === k && d.observed[r * 3] && d.observed[r * 3 + 1]);
      const mi = rows.reduce((a, r) => a + d.x[r * 3]!, 0) / rows.length;
      const mj = rows.reduce((a, r) => a + d.x[r * 3 + 1]!, 0) / rows.length;
      for (const r of rows) {
        sii += (d.x[r * 3]! - mi) ** 2;
        sjj += (d.x[r * 3 + 1]! - mj) ** 2;
        sij += (d.x[r * 3]! - mi) * (d.x[r * 3 + 1]! - mj);
      }
      df += rows.length - 1;
    }
    const c = merged.classes[k];
    assert.ok(Math.abs(c.pairSumII[p]! - sii) < 1e-6 && Math.abs(c.pairSumJJ[p]! - sjj) < 1e-6 && Math.abs(c.pairSumIJ[p]! - sij) < 1e-6, `class ${k}`);
    assert.equal(c.pairSumI[p], 0);
    assert.equal(c.pairSumJ[p], 0);
    assert.equal(c.pairCount[p], df);
    assert.deepEqual(c.colCount, raw.classes[k].colCount);
    assert.ok(raw.classes[k].pairSumJJ[p]! - (raw.classes[k].pairSumJ[p]! ** 2) / raw.classes[k].pairCount[p]! > sjj + 100, 'the raw pooled scatter carries the offset');
  }
});

test('site-centred column sums give the within-site covariance with the label, scatter and the label scatter, free of a site offset that follows prevalence', () => {
  const sites = [randomData(80, 2, 9), randomData(60, 2, 10)];
  // The second site: more positives, and column 0 read 4 higher there.
  sites[1]!.y.forEach((_, r) => (sites[1]!.y[r] = r % 3 === 0 ? 0 : 1));
  sites[1]!.x.forEach((v, k) => (k % 2 === 0 && sites[1]!.observed[k] ? (sites[1]!.x[k] = v + 4) : 0));
  const merged = mergeClassMoments(sites.map((d) => centreWithinSite(computeClassMoments(d))));
  for (const j of [0, 1]) {
    // Direct: per site, over the rows where j is observed, deviations from that site's means.
    let cross = 0, sxx = 0, syy = 0;
    for (const d of sites) {
      const rows = [...Array(d.n).keys()].filter((r) => d.observed[r * 2 + j]);
      const mx = rows.reduce((a, r) => a + d.x[r * 2 + j]!, 0) / rows.length;
      const my = rows.reduce((a, r) => a + d.y[r]!, 0) / rows.length;
      for (const r of rows) {
        cross += (d.x[r * 2 + j]! - mx) * (d.y[r]! - my);
        sxx += (d.x[r * 2 + j]! - mx) ** 2;
        syy += (d.y[r]! - my) ** 2;
      }
    }
    const [c0, c1] = merged.classes;
    assert.ok(Math.abs(c1.colSum[j]! - cross) < 1e-6, `column ${j}: class 1 sum ${c1.colSum[j]} vs covariance ${cross}`);
    assert.ok(Math.abs(c0.colSum[j]! + c1.colSum[j]!) < 1e-6, `column ${j}: the classes' sums cancel`);
    assert.ok(Math.abs(c0.colSumSq[j]! + c1.colSumSq[j]! - sxx) < 1e-6, `column ${j}: scatter`);
    assert.ok(Math.abs(merged.labelScatter![j]! - syy) < 1e-9, `column ${j}: label scatter ${merged.labelScatter![j]} vs ${syy}`);
  }
  checkCentred(merged, undefined, 'the sum');
});

test('centring a pair seen in one row, or a constant column, leaves no scatter and no degrees of freedom below 0', () => {
  const m = emptyClassMoments(2);
  Object.assign(m.classes[1], { rows: 1, pairCount: [1], pairSumI: [3], pairSumJ: [2], pairSumII: [9], pairSumJJ: [4], pairSumIJ: [6] });
  const c = centreWithinSite(m).classes[1];
  assert.deepEqual([c.pairCount[0], c.pairSumII[0], c.pairSumJJ[0], c.pairSumIJ[0]], [0, 0, 0, 0]);
  assert.deepEqual(centreWithinSite(m).classes[0].pairCount, [0]);
});

test('centred moments a site could not have computed are refused: no scatter, other column sums or label scatter, other counts, pair sums other than centring gives', () => {
  const raw = computeClassMoments(randomData(90, 3, 7));
  const honest = centreWithinSite(raw);
  checkCentred(honest, raw, 'site 1');
  checkCentred(mergeClassMoments([honest, centreWithinSite(computeClassMoments(randomData(40, 3, 8)))]), undefined, 'the sum');
  const forged = (edit: (c: ClassMoments) => void) => {
    const c = structuredClone(honest);
    edit(c);
    return c;
  };
  const cases: [string, (c: ClassMoments) => void, RegExp][] = [
    ['negative scatter', (c) => (c.classes[0].pairSumII[0] = -1e6), /pair 0: the centred sums are no scatter/],
    ['|r| above 1', (c) => (c.classes[1].pairSumIJ[1] = 2 * Math.sqrt(c.classes[1].pairSumII[1]! * c.classes[1].pairSumJJ[1]!) + 1), /pair 1: the centred sums are no scatter/],
    ['scatter inflated', (c) => (c.classes[0].pairSumII[2] = c.classes[0].pairSumII[2]! * 1e6), /pair 2: the centred sums differ from what the class moments give/],
    ['scatter shrunk', (c) => (c.classes[1].pairSumJJ[0] = c.classes[1].pairSumJJ[0]! * 0.5), /pair 0: the centred sums differ from what the class moments give/],
    ['cross term moved within its bound', (c) => (c.classes[0].pairSumIJ[1] = 0.999 * Math.sqrt(c.classes[0].pairSumII[1]! * c.classes[0].pairSumJJ[1]!)), /pair 1: the centred sums differ from what the class moments give/],
    ['column sums', (c) => (c.classes[1].colSum[0] = Number.MAX_VALUE), /column 0: centred column sums of the two classes add to/],
    ['column sums, both classes', (c) => ((c.classes[1].colSum[1] = c.classes[1].colSum[1]! + 1), (c.classes[0].colSum[1] = c.classes[0].colSum[1]! - 1)), /classes\[0\]\.colSum differs from what the class moments give/],
    ['column scatter', (c) => (c.classes[0].colSumSq[2] = -1), /column 2: the centred column sums are no scatter/],
    ['label scatter above a quarter of the rows', (c) => (c.labelScatter![0] = c.classes[0].rows + c.classes[1].rows), /column 0: label scatter .* outside \[0, rows \/ 4\]/],
    ['label scatter shrunk, a label correlation beyond 1', (c) => (c.labelScatter![1] = 1e-9), /column 1: the centred sums give a label correlation beyond 1/],
    ['label scatter of other rows', (c) => (c.labelScatter![2] = c.labelScatter![2]! * 0.9), /labelScatter differs from what the class moments give/],
    ['pair count', (c) => (c.classes[0].pairCount[0] = c.classes[0].rows), /pair 0: count \d+, the class moments' \d+ less one/],
    ['uncentred', (c) => (c.classes[0].pairSumI[0] = 3), /centred sums of i and j must be 0/],
  ];
  for (const [what, edit, message] of cases) assert.throws(() => checkCentred(forged(edit), raw, 'site 1'), message, what);
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildFeatureSpace } from '../../../shared/data/feature-space.ts';
import { compileSchema, loadSchema, type Schema } from '../../../shared/data/schema.ts';
import {
  CLIP_ROBUST_SDS,
  computeFeatureStats,
  MAX_ABS_VALUE,
  mergeFeatureStats,
  robustBounds,
  robustScale,
  type FeatureStats,
} from '../../../shared/data/stats.ts';
import { loadSiteTable, parseSiteTable, selectRows, type SiteTable } from '../../../shared/data/table.ts';
import { prepareLocalData } from '../../../site-agent/local-data.ts';

const DIR = new URL('../../../../shared/data/heart-disease/', import.meta.url).pathname;
const SITES = ['cleveland', 'hungarian', 'switzerland', 'va'];

test('robustScale: the largest of 1.4826 MAD, IQR / 1.349 and the MAD of the values off the median', () => {
  const near = (x: number | undefined, y: number) => assert.ok(x !== undefined && Math.abs(x - y) < 1e-12, `${x} vs ${y}`);
  // Continuous, no ties: the MAD (2.5).
  const c = robustScale([1, 2, 3, 4, 5, 6, 7, 8, 9, 100])!;
  assert.equal(c.method, 'mad');
  assert.equal(c.median, 5.5);
  near(c.scale, 1.4826 * 2.5);
  // Right-skewed: the IQR (8) is wider.
  const skew = robustScale([0, 1, 2, 3, 4, 5, 10, 20, 30])!;
  assert.equal(skew.method, 'iqr');
  near(skew.scale, 8 / 1.349);
  // Piled up at 0: MAD 0, IQR 1.75; the values off the median (1, 2, 3, 4) give 2.5.
  const piled = robustScale([0, 0, 0, 0, 0, 0, 1, 2, 3, 4])!;
  assert.equal(piled.method, 'untied-mad');
  near(piled.scale, 1.4826 * 2.5);
  assert.deepEqual(robustScale([5, 5, 5]), { median: 5, scale: 0, method: 'constant' });
  assert.equal(robustScale([]), undefined);
  assert.equal(robustBounds([5, 5, 5], 10), undefined, 'nothing is far out in a constant column');
  const b = robustBounds([1, 2, 3, 4, 5, 6, 7, 8, 9, 100], 10)!;
  near(b[0], 5.5 - 37.065);
  near(b[1], 5.5 + 37.065);
});

const schema = compileSchema({ label: { column: 'y', threshold: 0 }, modalities: { a: ['x'], b: ['c'] }, categorical: ['c'] }, 'inline');
/** 40 rows, x = 10..19 repeated, one cell replaced by `extreme`. */
function table(extreme: string): SiteTable {
  const lines = ['x,c,y'];
  for (let i = 0; i < 40; i++) lines.push(`${i === 7 ? extreme : 10 + (i % 10)},${i % 3},${i % 2}`);
  return parseSiteTable(schema, lines.join('\n') + '\n', 'f.csv');
}
function plainSums(t: SiteTable, j: number) {
  let count = 0;
  let sum = 0;
  let sumSq = 0;
  for (const row of t.values) {
    const v = row[j];
    if (typeof v === 'number') {
      count++;
      sum += v;
      sumSq += v * v;
    }
  }
  return { count, sum, sumSq };
}

test('one extreme value that passes validation is clipped before summing: the agreed SD stays sane', () => {
  // median 14.5, robust SD 3.7065: 150 is 36.6 robust SDs out (under the 50 the table refuses), clipped to 14.5 + 10 * 3.7065.
  assert.deepEqual(robustScale(table('150').values.map((r) => r[0] as number)), { median: 14.5, scale: 1.4826 * 2.5, method: 'mad' });
  const t = table('150');
  const clipped = computeFeatureStats(schema, t).numeric.x!;
  assert.equal(clipped.count, 40);
  const plain = plainSums(t, 0);
  assert.ok(clipped.sum < plain.sum);
  const sd = (s: { count: number; sum: number; sumSq: number }) => Math.sqrt((s.sumSq - (s.sum * s.sum) / s.count) / (s.count - 1));
  const clean = plainSums(table('17'), 0);
  assert.ok(sd(plain) > 7 * sd(clean), `unclipped, one value inflates the SD (${sd(plain)} vs ${sd(clean)})`);
  assert.ok(sd(clipped) < 2.5 * sd(clean), `clipped SD ${sd(clipped)} vs clean ${sd(clean)}`);
  const bound = 14.5 + CLIP_ROBUST_SDS * 1.4826 * 2.5;
  assert.ok(Math.abs(clipped.sum - (plain.sum - 150 + bound)) < 1e-9);
});

test('a split is clipped by its whole file\'s bounds; a hand-built table by its own', () => {
  const t = table('150');
  const idx = Array.from({ length: 20 }, (_, i) => i);
  const split = selectRows(t, idx);
  assert.deepEqual(split.clipBounds, t.clipBounds);
  const fileBound = t.clipBounds![0]![1];
  const plain = plainSums(split, 0);
  const withFile = computeFeatureStats(schema, split).numeric.x!;
  assert.equal(withFile.count, 20);
  assert.ok(Math.abs(withFile.sum - (plain.sum - 150 + fileBound)) < 1e-9, 'the file\'s bound');
  // Without the file's bounds the split's own robust bounds clip it.
  const own = robustBounds(split.values.map((r) => r[0] as number), CLIP_ROBUST_SDS)!;
  const withOwn = computeFeatureStats(schema, { ...split, clipBounds: undefined }).numeric.x!;
  assert.ok(Math.abs(withOwn.sum - (plain.sum - 150 + own[1])) < 1e-9, 'its own bound');
});

test('a declared range is the clipping bound; non-finite values cannot reach the sums', () => {
  const ranged = compileSchema({ label: { column: 'y', threshold: 0 }, modalities: { a: ['x'] }, ranges: { x: [0, 100] } }, 'inline');
  const t = parseSiteTable(ranged, 'x,y\n1,0\n100,1\n', 'f.csv');
  assert.deepEqual(computeFeatureStats(ranged, t).numeric.x, { count: 2, sum: 101, sumSq: 10001 });
  const bare: SiteTable = { ...t, values: [[1], [Infinity], [NaN]], labels: new Uint8Array(3), lines: [2, 3, 4], patterns: ['1', '1', '1'], clipBounds: undefined };
  const s = computeFeatureStats(ranged, bare).numeric.x!;
  assert.deepEqual(s, { count: 2, sum: 101, sumSq: 10001 }, 'Infinity clipped to the range, NaN left out');
  const unranged = compileSchema({ label: { column: 'y', threshold: 0 }, modalities: { a: ['x'] } }, 'inline');
  const u = computeFeatureStats(unranged, { ...bare, values: [[1], [1], [Infinity]] }).numeric.x!;
  assert.ok(Number.isFinite(u.sumSq) && u.sum <= 2 + MAX_ABS_VALUE);
});

// The agreed scaling on the heart-disease files, as the code before robust clipping
// computed it (merged over the four whole files). Nothing is clipped there.
const PINNED: Record<string, [number, number]> = {
  age: [53.51086956521739, 9.424685209576849],
  trestbps: [132.28604651162792, 18.53617526438659],
  chol: [246.83286908077994, 58.52706158387355],
  thalach: [137.5456647398844, 25.92627649279762],
  oldpeak: [0.8787878787878788, 1.0912262483465298],
  ca: [0.6763754045307443, 0.9356530125599871],
};

function heart(): { s: Schema; tables: SiteTable[] } {
  const s = loadSchema(DIR + 'schema.json');
  return { s, tables: SITES.map((x) => loadSiteTable(s, `${DIR}processed.${x}.data`)) };
}

test('heart disease: agreed means, SDs and vocabularies are unchanged', () => {
  const { s, tables } = heart();
  const space = buildFeatureSpace(s, mergeFeatureStats(tables.map((t) => computeFeatureStats(s, t))));
  assert.equal(space.columns.length, 25);
  for (const c of space.columns.filter((c) => c.kind === 'numeric')) assert.deepEqual([c.mean, c.std], PINNED[c.feature], c.feature);
  assert.equal(
    space.columns
      .filter((c) => c.kind === 'category')
      .map((c) => `${c.feature}=${c.category}`)
      .join(' '),
    'sex=0 sex=1 cp=1 cp=2 cp=3 cp=4 restecg=0 restecg=1 restecg=2 fbs=0 fbs=1 exang=0 exang=1 slope=1 slope=2 slope=3 thal=3 thal=6 thal=7',
  );
});

test('heart disease: clipped sums equal the plain sums on every file and on training splits', () => {
  const { s, tables } = heart();
  const check = (t: SiteTable, what: string) => {
    const got: FeatureStats = computeFeatureStats(s, t);
    t.features.forEach((f, j) => {
      if (!s.categorical.has(f)) assert.deepEqual(got.numeric[f], plainSums(t, j), `${what} ${f}`);
    });
  };
  tables.forEach((t, k) => {
    check(t, SITES[k]!);
    for (const testFraction of [0.3, 0.7])
      for (let seed = 1; seed <= 25; seed++) check(prepareLocalData(t, { testFraction, seed }).train, `${SITES[k]} split ${testFraction}/${seed}`);
  });
});

test('mergeFeatureStats: a site\'s "__proto__" feature or category is a name like any other, never Object.prototype', () => {
  const hostile = JSON.parse('{"n":3,"numeric":{"__proto__":{"count":3,"sum":3,"sumSq":3}},"categories":{"__proto__":{"polluted":3}}}') as Parameters<typeof mergeFeatureStats>[0][number];
  const merged = mergeFeatureStats([hostile, hostile]);
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
  assert.equal(({} as Record<string, unknown>).count, undefined);
  assert.equal(merged.numeric['__proto__']!.count, 6);
  assert.equal(merged.categories['__proto__']!.polluted, 6);
});

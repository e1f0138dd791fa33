import assert from 'node:assert/strict';
import { test } from 'node:test';
import { encodeTable } from '../../../shared/data/encode.ts';
import { buildFeatureSpace } from '../../../shared/data/feature-space.ts';
import { compileSchema, loadSchema } from '../../../shared/data/schema.ts';
import { computeFeatureStats, mergeFeatureStats, type FeatureStats } from '../../../shared/data/stats.ts';
import { loadSiteTable, parseSiteTable } from '../../../shared/data/table.ts';
import { agreeVocabularies, DEFAULT_MAX_CATEGORIES, DEFAULT_MIN_CATEGORY_COUNT, foldToVocabulary, OTHER_CATEGORY } from '../../../shared/data/vocabulary.ts';
import { TaskMetaSchema } from '../../../shared/protocol/task-meta.ts';
import { prepareLocalData } from '../../../site-agent/local-data.ts';

const schema = compileSchema({ label: { column: 'y', threshold: 0 }, modalities: { a: ['x', 'ward'] }, categorical: ['ward'] }, 'inline');
const stats = (ward: Record<string, number>): FeatureStats => ({ n: 0, numeric: {}, categories: { ward } });
const wardColumns = (s: ReturnType<typeof buildFeatureSpace>) => s.columns.filter((c) => c.feature === 'ward').map((c) => (c.other ? '<other>' : c.category));

test('agreeVocabularies: a value below the minimum is folded; "other" is a column only when the folded rows reach the minimum too', () => {
  assert.deepEqual(agreeVocabularies(schema, stats({ B: 5, A: 9, 'Smith, John': 1 }), 5).get('ward'), { values: ['A', 'B'], other: false, source: 'observed' });
  assert.deepEqual(agreeVocabularies(schema, stats({ A: 9, r1: 2, r2: 3 }), 5).get('ward'), { values: ['A'], other: true, source: 'observed' });
  // Numeric codes keep numeric order (the order columns always had).
  assert.deepEqual(agreeVocabularies(schema, stats({ '10': 6, '2': 6, '1': 6 }), 5).get('ward')!.values, ['1', '2', '10']);
  assert.deepEqual(agreeVocabularies(schema, stats({ A: 1 }), 1).get('ward')!.values, ['A']);
  assert.throws(() => agreeVocabularies(schema, stats({}), 0), /minCount must be an integer >= 1/);
});

test('a declared vocabulary wins over observed counts: every declared value is a column, however rare or unseen', () => {
  const declared = compileSchema(
    { label: { column: 'y', threshold: 0 }, modalities: { a: ['x', 'ward'] }, categorical: ['ward'], categories: { ward: ['north', 'south', 'east'] } },
    'inline',
  );
  const v = agreeVocabularies(declared, stats({ north: 1, south: 40 }), 5).get('ward');
  assert.deepEqual(v, { values: ['east', 'north', 'south'], other: false, source: 'schema' });
  assert.deepEqual(wardColumns(buildFeatureSpace(declared, stats({ north: 1, south: 40 }))), ['east', 'north', 'south']);
});

/** 30 rows with ward A or B; row `rare` (if any) holds `value` instead. */
function csv(value: string, rare: number[]): string {
  const lines = ['x,ward,y'];
  for (let i = 0; i < 30; i++) lines.push(`${i},${rare.includes(i) ? `"${value}"` : i % 2 ? 'A' : 'B'},${(i >> 1) % 2}`);
  return lines.join('\n') + '\n';
}

test('a value in one row at one site never reaches the feature space; that site encodes it as an unseen category', () => {
  const rareSite = parseSiteTable(schema, csv('Smith, John 1961-02-03', [4]), 'rare.csv');
  const other = parseSiteTable(schema, csv('', []), 'other.csv');
  const merged = mergeFeatureStats([computeFeatureStats(schema, rareSite), computeFeatureStats(schema, other)]);
  assert.equal(merged.categories.ward!['Smith, John 1961-02-03'], 1, 'the coordinator sees the count (the fixture holds the value)');
  const space = buildFeatureSpace(schema, merged);
  assert.ok(!JSON.stringify(space).includes('Smith'), JSON.stringify(space));
  assert.deepEqual(wardColumns(space), ['A', 'B']);
  // Control: with no minimum the value would have been published.
  assert.ok(JSON.stringify(buildFeatureSpace(schema, merged, { minCategoryCount: 1 })).includes('Smith'));
  const enc = encodeTable(rareSite, space);
  const [a, b] = [space.columns.findIndex((c) => c.category === 'A'), space.columns.findIndex((c) => c.category === 'B')];
  assert.deepEqual([enc.x[4 * enc.dim + a], enc.x[4 * enc.dim + b], enc.observed[4 * enc.dim + a]], [0, 0, 1]);
});

test('rare values that together reach the minimum share the "other" column: sites encode them there, and the flag survives the task check', () => {
  const rows = [3, 8, 13, 18, 23];
  const t = parseSiteTable(schema, csv('', []), 'f.csv');
  // Five rows, each with a value of its own.
  rows.forEach((r, k) => (t.values[r]![1] = `ward-${k}`));
  const space = buildFeatureSpace(schema, computeFeatureStats(schema, t));
  assert.deepEqual(wardColumns(space), ['A', 'B', '<other>']);
  assert.ok(!JSON.stringify(space).includes('ward-'));
  const o = space.columns.findIndex((c) => c.other);
  assert.equal(space.columns[o]!.category, OTHER_CATEGORY);
  const enc = encodeTable(t, space);
  for (let i = 0; i < t.values.length; i++) assert.equal(enc.x[i * enc.dim + o], rows.includes(i) ? 1 : 0, `row ${i}`);
  // A literal "(other)" value is an ordinary category, not the other column.
  t.values[0]![1] = OTHER_CATEGORY;
  assert.equal(encodeTable(t, space).x[o], 1, 'an unpublished literal "(other)" folds like any other value');
  const meta = TaskMetaSchema.parse({ federation: 'f', round: 1, kind: 'stats', stage: 2, config: {}, weights: 0, featureSpace: space });
  assert.equal(meta.featureSpace!.columns[o]!.other, true);
});

test('foldToVocabulary: a site\'s counts name only published values; the rest are summed under a label', () => {
  const s = foldToVocabulary(stats({ A: 9, 'Smith, John': 1, Doe: 2 }), { ward: ['A'] });
  // Null-prototype maps (a site's names are data): compared as plain JSON.
  assert.deepEqual(JSON.parse(JSON.stringify(s.categories)), { ward: { A: 9, [OTHER_CATEGORY]: 3 } });
  // A feature named like an Object member folds as any unpublished one (it crashed the coordinator's readiness).
  const hostile = JSON.parse('{"n":3,"numeric":{},"categories":{"constructor":{"x":1},"__proto__":{"y":2}}}') as FeatureStats;
  const folded = foldToVocabulary(hostile, { ward: ['A'] });
  assert.deepEqual(JSON.parse(JSON.stringify(folded.categories)), { constructor: { [OTHER_CATEGORY]: 1 }, ['__proto__']: { [OTHER_CATEGORY]: 2 } });
});

test('heart-disease: the features of any federation of two or more sites are unchanged (every value is common)', () => {
  const DIR = new URL('../../../../shared/data/heart-disease/', import.meta.url).pathname;
  const hd = loadSchema(DIR + 'schema.json');
  const files = ['cleveland', 'hungarian', 'switzerland', 'va'].map((n) => `${DIR}processed.${n}.data`);
  const train = files.map((f) => computeFeatureStats(hd, prepareLocalData(loadSiteTable(hd, f), { testFraction: 0.3, seed: 1 }).train));
  const expected = { sex: ['0', '1'], cp: ['1', '2', '3', '4'], restecg: ['0', '1', '2'], fbs: ['0', '1'], exang: ['0', '1'], slope: ['1', '2', '3'], thal: ['3', '6', '7'] };
  for (let mask = 3; mask < 16; mask++) {
    const sel = train.filter((_, i) => mask & (1 << i));
    if (sel.length < 2) continue;
    const space = buildFeatureSpace(hd, mergeFeatureStats(sel));
    const cats: Record<string, string[]> = {};
    for (const c of space.columns) if (c.kind === 'category') (cats[c.feature] ??= []).push(c.other ? '<other>' : c.category!);
    assert.deepEqual(cats, expected, `sites ${mask.toString(2)}`);
    assert.equal(space.columns.length, 6 + 19, 'six numeric features, nineteen category columns');
  }
  // One site alone: Hungary's single slope = 3 row is folded.
  const alone = buildFeatureSpace(hd, train[1]!);
  assert.ok(!alone.columns.some((c) => c.feature === 'slope' && c.category === '3'));
  assert.equal(DEFAULT_MIN_CATEGORY_COUNT, 5);
});

test('an undeclared vocabulary publishes at most the most frequent values (a hostile site\'s made-up values cannot grow the model without bound)', () => {
  // One site claims 20,000 values of 5 rows each beside the real wards.
  const claimed: Record<string, number> = { A: 900, B: 400 };
  for (let k = 0; k < 20_000; k++) claimed[`fake${k}`] = 5;
  const v = agreeVocabularies(schema, stats(claimed), 5).get('ward')!;
  assert.equal(v.values.length, DEFAULT_MAX_CATEGORIES);
  assert.ok(v.values.includes('A') && v.values.includes('B'), 'the most frequent values are kept');
  assert.equal(v.other, true, 'the rest fold into "other"');
  assert.equal(wardColumns(buildFeatureSpace(schema, stats(claimed))).length, DEFAULT_MAX_CATEGORIES + 1);
  // The most frequent, ties in value order, published in value order.
  assert.deepEqual(agreeVocabularies(schema, stats({ c: 7, a: 9, b: 7, d: 6 }), 5, 2).get('ward'), { values: ['a', 'b'], other: true, source: 'observed' });
  assert.throws(() => agreeVocabularies(schema, stats({}), 5, 0), /maxValues must be an integer >= 1/);
});

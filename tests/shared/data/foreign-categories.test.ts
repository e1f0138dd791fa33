// A categorical column a site codes its own way (shared/data/foreign-categories.ts):
// yes/no where the others wrote Y/N, sex 1/2 beside M/F, is warned of, naming the site's
// values and the known ones; a site that lacks a category or holds a rare one of its own
// is not.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compileSchema } from '../../../shared/data/schema.ts';
import { parseSiteTable } from '../../../shared/data/table.ts';
import { buildFeatureSpace } from '../../../shared/data/feature-space.ts';
import { computeFeatureStats } from '../../../shared/data/stats.ts';
import { foreignCategoryNotes, othersVocabularies, spaceVocabularies } from '../../../shared/data/foreign-categories.ts';

const schema = compileSchema({ label: { column: 'y', threshold: 0 }, modalities: { history: ['smoker', 'sex'] }, categorical: ['smoker', 'sex'] }, 'schema.json');
/** A file of `n` rows: smoker and sex from the given lists, cycled. */
function site(name: string, n: number, smoker: string[], sex: string[]) {
  const lines = ['smoker,sex,y', ...Array.from({ length: n }, (_, i) => `${smoker[i % smoker.length]},${sex[i % sex.length]},${i % 2}`)];
  return parseSiteTable(schema, lines.join('\n'), name);
}

test('a site coding a column another way is named with its values and the known ones', () => {
  const a = site('a.csv', 60, ['Y', 'N', 'N'], ['M', 'F']);
  const b = site('b.csv', 60, ['N', 'Y'], ['F', 'M', 'F']);
  // NA is a missing value (the schema's default missingValues): not counted.
  const e = site('e.csv', 50, ['yes', 'no', 'no', 'NA'], ['M', 'F']);
  const known = othersVocabularies(schema, [a, b]).values;
  assert.deepEqual(Object.fromEntries(known), { smoker: ['N', 'Y'], sex: ['F', 'M'] });
  const notes = foreignCategoryNotes('test site "e" (e.csv)', e, known, "the other training sites' values");
  assert.equal(notes.length, 1, notes.join('\n'));
  assert.match(
    notes[0]!,
    /^test site "e" \(e\.csv\): column "smoker": 38 of its 38 observed values are not in the other training sites' values \("N", "Y"\): "no" \(25\), "yes" \(13\); the same categories coded another way/,
  );
  // Sex 1/2 at a training site beside M/F elsewhere: its own categories, said the same way.
  const c = site('c.csv', 60, ['Y', 'N'], ['1', '2', '2']);
  const sex = foreignCategoryNotes('site "c"', c, othersVocabularies(schema, [a, b]).values, 'x');
  assert.equal(sex.length, 1);
  assert.match(sex[0]!, /^site "c": column "sex": 60 of its 60 observed values are not in x \("F", "M"\): "2" \(40\), "1" \(20\);/);
});

test('a site lacking a category, or holding a rare one of its own, says nothing', () => {
  const a = site('a.csv', 60, ['Y', 'N'], ['M', 'F']);
  const onlyN = site('n.csv', 40, ['N'], ['M', 'F']);
  const rare = site('r.csv', 40, ['Y', 'N', 'N', 'unknown'], ['M', 'F', 'M', 'M', 'X']);
  const known = othersVocabularies(schema, [a]).values;
  assert.deepEqual(foreignCategoryNotes('n', onlyN, known, 'x'), []);
  assert.deepEqual(foreignCategoryNotes('r', rare, known, 'x'), []);
  // A value another site holds in one row is no other coding (VA's thal = 3 in 4 rows beside Cleveland's 166).
  const oneY = site('o.csv', 40, ['Y', ...Array<string>(39).fill('N')], ['M', 'F']);
  const mostlyY = site('y.csv', 40, ['Y'], ['M', 'F']);
  assert.deepEqual(foreignCategoryNotes('y', mostlyY, othersVocabularies(schema, [oneY]).values, 'x'), []);
  // No known values (nobody else observed the column): nothing to compare with.
  assert.deepEqual(foreignCategoryNotes('n', onlyN, new Map(), 'x'), []);
});

test('values rarer than minNamed are counted, not named, on both sides: a column of record numbers put other sites\' in a results file', () => {
  const ids = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}${1000 + i}`);
  // A training site's smoker column holds record numbers (one row each) beside a common "N".
  const a = site('a.csv', 60, [...ids('MRN-A', 20), ...Array<string>(40).fill('N')], ['M', 'F']);
  const e = site('e.csv', 40, [...ids('MRN-E', 8), ...Array<string>(32).fill('no')], ['M', 'F']);
  const known = othersVocabularies(schema, [a], 5);
  assert.equal(known.values.get('smoker')!.length, 21, 'compared with every value');
  assert.deepEqual(known.named.get('smoker'), ['N']);
  const [note] = foreignCategoryNotes('test site "e"', e, known.values, 'theirs', { minNamed: 5, namedKnown: known.named });
  assert.match(note!, /not in theirs \("N", and 20 values of fewer than 5 rows, unnamed\): "no" \(32\), and 8 values of fewer than 5 rows each, unnamed; the same categories/);
  assert.doesNotMatch(note!, /MRN/);
  // Without naming options, every value is named (a site's own log, of its own values against the federation's vocabulary).
  assert.match(foreignCategoryNotes('e', e, known.named, 'theirs')[0]!, /"MRN-E1000" \(1\)/);
});

test('a feature space names each feature\'s values, "other" not among them', () => {
  const a = site('a.csv', 60, ['Y', 'N', 'N', 'Y', 'Y', 'N', 'x1', 'x2', 'x3', 'x4'], ['M', 'F']);
  const space = buildFeatureSpace(schema, computeFeatureStats(schema, a), { minCategoryCount: 7 });
  assert.ok(space.columns.some((c) => c.other), 'x1..x4 fold into "other"');
  assert.deepEqual(Object.fromEntries(spaceVocabularies(space)), { smoker: ['N', 'Y'], sex: ['F', 'M'] });
});

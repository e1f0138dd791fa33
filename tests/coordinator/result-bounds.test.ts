import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compileSchema } from '../../shared/data/schema.ts';
import { checkControlVariate, checkFitResult, checkResultCounts, maxResultPayload, type ResultContext } from '../../coordinator/result-bounds.ts';
import { ProtocolError } from '../../shared/errors.ts';
import type { ResultMeta } from '../../shared/protocol/messages.ts';

const BOUNDS = { maxExamplesPerSite: 1000 };
const meta = (m: Partial<ResultMeta>): ResultMeta => ({ round: 1, kind: 'fit', numExamples: 100, metrics: {}, weights: 0, ...m });
const at = (c: Partial<ResultContext>): ResultContext => ({ site: 's', kind: 'fit', rows: 100, rowsKept: true, ...c });
const refused = (m: ResultMeta, c: ResultContext, pattern: RegExp) =>
  assert.throws(() => checkResultCounts(m, c, BOUNDS), (e: unknown) => e instanceof ProtocolError && e.reason === 'out-of-bounds' && pattern.test(e.message));

test('sound counts pass', () => {
  checkResultCounts(meta({ patternCounts: { '101': [40, 60] } }), at({}), BOUNDS);
  checkResultCounts(meta({ kind: 'stats', numExamples: 7, patternCounts: { a: [3, 4] }, featureStats: { n: 7, numeric: {}, categories: {} } }), at({ kind: 'stats', stage: 1, rows: undefined }), BOUNDS);
  // A test-only site sends no statistics: its evaluation is judged by the cap alone.
  checkResultCounts(meta({ kind: 'evaluate', numExamples: 0, evaluation: { n: 50, auroc: 0.5, accuracy: 0.5, balancedAccuracy: 0.5, ece: 0 } }), at({ kind: 'evaluate', rows: undefined }), BOUNDS);
});

test('an example count over the cap, negative, fractional, or other than stage 1 is refused', () => {
  refused(meta({ numExamples: 1e12 }), at({}), /numExamples must be an integer from 0 to limits\.maxExamplesPerSite 1000 \(got 1000000000000\)/);
  refused(meta({ numExamples: -1 }), at({}), /got -1/);
  refused(meta({ numExamples: 2.5 }), at({}), /got 2\.5/);
  refused(meta({ kind: 'stats', numExamples: 1001 }), at({ kind: 'stats', stage: 1, rows: undefined }), /maxExamplesPerSite/);
  refused(meta({ numExamples: 101 }), at({}), /numExamples 101 differs from the 100 rows it reported at the statistics stage/);
  refused(meta({ kind: 'stats', numExamples: 99 }), at({ kind: 'stats', stage: 2 }), /differs from the 100 rows/);
  refused(meta({}), at({ rows: undefined }), /reported no rows at the statistics stage/);
  // Resumed from state saved before the rows were kept: the cap alone.
  checkResultCounts(meta({ numExamples: 5 }), at({ rows: undefined, rowsKept: false }), BOUNDS);
});

test('pattern and cell counts: non-negative integers adding up to at most the rows', () => {
  refused(meta({ patternCounts: { '0000': [-5, 10] } }), at({}), /patternCounts\["0000"\] must be two integer counts from 0 to its 100 rows \(got \[-5,10\]\)/);
  refused(meta({ patternCounts: { a: [1.5, 0] } }), at({}), /patternCounts\["a"\]/);
  refused(meta({ patternCounts: { a: [60, 0], b: [0, 60] } }), at({}), /patternCounts add up to 120, more than its 100 rows/);
  refused(meta({ patternCounts: { a: [1] } as never }), at({}), /two integer counts/);
  refused(meta({ kind: 'stats', cellCounts: { 'x|1': [0, 101] } }), at({ kind: 'stats', stage: 3 }), /cellCounts\["x\|1"\]/);
  // An attacker's key is quoted only in part.
  refused(meta({ patternCounts: { ['k'.repeat(10_000)]: [-1, 0] } }), at({}), /^fit from site "s": patternCounts\["k{40}"\]/);
});

test('feature statistics and class moments: counts within the rows, and within their class', () => {
  const fs = (n: number, count: number, cats: Record<string, number> = {}) => ({ n, numeric: { age: { count, sum: 0, sumSq: 0 } }, categories: { sex: cats } });
  checkResultCounts(meta({ kind: 'stats', featureStats: fs(100, 90, { m: 50, f: 50 }) }), at({ kind: 'stats', stage: 1 }), BOUNDS);
  refused(meta({ kind: 'stats', featureStats: fs(101, 1) }), at({ kind: 'stats', stage: 1 }), /featureStats\.n must be an integer from 0 to its 100 rows/);
  refused(meta({ kind: 'stats', featureStats: fs(100, -1) }), at({ kind: 'stats', stage: 1 }), /featureStats\.numeric\["age"\]\.count/);
  refused(meta({ kind: 'stats', featureStats: fs(100, 1, { m: 80, f: 80 }) }), at({ kind: 'stats', stage: 1 }), /categories\["sex"\] add up to 160/);
  const cls = (rows: number, colCount: number[]) => ({ rows, colCount, pairCount: [] });
  const both = (classes: unknown[], centred: unknown[] = classes) => meta({ kind: 'stats', classMoments: { dim: 1, classes }, classMomentsWithinSite: { dim: 1, classes: centred } });
  checkResultCounts(both([cls(60, [60]), cls(40, [39])]), at({ kind: 'stats', stage: 2 }), BOUNDS);
  refused(both([cls(60, [60]), cls(60, [1])]), at({ kind: 'stats', stage: 2 }), /classMoments rows add up to 120/);
  refused(both([cls(60, [61]), cls(40, [1])]), at({ kind: 'stats', stage: 2 }), /classes\[0\]\.colCount/);
  refused(both([cls(-1, [0]), cls(40, [1])]), at({ kind: 'stats', stage: 2 }), /classes\[0\]\.rows/);
  refused(both([cls(60, [60]), cls(40, [39])], [cls(60, [60]), cls(40, [41])]), at({ kind: 'stats', stage: 2 }), /classMomentsWithinSite\.classes\[1\]\.colCount/);
  refused(meta({ kind: 'stats', classMoments: { dim: 1, classes: [cls(60, [60]), cls(40, [39])] } }), at({ kind: 'stats', stage: 2 }), /classMomentsWithinSite is missing: protocol 3/);
});

test('feature statistics: sums are finite numbers that values within MAX_ABS_VALUE can add up to, with a variance >= 0', () => {
  const stage1 = at({ kind: 'stats', stage: 1 });
  const num = (sum: unknown, sumSq: unknown, count = 100) => meta({ kind: 'stats', featureStats: { n: 100, numeric: { age: { count, sum, sumSq } as never }, categories: {} } });
  // Honest sums: 100 ages around 54; a constant column whose sumSq reads a hair under sum^2 / count by rounding; no values at all.
  checkResultCounts(num(5400, 100 * 54 * 54 + 8100), stage1, BOUNDS);
  checkResultCounts(num(0.1 * 3, 3 * 0.1 * 0.1 * (1 - 1e-15), 3), stage1, BOUNDS);
  checkResultCounts(num(0, 0, 0), stage1, BOUNDS);
  checkResultCounts(num(-100 * 1e15, 100 * 1e30), stage1, BOUNDS);
  // An outside attack: "abc" published a mean of null (every honest site refused the feature space); 1e300 an SD beyond float32 (NaN loss everywhere).
  refused(num('abc', 1), stage1, /featureStats\.numeric\["age"\]\.sum must be a finite number \(got "abc"\)/);
  refused(num(1, null), stage1, /\.sumSq must be a finite number \(got null\)/);
  refused(num(Infinity, 1), stage1, /\.sum must be a finite number/);
  refused(num(1e300, 1e300), stage1, /\.sum 1e\+300 is more than 100 values within \+-1000000000000000 add up to/);
  refused(num(10, 1e300), stage1, /\.sumSq 1e\+300 must be from 0 to what 100 values/);
  refused(num(10, -1), stage1, /\.sumSq -1 must be from 0/);
  refused(num(5, 0, 0), stage1, /\.sum 5 is more than 0 values/);
  refused(num(5400, 100 * 54 * 54 * 0.99), stage1, /featureStats\.numeric\["age"\]: sum 5400 and sumSq 288684 of 100 values would give a negative variance/);
  // The shape the sums are merged from: a site sending none, or something else, is refused, not merged.
  refused(meta({ kind: 'stats' }), stage1, /featureStats is missing/);
  refused(meta({ kind: 'stats', featureStats: { n: 100, numeric: 'x', categories: {} } as never }), stage1, /numeric and featureStats\.categories must be objects/);
  refused(meta({ kind: 'stats', featureStats: { n: 100, numeric: {}, categories: { sex: 'mf' } } as never }), stage1, /categories\["sex"\] must be an object of counts/);
});

test('feature statistics name only the schema\'s features, each where its kind belongs ("constructor" crashed the coordinator)', () => {
  const schema = compileSchema({ label: { column: 'y', threshold: 0 }, modalities: { a: ['age', 'sex'] }, categorical: ['sex'] }, 'inline');
  const stage1 = at({ kind: 'stats', stage: 1, schema });
  const stats = (numeric: Record<string, unknown>, categories: Record<string, unknown>) =>
    meta({ kind: 'stats', featureStats: { n: 100, numeric: numeric as never, categories: categories as never } });
  const age = { count: 10, sum: 500, sumSq: 26000 };
  checkResultCounts(stats({ age }, { sex: { m: 5, f: 5 } }), stage1, BOUNDS);
  refused(stats({ age }, JSON.parse('{"constructor":{"x":1}}')), stage1, /featureStats\.categories\["constructor"\] is not a categorical feature of the federation's schema/);
  refused(stats(JSON.parse('{"__proto__":{"count":1,"sum":1,"sumSq":1}}'), {}), stage1, /featureStats\.numeric\["__proto__"\] is not a numeric feature/);
  refused(stats({ age, sex: age }, {}), stage1, /featureStats\.numeric\["sex"\] is not a numeric feature/);
  refused(stats({}, { age: { x: 1 } }), stage1, /featureStats\.categories\["age"\] is not a categorical feature/);
});

test('a result may claim its weights and the meta allowance, no more', () => {
  assert.equal(maxResultPayload('fit', 10, 1024), 4 + 1024 + 40);
  assert.equal(maxResultPayload('stats', 10, 1024), 4 + 1024);
  assert.equal(maxResultPayload('evaluate', 10, 1024), 4 + 1024);
});

test("a control variate (SCAFFOLD) must be one finite number per parameter; none passes", () => {
  checkControlVariate(undefined, 3);
  checkControlVariate([0, -1.5, 2e-9], 3);
  const refused = (cv: unknown, re: RegExp) =>
    assert.throws(() => checkControlVariate(cv, 3), (e: unknown) => e instanceof ProtocolError && e.reason === 'malformed' && re.test(e.message));
  refused([1, 2], /must be an array of 3 numbers \(one per parameter\); got 2/);
  refused('1,2,3', /got a string/);
  refused([1, null, 3], /entry 1 is null, not a finite number/);
  refused([1, 2, Infinity], /entry 2 is Infinity, not a finite number/);
  refused([1, '2', 3], /entry 1 is "2"/);
});

test('a fit result: the model\'s weight count, and a control variate only when the round asked for one', () => {
  checkFitResult({ weights: 3 }, 3);
  checkFitResult({ weights: 3, controlVariate: [1, 2, 3] }, 3, true);
  assert.throws(() => checkFitResult({ weights: 2 }, 3), /update has 2 weights, the model has 3/);
  assert.throws(() => checkFitResult({ weights: 3, controlVariate: [1, 2, 3] }, 3), /carries a control variate the round did not ask for/);
  assert.throws(() => checkFitResult({ weights: 3, controlVariate: [1, 2] }, 3, true), /array of 3 numbers/);
});

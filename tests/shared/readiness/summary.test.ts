// The federation summary: built from the summed statistics alone, survives JSON, and
// a malformed or newer one is refused with the field at fault.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InputError } from '../../../shared/errors.ts';
import { parseFederationSummary, roughCount, schemaFingerprint } from '../../../shared/readiness/summary.ts';
import { heartSums, schema, summaryOf } from './heart.ts';

const sums = heartSums();
const summary = summaryOf(Object.values(sums));

test('the heart summary: rows of the prior\'s patterns to the nearest 10, pooled label rate, agreed scaling to 4 figures, the suppressed pattern named without counts', () => {
  // 920 rows in all, 918 in the prior's patterns (507 positive): published as 920 and 510, from which
  // no small cell can be subtracted (exact, 920 less the prior's own denominator gave the suppressed 2).
  assert.equal(summary.rows, 920);
  assert.equal(summary.positives, 510);
  assert.equal(summary.labelRate, 0.552);
  assert.equal(summary.schema.fingerprint, schemaFingerprint(schema));
  // age is never missing: its agreed mean is the plain mean over the 920 rows, to 4 figures (whole ages summed over an exact mean gave the count back).
  const ageSum = Object.values(sums).reduce((a, s) => a + s.featureStats.numeric.age!.sum, 0);
  assert.equal(summary.numeric.age!.mean, Number((ageSum / 920).toPrecision(4)));
  assert.equal(summary.numeric.age!.count, 920, 'to the nearest 10: no finer than the suppression');
  assert.equal(summary.numeric.chol!.count % 10, 0);
  assert.deepEqual([roughCount(914, 5), roughCount(915, 5), roughCount(924, 5), roughCount(925, 5), roughCount(29, 20)], [910, 920, 920, 930, 40]);
  assert.deepEqual(summary.categorical.thal, ['3', '6', '7']);
  // 1111001 has 2 rows in all (one at switzerland, one at VA): under the min cell count of 5.
  assert.deepEqual(summary.prior.suppressed, ['1111001']);
  assert.ok(!summary.prior.patterns.some((p) => p.pattern === '1111001'));
  assert.ok(Math.abs(summary.prior.patterns.reduce((a, p) => a + p.p, 0) - 1) < 1e-12);
  assert.ok(!JSON.stringify(summary).includes('cleveland'), 'no site is named');
});

test('a summary survives JSON and is refused, naming the field, when malformed or newer', () => {
  const round = parseFederationSummary(JSON.parse(JSON.stringify(summary)), 's.json');
  assert.deepEqual(round, summary);
  const bad = (edit: (s: Record<string, unknown>) => void, msg: RegExp) => {
    const s = JSON.parse(JSON.stringify(summary)) as Record<string, unknown>;
    edit(s);
    assert.throws(() => parseFederationSummary(s, 's.json'), (e: unknown) => e instanceof InputError && msg.test(e.message));
  };
  bad((s) => (s.version = 2), /^s\.json: not a federation summary: field "version": .*up to 1/);
  bad((s) => delete s.labelRate, /field "labelRate"/);
  bad((s) => ((s.prior as { suppressed: unknown[] }).suppressed = ['12']), /field "prior\.suppressed\.0"/);
  bad((s) => (s.extra = 1), /^s\.json: not a federation summary: field "\(top level\)"/);
});

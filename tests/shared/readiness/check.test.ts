// The readiness check on constructed sites (each made by editing cleveland's file so
// exactly one thing is off) and on the four heart-disease hospitals against a summary
// built from those four.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkReadiness, READINESS_THRESHOLDS, type ReadinessReport } from '../../../shared/readiness/check.ts';
import { editedCsv, heartSums, summaryOf, sumsOfCsv } from './heart.ts';

const sums = heartSums();
const summary = summaryOf(Object.values(sums));

function kinds(r: ReadinessReport): string[] {
  return r.reasons.filter((x) => x.severity !== 'note').map((x) => `${x.severity}:${x.kind}:${x.subject ?? ''}`);
}

test('the four heart-disease hospitals pass against the summary built from them: none is not-ready, none has an unseen pattern', () => {
  for (const [name, s] of Object.entries(sums)) {
    const r = checkReadiness(s, summary);
    assert.notEqual(r.verdict, 'not-ready', `${name}: ${JSON.stringify(r.reasons)}`);
    assert.ok(!r.reasons.some((x) => x.kind === 'unseen-pattern' || x.kind === 'unseen-category' || x.kind === 'schema'), name);
    assert.ok(r.largestShift && Math.abs(r.largestShift.smd) < READINESS_THRESHOLDS.smdSevere, name);
  }
  // Cleveland sits near the pooled figures; Switzerland's label rate (115 of 123 positive) does not.
  assert.equal(checkReadiness(sums.cleveland!, summary).verdict, 'ready');
  const ch = checkReadiness(sums.switzerland!, summary);
  const rate = ch.reasons.find((x) => x.kind === 'label-rate');
  assert.ok(rate, JSON.stringify(ch.reasons));
  assert.equal(rate.figures!.siteRate, 115 / 123);
});

test('a site with rows in a pattern the prior lacks is warned, with their share', () => {
  // cp missing in 30 rows: pattern 1011111 (symptoms missing), which no hospital has.
  const site = sumsOfCsv(editedCsv('cleveland', (row, i) => void (i < 30 && (row.cp = '?'))));
  const r = checkReadiness(site, summary);
  assert.equal(r.verdict, 'ready-with-warnings');
  const unseen = r.reasons.filter((x) => x.kind === 'unseen-pattern');
  assert.deepEqual(unseen.map((x) => x.subject), ['1011111']);
  assert.equal(unseen[0]!.figures!.rows, 30);
  assert.equal(unseen[0]!.figures!.share, 30 / 303);
  assert.match(unseen[0]!.message, /pattern 1011111 \(missing: symptoms\): 30 rows \(9\.9% of the site's\)/);
});

test('shifted features: a mild shift warns, a severe one (another unit) makes the site not ready', () => {
  // age + 6 years: about 0.6 pooled SDs above; chol in mmol/L instead of mg/dL: far below.
  const site = sumsOfCsv(
    editedCsv('cleveland', (row) => {
      row.age = String(Number(row.age) + 6);
      row.chol = String((Number(row.chol) / 38.67).toFixed(2));
    }),
  );
  const r = checkReadiness(site, summary);
  assert.equal(r.verdict, 'not-ready');
  assert.deepEqual(kinds(r).sort(), ['blocking:sd-ratio:chol', 'blocking:shifted-mean:chol', 'warning:shifted-mean:age']);
  const age = r.reasons.find((x) => x.subject === 'age')!;
  assert.ok(age.figures!.smd! > READINESS_THRESHOLDS.smdWarn && age.figures!.smd! < READINESS_THRESHOLDS.smdSevere, String(age.figures!.smd));
  assert.equal(r.largestShift!.feature, 'chol');
  assert.ok(r.largestShift!.smd < -3, String(r.largestShift!.smd));
});

test('a label rate far from the pooled one warns; one within the bound does not', () => {
  // Cleveland has 139 of 303 positive; relabelling negatives moves its rate.
  const relabel = (k: number) => {
    let done = 0;
    return sumsOfCsv(editedCsv('cleveland', (row) => void (row.num === '0' && done < k && ((row.num = '1'), done++))));
  };
  const far = checkReadiness(relabel(120), summary);
  assert.deepEqual(kinds(far), ['warning:label-rate:']);
  assert.equal(far.reasons[0]!.figures!.siteRate, 259 / 303);
  const near = checkReadiness(relabel(20), summary);
  assert.equal(near.verdict, 'ready', JSON.stringify(near.reasons));
});

test('a category value the federation never saw warns, naming it', () => {
  const site = sumsOfCsv(editedCsv('cleveland', (row, i) => void (i < 5 && (row.thal = '9'))));
  const r = checkReadiness(site, summary);
  assert.deepEqual(kinds(r), ['warning:unseen-category:thal']);
  assert.match(r.reasons[0]!.message, /thal: value "9" \(5 rows\) not in the federation's vocabulary \(3, 6, 7\)/);
});

test('counts under smallCell (the coordinator\'s status of a named site) read "fewer than N rows", without figures; the site\'s own check keeps them', () => {
  const site = sumsOfCsv(editedCsv('cleveland', (row, i) => void (i < 2 && (row.cp = '?'), i >= 2 && i < 5 && (row.thal = '9'))));
  const coarse = checkReadiness(site, summary, undefined, { smallCell: 5 });
  const pattern = coarse.reasons.find((x) => x.kind === 'unseen-pattern')!;
  assert.match(pattern.message, /^pattern 1011111 \(missing: symptoms\): fewer than 5 rows in a missingness pattern/);
  assert.equal(pattern.figures, undefined);
  const category = coarse.reasons.find((x) => x.kind === 'unseen-category')!;
  assert.match(category.message, /thal: value "9" \(fewer than 5 rows\) not in/);
  assert.equal(category.figures, undefined);
  assert.equal(coarse.verdict, 'ready-with-warnings', 'the verdict is the same');
  const exact = checkReadiness(site, summary);
  assert.match(exact.reasons.find((x) => x.kind === 'unseen-pattern')!.message, /: 2 rows \(0\.66% of the site's\)/);
  assert.match(checkReadiness(site, summary, undefined, { smallCell: 3 }).reasons.find((x) => x.kind === 'unseen-category')!.message, /"9" \(3 rows\)/, 'at the threshold: said');
});

test('another schema is not ready, and nothing else is compared', () => {
  const r = checkReadiness({ ...sums.cleveland!, schemaFingerprint: '0'.repeat(64) }, summary);
  assert.equal(r.verdict, 'not-ready');
  assert.deepEqual(kinds(r), ['blocking:schema:']);
});

// The one site whose statistics alone set a column's federation scale (coordinator/scale-setter.ts):
// named only where the others' values can say what the scale is, where exactly one site does
// it, and only the others' blocking mean/SD reasons on that column are made warnings.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { blameScaleSetters, scaleSetters } from '../../coordinator/scale-setter.ts';
import { sampleSd, type FeatureStats } from '../../shared/data/stats.ts';
import { READINESS_THRESHOLDS, type ReadinessReport, type Reason, type Thresholds } from '../../shared/readiness/check.ts';

/** A site's sums of one numeric column `chol`: `count` values of mean `mean` and sample SD `sd`. */
function chol(count: number, mean = 200, sd = 40): FeatureStats {
  return { n: count, numeric: { chol: { count, sum: count * mean, sumSq: (count - 1) * sd * sd + count * mean * mean } }, categories: {} };
}
/** A hostile site: values near +-1e14 (each within the bounds), mean 0. */
/** The readiness thresholds with another sdRatioSevere. */
const severeAt = (sdRatioSevere: number) => ({ ...READINESS_THRESHOLDS, sdRatioSevere }) as Thresholds;
const wide = (count = 100): FeatureStats => ({ n: count, numeric: { chol: { count, sum: 0, sumSq: count * 1e28 } }, categories: {} });

test('with three sites, the one at 1e14 is named; with two, nobody is (the other alone is no federation to compare with)', () => {
  const three = scaleSetters(new Map([['a', chol(100)], ['b', chol(100)], ['x', wide()]]));
  assert.equal(three.get('chol')?.site, 'x', 'three sites: x sets the scale');
  assert.ok(three.get('chol')!.ratio >= READINESS_THRESHOLDS.sdRatioSevere);
  assert.equal(scaleSetters(new Map([['a', chol(100)], ['x', wide()]])).size, 0, 'two sites: no scale-setter');
});

// Fewer than 2 x minValues (20) values among the other sites say too little of the column's scale.
test('a site is named only where the other sites hold at least 2 x minValues values', () => {
  const sites = (a: number, b: number) => new Map([['a', chol(a)], ['b', chol(b)], ['x', wide()]]);
  assert.equal(scaleSetters(sites(10, 9)).size, 0, 'the others hold 19 values: nobody named');
  assert.equal(scaleSetters(sites(10, 10)).get('chol')?.site, 'x', 'the others hold 20 values: x named');
});

test('the ratio threshold: at sdRatioSevere the site is named, above it not; others without spread name nobody', () => {
  const sites = new Map([['a', chol(30, 200, 40)], ['b', chol(30, 200, 40)], ['x', chol(30, 200, 400)]]);
  const at = scaleSetters(sites, severeAt(1));
  const ratio = at.get('chol')?.ratio;
  assert.ok(ratio !== undefined && ratio > 2, `x widens the SD: ${JSON.stringify([...at])}`);
  assert.equal(scaleSetters(sites, severeAt(ratio)).get('chol')?.site, 'x', 'a ratio at the threshold names the site');
  assert.equal(scaleSetters(sites, severeAt(ratio * (1 + 1e-9))).size, 0, 'a ratio below the threshold names nobody');
  // Every other value the same (SD 0): no ratio to read.
  assert.equal(scaleSetters(new Map([['a', chol(30, 200, 0)], ['b', chol(30, 200, 0)], ['x', wide()]])).size, 0, 'others with SD 0: nobody named');
});

// Two sites that each widen the scale past the threshold: neither alone sets it.
test('where two sites each set the scale by the threshold, neither is named', () => {
  const sites = new Map([['a', chol(30, 0, 1)], ['x', chol(30, 0, 10)], ['y', chol(30, 0, 10)]]);
  const t = severeAt(1.1);
  const sd = (names: string[]) => sampleSd(names.map((n) => sites.get(n)!.numeric.chol!).reduce((u, v) => ({ count: u.count + v.count, sum: u.sum + v.sum, sumSq: u.sumSq + v.sumSq })));
  // Left out, each of x and y leaves an SD (about 7.0) below the federation's (about 8.1) / 1.1.
  for (const [s, others] of [['x', ['a', 'y']], ['y', ['a', 'x']]] as const) assert.ok(sd(['a', 'x', 'y']) >= 1.1 * sd([...others]), `${s} alone would be a setter`);
  assert.equal(scaleSetters(sites, t).size, 0, 'x and y both: nobody named');
});

test('blaming the setter: only the other sites\' blocking mean/SD reasons on its column become warnings that point to it', () => {
  const perSite = new Map([['a', chol(100)], ['b', chol(100)], ['x', wide()]]);
  const reason = (severity: Reason['severity'], kind: Reason['kind'], subject?: string): Reason => ({ severity, kind, subject, message: `${subject}: ${kind}` });
  const report = (...reasons: Reason[]): ReadinessReport => ({ verdict: 'not-ready', reasons });
  const sites = {
    a: report(reason('blocking', 'sd-ratio', 'chol'), reason('blocking', 'shifted-mean', 'chol'), reason('blocking', 'foreign-coding', 'chol'), reason('warning', 'sd-ratio', 'chol'), reason('blocking', 'sd-ratio', 'age'), reason('blocking', 'rows')),
    b: report(reason('blocking', 'sd-ratio', 'chol')),
    x: report(reason('blocking', 'sd-ratio', 'chol')),
  };
  const out = blameScaleSetters(sites, perSite);
  const pointer = /^chol: (sd-ratio|shifted-mean); the federation's scale of chol is set by site "x" \(see its readiness\), not by this site$/;
  const a = out.a!.reasons;
  for (const r of a.slice(0, 2)) assert.ok(r.severity === 'warning' && pointer.test(r.message), `made a warning pointing to x: ${JSON.stringify(r)}`);
  assert.deepEqual(a.slice(2), sites.a.reasons.slice(2), 'another kind, a warning, another column and a reason without a column stay as they were');
  assert.equal(out.a!.verdict, 'not-ready');
  assert.equal(out.b!.verdict, 'ready-with-warnings', 'b\'s only blocking reason was x\'s doing');
  assert.deepEqual(out.x!.reasons[0], sites.x.reasons[0], 'the setter\'s own reason is not softened');
  assert.equal(out.x!.reasons[1]?.kind, 'sets-scale');
  assert.equal(out.x!.verdict, 'not-ready');
  // No setter: the reports are returned as they are.
  const honest = new Map([['a', chol(100)], ['b', chol(100)], ['x', chol(100)]]);
  assert.equal(blameScaleSetters(sites, honest), sites, 'no setter: the same reports');
});

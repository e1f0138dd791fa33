import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkReportedFigures, type FigureContext } from '../../coordinator/result-figures.ts';
import { ProtocolError } from '../../shared/errors.ts';
import { calibrationSums } from '../../shared/metrics/calibration.ts';
import type { ResultMeta } from '../../shared/protocol/messages.ts';

const EVAL = { n: 50, auroc: 0.8, accuracy: 0.7, balancedAccuracy: 0.65, ece: 0.05 };
const meta = (m: Partial<ResultMeta>): ResultMeta => ({ round: 1, kind: 'fit', numExamples: 100, metrics: { loss: 0.4, steps: 10, trainMs: 12.5 }, weights: 0, ...m });
const at = (c: Partial<FigureContext> = {}): FigureContext => ({ site: 'va', kind: 'fit', maxExamplesPerSite: 1000, ...c });
const refused = (m: ResultMeta, reason: ProtocolError['reason'], pattern: RegExp, c = at()) =>
  assert.throws(() => checkReportedFigures(m, c), (e: unknown) => e instanceof ProtocolError && e.reason === reason && pattern.test(e.message));

test('sound figures pass as they are; undefined rates (null on the wire) too', () => {
  const m = meta({ evaluation: { ...EVAL, auroc: null as never, balancedAccuracy: NaN, loss: 0.6 } });
  assert.deepEqual(checkReportedFigures(m, at()), []);
  assert.deepEqual(m.evaluation, { ...EVAL, auroc: null, balancedAccuracy: NaN, loss: 0.6 });
  assert.deepEqual(m.metrics, { loss: 0.4, steps: 10, trainMs: 12.5 });
  // Other kinds carry no metrics of their own.
  assert.deepEqual(checkReportedFigures({ round: 1, kind: 'stats', numExamples: 3, weights: 0 } as never, at({ kind: 'stats' })), []);
});

test("an evaluation's rates outside [0, 1], a negative or non-finite loss, a string: refused, naming the field (an outside attack's figures)", () => {
  refused(meta({ evaluation: { ...EVAL, auroc: 57 } }), 'out-of-bounds', /^fit from site "va": evaluation\.auroc must be a number in \[0, 1\], or null where undefined \(got 57\)$/);
  refused(meta({ evaluation: { ...EVAL, accuracy: -3 } }), 'out-of-bounds', /evaluation\.accuracy .* \(got -3\)/);
  refused(meta({ evaluation: { ...EVAL, ece: 1e300 } }), 'out-of-bounds', /evaluation\.ece/);
  refused(meta({ evaluation: { ...EVAL, balancedAccuracy: '0.5' as never } }), 'malformed', /evaluation\.balancedAccuracy .* \(got "0\.5"\)/);
  refused(meta({ evaluation: { ...EVAL, auroc: undefined as never } }), 'malformed', /evaluation\.auroc .* \(got undefined\)/);
  refused(meta({ evaluation: { ...EVAL, loss: -5 } }), 'out-of-bounds', /evaluation\.loss must be a finite number >= 0 \(got -5\)/);
  refused(meta({ evaluation: { ...EVAL, n: -1 } }), 'out-of-bounds', /evaluation\.n must be an integer from 0 to 1000/);
  refused(meta({ evaluation: 'good' as never }), 'malformed', /evaluation must be an object/);
  refused(meta({ metrics: { loss: -5 } }), 'out-of-bounds', /metrics\.loss must be a finite number >= 0 \(got -5\)/);
  // 1e999 on the wire parses as Infinity.
  refused(meta({ metrics: { loss: Infinity } }), 'out-of-bounds', /metrics\.loss .* \(got Infinity\)/);
  refused(meta({ metrics: { steps: 'x' as never } }), 'malformed', /metrics\.steps must be a number/);
  refused(meta({ metrics: undefined }), 'malformed', /metrics must be an object \(got undefined\)/);
  refused(meta({ kind: 'evaluate', localEvaluation: { ...EVAL, auroc: 2 } }), 'out-of-bounds', /^evaluate from site "va": localEvaluation\.auroc/, at({ kind: 'evaluate' }));
});

test('a rate past [0, 1] by float rounding alone is clamped, not refused', () => {
  const m = meta({ evaluation: { ...EVAL, ece: 1 + 1e-15, accuracy: -1e-17 } });
  checkReportedFigures(m, at());
  assert.equal(m.evaluation!.ece, 1);
  assert.equal(m.evaluation!.accuracy, 0);
});

test('only known fields are kept: a 3.5 MB field beside the evaluation, or 100 000 metrics, is not stored', () => {
  const m = meta({ evaluation: { ...EVAL, pad: 'x'.repeat(3_500_000) } as never, metrics: { loss: 0.4, ...Object.fromEntries(Array.from({ length: 1000 }, (_, i) => [`k${i}`, i])) } });
  const dropped = checkReportedFigures(m, at());
  assert.deepEqual(m.evaluation, EVAL);
  assert.deepEqual(m.metrics, { loss: 0.4 });
  assert.equal(dropped.length, 1001);
  assert.ok(dropped.includes('evaluation.pad'));
});

test("final evaluation: calibration sums and the site's own recalibration are checked on arrival", () => {
  const ev = at({ kind: 'evaluate' });
  const calibration = calibrationSums([0, 1, 1], [0.2, 0.7, 0.9]);
  const own = { a: 1, b: 0.1, rows: 40, prevalence: 0.5, meanScore: 0.5, eceBefore: 0.1, eceAfter: 0.05 };
  const m = meta({ kind: 'evaluate', metrics: {}, evaluation: EVAL, calibration, siteCalibration: { ...own, meanScore: 1.0000000000000056, extra: 'x' } as never });
  checkReportedFigures(m, ev);
  assert.deepEqual(m.siteCalibration, { ...own, meanScore: 1 });
  refused(meta({ kind: 'evaluate', siteCalibration: { ...own, meanScore: 5 } }), 'malformed', /^evaluate from site "va": siteCalibration: meanScore is 5; must be in \[0, 1\]$/, ev);
  refused(meta({ kind: 'evaluate', calibration: { ...calibration, n: -1 } }), 'malformed', /^evaluate from site "va": calibration: n is -1/, ev);
  refused(meta({ kind: 'evaluate', calibration: { ...calibration, nll: calibration.nll.map((x, i) => (i === 0 ? Infinity : x)) } }), 'malformed', /calibration: nll\[0\] is Infinity/, ev);
});

test("a secure run's report: rates in [0, 1], its own (a, b) numbers; nothing else kept", () => {
  const ev = at({ kind: 'evaluate' });
  const { n: _n, ...rates } = EVAL;
  const report = { evaluation: { ...rates, n: 50 }, siteCalibration: { a: 1, b: 0, eceBefore: 0.1, eceAfter: 0.1 }, pad: 1 };
  const m = meta({ kind: 'evaluate', metrics: {}, report: report });
  assert.deepEqual(checkReportedFigures(m, ev), ['report.pad', 'report.evaluation.n']);
  assert.deepEqual(m.report, { evaluation: rates, siteCalibration: report.siteCalibration });
  refused(meta({ kind: 'evaluate', report: { evaluation: { ...rates, auroc: 57 } } }), 'out-of-bounds', /report\.evaluation\.auroc .* \(got 57\)/, ev);
  refused(meta({ kind: 'evaluate', report: { siteCalibration: { a: 'x', b: 0, eceBefore: 0, eceAfter: 0 } as never } }), 'malformed', /report\.siteCalibration: a is "x"; must be a number/, ev);
  refused(meta({ kind: 'evaluate', report: [] as never }), 'malformed', /report must be an object/, ev);
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RoundCollector } from '../../coordinator/collector.ts';
import { aggregateRound, finalOutcome, refuseNonFinite } from '../../coordinator/round-outcome.ts';
import { createStrategy } from '../../coordinator/strategy/registry.ts';
import type { Aggregation } from '../../coordinator/strategy/strategy.ts';
import type { ResultMeta } from '../../shared/protocol/messages.ts';
import { captureWarnings } from '../shared/capture-logger.ts';
import type { DebiasingReport } from '../../shared/federation/debiasing-report.ts';

test('refuseNonFinite passes a finite model and refuses one with a NaN or an infinity, naming where and what to check', () => {
  const ok = Float32Array.of(1, 2);
  assert.deepEqual(refuseNonFinite(ok, 'fedadam'), { next: ok, verdict: { accepted: true } });
  assert.deepEqual(refuseNonFinite(null, 'fedavg'), { next: null, verdict: { accepted: true } });
  const bad = refuseNonFinite(Float32Array.of(1, Number.POSITIVE_INFINITY), 'fedadam');
  assert.equal(bad.next, null);
  assert.equal(bad.verdict.accepted, false);
  assert.match(bad.verdict.accepted ? '' : bad.verdict.reason, /fedadam aggregate is not finite \(parameter 1 is Infinity\).*serverLearningRate, proximalMu/);
});

test('a round whose aggregate is not finite is not accepted, and the model stays as it was (next is null)', () => {
  const c = new RoundCollector(3, 'fit', ['a'], 60_000);
  c.resolve('a', { kind: 'fit-result', numExamples: 10, metrics: {} } as unknown as ResultMeta);
  const overflowing: Aggregation = { add() {}, finish: () => Float32Array.of(0.5, Number.NaN) };
  const { log, warnings } = captureWarnings();
  const { record, next } = aggregateRound(3, c, overflowing, createStrategy('fedadam'), { minSitesToAccept: 1 }, log);
  assert.equal(next, null);
  assert.equal(record.accepted, false);
  assert.match(record.reason ?? '', /not finite \(parameter 1 is NaN\)/);
  assert.ok(warnings.includes('round not accepted'));
});

test('a calibration that cannot be fitted is a warning of the results, not the end of a run that trained every round', () => {
  // Every figure is checked on arrival (result-figures.ts); this is the last guard behind it.
  const ev = new RoundCollector(2, 'evaluate', ['a'], 60_000);
  const evaluation = { n: 5, auroc: 0.8, accuracy: 0.8, balancedAccuracy: 0.8, ece: 0.1 };
  ev.resolve('a', { kind: 'evaluate', round: 2, numExamples: 5, metrics: {}, weights: 0, evaluation, calibration: { n: -1 } } as unknown as ResultMeta);
  const { log, warnings } = captureWarnings();
  const outcome = finalOutcome({
    ev, spec: { kind: 'logreg', raw: {}, seed: 1 }, global: Float32Array.of(0), rounds: 1, strategy: 'fedavg', prior: { version: 1, patterns: [] } as never,
    space: { modalities: [], columns: [] }, round: 2, history: [], decisionReport: undefined, trainingSites: ['a'], testSites: [], minSitesToAccept: 1, log,
  });
  assert.deepEqual(outcome.sites, { a: evaluation });
  assert.equal(outcome.calibration, undefined);
  assert.match(outcome.warnings.join('\n'), /^calibration not fitted: calibration sums from site "a": grid is missing/m);
  assert.ok(warnings.includes('calibration not fitted'));
});

test("the debiasing report's warnings reach the results' warnings, each after 'debiasing: '", () => {
  const ev = new RoundCollector(2, 'evaluate', ['a'], 60_000);
  const { log } = captureWarnings();
  const decisionReport: DebiasingReport = {
    version: 4, mode: 'auto', decision: 'on', weighting: 'outcome', dualBranch: false, share: 0.5, markers: [], severityStructure: false, reason: 'test',
    flagged: [{ feature: 'r', labelCorr: 0.6, withinClassCorr: 0.05, source: 'auto' }],
    balance: { cells: 4, maxWeight: 10, clippedShare: 0, residual: [{ feature: 'r', unweighted: 0.9, weighted: 0.6 }] },
  };
  const outcome = finalOutcome({
    ev, spec: { kind: 'debiased', raw: {}, seed: 1 }, global: Float32Array.of(0), rounds: 1, strategy: 'fedavg', prior: { version: 1, patterns: [] } as never,
    space: { modalities: [], columns: [] }, round: 2, history: [], decisionReport, trainingSites: ['a'], testSites: [], minSitesToAccept: 1, log,
  });
  const debiasing = outcome.warnings.filter((w) => w.startsWith('debiasing: '));
  assert.deepEqual(debiasing.map((w) => w.slice(0, 60)), [
    'debiasing: r flagged as a shortcut by auto and weighted (outcome weights) ',
    'debiasing: auto found no severity structure in the training sites',
    "debiasing: outcome weights leave part of r's link to the label: in ",
  ].map((w) => w.slice(0, 60)));
});

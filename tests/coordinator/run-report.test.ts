// The run report is written whole or not at all: a run folder never holds a part of one.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { metricsPlotSvg, writeRunReport } from '../../coordinator/run-report.ts';
import type { FederationOutcome } from '../../coordinator/round-outcome.ts';
import { StorageError } from '../../shared/errors.ts';
import { compileSchema } from '../../shared/data/schema.ts';
import { loadModelBundle } from '../../shared/model/bundle.ts';

const outcome = {
  model: 'logreg', strategy: 'fedavg', rounds: 1, sites: { a: { auroc: 0.8 } }, history: [], globalModel: Float32Array.from([1, 2]), scoring: { round: 2 },
} as unknown as FederationOutcome;

test('the report lands in its run folder whole, with nothing left beside it', () => {
  const runDir = mkdtempSync(join(tmpdir(), 'fedcausal-report-'));
  try {
    const paths = writeRunReport(join(runDir, 'run-1'), { complete: true }, outcome);
    assert.deepEqual(readdirSync(runDir), ['run-1']);
    assert.deepEqual(readdirSync(join(runDir, 'run-1')).sort(), ['metrics.svg', 'model.f32', 'results.json']);
    assert.deepEqual(JSON.parse(readFileSync(paths.results, 'utf8')), { complete: true });
    assert.equal(readFileSync(paths.model).length, 8);
  } finally {
    rmSync(runDir, { recursive: true, force: true });
  }
});

test('a report that cannot be written leaves no run folder and no part of one, and says where and what to do', () => {
  const base = mkdtempSync(join(tmpdir(), 'fedcausal-report-'));
  try {
    // runDir is a file: every write under it fails as a broken disk's would (ENOTDIR).
    const runDir = join(base, 'runs');
    writeFileSync(runDir, '');
    assert.throws(
      () => writeRunReport(join(runDir, 'run-1'), { complete: true }, outcome),
      (e: unknown) => e instanceof StorageError && e.message.startsWith(`cannot write the run report into ${join(runDir, 'run-1')} (ENOTDIR`) && /a restart runs the final evaluation again/.test(e.message),
    );
    assert.deepEqual(readdirSync(base), ['runs']);
  } finally {
    rmSync(base, { recursive: true, force: true });
  }
});

test("a complete run's folder holds the model for predict (0600), an incomplete run's none", () => {
  const runDir = mkdtempSync(join(tmpdir(), 'fedcausal-report-'));
  try {
    const schema = compileSchema({ label: { column: 'y', threshold: 0 }, modalities: { a: ['x'] } }, 'inline');
    const full = {
      ...outcome,
      problems: [],
      featureSpace: { modalities: [{ name: 'a', start: 0, end: 1 }], columns: [{ feature: 'x', featureIndex: 0, kind: 'numeric', mean: 0, std: 1 }] },
      scoring: { spec: { kind: 'logreg', raw: {}, seed: 1 }, prior: { version: 1, patterns: [{ pattern: '1', p: 1 }], balancing: {}, minCount: 5, totalRows: 9 }, round: 2 },
    } as unknown as FederationOutcome;
    const paths = writeRunReport(join(runDir, 'run-1'), { complete: true }, full, { federation: 'heart', schema });
    assert.equal(paths.scoring, join(runDir, 'run-1', 'model.json'));
    const b = loadModelBundle(paths.scoring);
    assert.deepEqual([b.federation, b.site, b.round, b.calibration, [...b.weights]], ['heart', undefined, 2, undefined, [1, 2]]);
    assert.equal(statSync(paths.scoring).mode & 0o777, 0o600);
    assert.equal(statSync(paths.model).mode & 0o777, 0o600);
    // Each site's row counts and figures: the account's alone, whatever the umask.
    const umask = process.umask(0o022);
    try {
      const report = writeRunReport(join(runDir, 'run-3'), { complete: true }, full, { federation: 'heart', schema });
      for (const f of [report.results, report.plot]) assert.equal(statSync(f).mode & 0o777, 0o600, f);
      assert.equal(statSync(join(runDir, 'run-3')).mode & 0o777, 0o700);
    } finally {
      process.umask(umask);
    }

    const incomplete = writeRunReport(join(runDir, 'run-2'), { complete: false }, { ...full, problems: ['round 1 not accepted'] }, { federation: 'heart', schema });
    assert.equal(incomplete.scoring, undefined);
    assert.deepEqual(readdirSync(join(runDir, 'run-2')).sort(), ['metrics.svg', 'model.f32', 'results.json']);
  } finally {
    rmSync(runDir, { recursive: true, force: true });
  }
});

test('metrics.svg: AUROC by rounds trained, its axis widened below 0.4 where a site starts there', () => {
  const at = (auroc: number) => ({ auroc });
  const o = (first: number) =>
    ({
      model: 'logreg', strategy: 'fedavg', rounds: 2, scoring: { round: 3 },
      sites: { a: { auroc: 0.9 } },
      history: [{ round: 1, siteEvaluations: { a: at(first) }, metrics: {} }, { round: 2, siteEvaluations: { a: at(0.8) }, metrics: {} }],
    }) as unknown as FederationOutcome;
  const usual = metricsPlotSvg(o(0.6));
  assert.match(usual, />rounds trained</);
  assert.match(usual, />0\.4</, 'the usual 0.4-1 range');
  assert.doesNotMatch(usual, />0\.0</);
  // A first round at 0.07 (an outside try: off the bottom of the plot) widens it to 0.
  const low = metricsPlotSvg(o(0.07));
  assert.match(low, />0\.0</);
});

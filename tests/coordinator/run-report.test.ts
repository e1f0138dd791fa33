// The run report is written whole or not at all: a run folder never holds a part of one.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeRunReport } from '../../coordinator/run-report.ts';
import type { FederationOutcome } from '../../coordinator/round-outcome.ts';
import { StorageError } from '../../shared/errors.ts';

const outcome = {
  model: 'logreg', strategy: 'fedavg', rounds: 1, sites: { a: { auroc: 0.8 } }, history: [], globalModel: Float32Array.from([1, 2]),
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

// The demo's closing lines on debiasing (cli/demo.ts debiasingLines): the decision, why, and
// balancing's trade-off where the run noted one.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { debiasingLines } from '../../cli/demo.ts';
import type { DebiasingReport } from '../../shared/federation/debiasing-report.ts';

const report = (pattern: DebiasingReport['pattern']) =>
  ({ version: 3, mode: 'auto', decision: 'off', weighting: 'pattern balancing only', dualBranch: false, share: 0.5, flagged: [], markers: [], reason: 'auto: nothing flagged', pattern }) as DebiasingReport;

test('the pattern note closes the demo as a warning; without one, nothing is added', () => {
  const noted = debiasingLines(report({ auroc: 0.64, balanced: true, note: 'the missingness pattern alone tells the label at AUROC 0.64 ...' }));
  assert.match(noted, /^debiasing: nothing flagged, pattern balancing only$/m);
  assert.match(noted, /^ {2}warning: the missingness pattern alone tells the label at AUROC 0\.64/m);
  assert.doesNotMatch(debiasingLines(report({ auroc: 0.52, balanced: true })), /warning/);
});

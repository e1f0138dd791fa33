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

test('a dropped reading: its figures are said as the rows\' and the score\'s through other features, not as a learned shortcut', () => {
  const health = [{ round: 3, weightedAssociation: { r: 0.92 }, reliance: { r: -0.12 }, conflictingShare: 0, effectiveSampleSize: 1, priorDrift: 0, temper: 1, tempered: false, tolerance: 0.45 }];
  const flagged = [{ feature: 'r', labelCorr: 0.6, withinClassCorr: 0.05, source: 'auto' as const }];
  const dropped = debiasingLines({ ...report(undefined), decision: 'on', weighting: 'drop', flagged, health } as unknown as DebiasingReport);
  assert.match(dropped, /r: dropped from the model's inputs \(in the training rows it tells the label at AUROC 0\.92; the score's within-class correlation with it is -0\.12, through other features only\)/);
  const grouped = debiasingLines({ ...report(undefined), decision: 'on', weighting: 'drop', flagged: [{ ...flagged[0]!, columnLabelCorr: -0.3 }], health: [{ ...health[0]!, reliance: { r: null } }] } as unknown as DebiasingReport);
  assert.match(grouped, /in the training rows its strongest single value tells the label at AUROC 0\.92; the score's within-class correlation with it is n\/a/);
  // Mode off: what auto would flag, nothing removed, and the rows' figures only.
  const off = debiasingLines({ ...report(undefined), mode: 'off', decision: 'off', weighting: 'pattern balancing only', flagged, health } as unknown as DebiasingReport);
  assert.match(off, /^debiasing: off by configuration \(mode off; auto would flag r\), pattern balancing only$/m);
  assert.doesNotMatch(off, /dropped|reliance/);
  const weighted = debiasingLines({ ...report(undefined), decision: 'on', weighting: 'outcome', flagged, health } as unknown as DebiasingReport);
  assert.match(weighted, /r: weighted association 0\.92, model reliance -0\.12/);
});

test('auto without a severity structure closes the demo with a warning naming model.debiasing.suspect', () => {
  assert.match(debiasingLines({ ...report(undefined), severityStructure: false }), /^ {2}warning: auto found no severity structure .*model\.debiasing\.suspect$/m);
  assert.doesNotMatch(debiasingLines({ ...report(undefined), severityStructure: true }), /warning/);
});

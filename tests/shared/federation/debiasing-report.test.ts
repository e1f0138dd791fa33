// The debiasing report's warnings in words (shared/federation/debiasing-report.ts).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { autoFlagged, flaggedTreatment, residualWarnings, unjudgedWarning } from '../../../shared/federation/debiasing-report.ts';

const flagged = [
  { feature: 'r', labelCorr: 0.6, withinClassCorr: 0.05, source: 'auto' as const },
  { feature: 's', labelCorr: 0.5, withinClassCorr: 0.1, source: 'suspect' as const },
];

test('the flagged-readings warning says what the run does with them, by weighting', () => {
  assert.match(flaggedTreatment('drop'), /^dropped from the model's inputs/);
  assert.match(flaggedTreatment('outcome'), /^weighted \(outcome weights\) so as to tell the label nothing/);
  assert.match(flaggedTreatment('lff'), /^given to the bias branch of the dual-branch model \(lff weights\)/);
});

test('under mode off nothing is removed: no reading is said flagged for review, nor left unbalanced', () => {
  assert.deepEqual(autoFlagged({ decision: 'on', flagged }), ['r']);
  assert.deepEqual(autoFlagged({ decision: 'off', flagged }), []);
  const balance = { cells: 1, maxWeight: 10, clippedShare: 0, residual: [{ feature: 'r', unweighted: 0.9, weighted: 0.6 }, { feature: 's', unweighted: 0.8, weighted: 0.52 }] };
  assert.deepEqual(residualWarnings({ decision: 'off', balance }), []);
  const on = residualWarnings({ decision: 'on', balance });
  assert.equal(on.length, 1, 'only the reading left above 0.55');
  assert.match(on[0]!, /^outcome weights leave part of r's link to the label: .* at AUROC 0\.60 \(0\.90 unweighted\)/);
});

test('no severity structure: the warning names the suspect readings it did flag, or says it flagged nothing', () => {
  assert.match(unjudgedWarning({ mode: 'auto', severityStructure: false, flagged: [flagged[1]!] }) ?? '', /beyond model\.debiasing\.suspect \(s\): every other reading/);
  assert.match(unjudgedWarning({ mode: 'auto', severityStructure: false, flagged: [] }) ?? '', /flagged nothing on its own/);
  assert.equal(unjudgedWarning({ mode: 'auto', severityStructure: true, flagged: [] }), undefined);
  assert.equal(unjudgedWarning({ mode: 'off', severityStructure: false, flagged: [] }), undefined);
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { modelHooks, patternSignal } from '../../coordinator/model-hooks.ts';
import type { FeatureSpace } from '../../shared/data/feature-space.ts';
import { silentLogger } from '../../shared/logger.ts';
import type { ModelSpecMsg } from '../../shared/protocol/messages.ts';
import { patternLabelAuroc, patternLabelDependence } from '../../shared/data/patterns.ts';
import { PATTERN_SIGNAL_MIN_Z, PATTERN_SIGNAL_NOTE_AUROC } from '../../shared/model/variants/debiased/config.ts';
import { Rng } from '../../shared/rng.ts';
import { siteMoments } from '../../shared/data/class-moments.ts';
import { unjudgedWarning } from '../../shared/federation/debiasing-report.ts';
import { cohort, labelDriven } from '../shared/model/variants/debiased/decide-cohorts.ts';

test('a pattern signal that balancing removes carries a note; a weak one (below PATTERN_SIGNAL_NOTE_AUROC), or balancing off, does not', () => {
  const strong = { '11': [20, 80], '10': [80, 20] } as Record<string, [number, number]>;
  assert.ok(patternLabelAuroc(strong) >= PATTERN_SIGNAL_NOTE_AUROC);
  const s = patternSignal(strong, true);
  assert.match(s.note ?? '', /alone tells the label at AUROC 0\.80 .*compare with the same run with model\.debiasing\.balancing: false \(simulate --model-config\)/);
  assert.equal(patternSignal(strong, false).note, undefined, 'balancing off removes nothing');
  assert.equal(patternSignal({ '11': [45, 55], '10': [55, 45] }, true).note, undefined, 'AUROC 0.55: below the note');
  // AUROC 0.60: on the cohort family such a signal cost 0.01-0.03 AUROC where it was real (docs/debiasing.md).
  assert.match(patternSignal({ '11': [40, 60], '10': [60, 40] }, true).note ?? '', /AUROC 0\.60 .*costs accuracy/);
  assert.equal(patternSignal({ '11': [45, 55], '10': [55, 45] }, true).auroc, 0.55);
});

test('many patterns of a few rows each, drawn independent of the label, score a high pattern AUROC from noise alone: no note', () => {
  // 250 patterns of 10 rows, label by a fair coin: the AUROC is well above 0.5 in sample.
  const rng = new Rng(3);
  const counts: Record<string, [number, number]> = {};
  for (let p = 0; p < 250; p++) {
    const c: [number, number] = [0, 0];
    for (let i = 0; i < 10; i++) c[rng.next() < 0.5 ? 1 : 0]++;
    counts[p.toString(2).padStart(8, '0')] = c;
  }
  const s = patternSignal(counts, true);
  assert.ok(s.auroc >= PATTERN_SIGNAL_NOTE_AUROC, `in sample ${s.auroc}`);
  assert.ok(patternLabelDependence(counts).z < PATTERN_SIGNAL_MIN_Z);
  assert.equal(s.note, undefined);
});

test('outcome weights: a pattern the prior does not balance (a label cell under minCellCount) gets no level in the table sent to every site', () => {
  const space: FeatureSpace = {
    modalities: [
      { name: 'labs', start: 0, end: 1 },
      { name: 'imaging', start: 1, end: 2 },
    ],
    columns: [
      { feature: 'a', featureIndex: 0, kind: 'numeric', mean: 0, std: 1 },
      { feature: 'r', featureIndex: 1, kind: 'numeric', mean: 0, std: 1 },
    ],
  };
  const spec: ModelSpecMsg = { kind: 'debiased', raw: { debiasing: { suspect: ['r'], weighting: 'outcome' } }, seed: 1 };
  // Two published patterns with both labels at every bin; '01' holds three rows, all positive (one hospital's).
  const counts: Record<string, [number, number]> = { '01|10': [0, 3] };
  for (const p of ['11', '10']) for (const b of ['8', '10', '12']) counts[`${p}|${p === '10' ? 'a' : b}`] = [20 + Number(b), 30 - Number(b)];
  const hooks = modelHooks(spec, silentLogger).debias!;
  const { balance } = hooks.fitBalance(spec, space, ['r'], [counts], ['10', '11']);
  assert.deepEqual(Object.keys(balance.patterns).sort(), ['10', '11']);
  // Listed, the pattern would carry their label.
  const open = hooks.fitBalance(spec, space, ['r'], [counts], ['01', '10', '11']);
  assert.ok(open.balance.patterns['01']! > 2, `the three rows' level: ${open.balance.patterns['01']}`);
});

test('auto without a severity structure says it could judge no reading; with one, it does not', () => {
  const spec: ModelSpecMsg = { kind: 'debiased', raw: {}, seed: 1 };
  const hooks = modelHooks(spec, silentLogger).debias!;
  const decide = (c: { data: Parameters<typeof siteMoments>[0]; space: FeatureSpace }) => hooks.decide(spec, c.space, [siteMoments(c.data)], { '1111': [10, 10] }).report;
  const none = decide(labelDriven(3000, 1));
  assert.equal(none.severityStructure, false);
  assert.match(unjudgedWarning(none) ?? '', /^auto found no severity structure .* name a reading you doubt in model\.debiasing\.suspect$/);
  const some = decide(cohort(true, 1200, 1));
  assert.equal(some.severityStructure, true);
  assert.equal(unjudgedWarning(some), undefined);
  // Set by configuration, not auto's to judge: no such warning.
  assert.equal(unjudgedWarning({ ...none, mode: 'on' }), undefined);
  // A suspect reading is flagged all the same: the warning speaks of the others (it said "flagged nothing").
  const withSuspect = { kind: 'debiased', raw: { debiasing: { suspect: ['x2'] } }, seed: 1 } as ModelSpecMsg;
  const c = labelDriven(3000, 1);
  const s = modelHooks(withSuspect, silentLogger).debias!.decide(withSuspect, c.space, [siteMoments(c.data)], { '1111': [10, 10] }).report;
  assert.deepEqual(s.flagged.map((f) => [f.feature, f.source]), [['x2', 'suspect']]);
  assert.match(unjudgedWarning(s) ?? '', /as a shortcut beyond model\.debiasing\.suspect \(x2\): every other reading is learned as the baseline would learn it/);
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { patternSignal } from '../../coordinator/model-hooks.ts';
import { patternLabelAuroc } from '../../shared/data/patterns.ts';
import { PATTERN_SIGNAL_NOTE_AUROC } from '../../shared/model/variants/debiased/config.ts';

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

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { temperAfter } from '../../coordinator/debias-monitor.ts';

test('the guard: a weighted association below the tolerance halves the weights from the next round', () => {
  assert.deepEqual(temperAfter({ reading: 0.41, other: 0.6 }, 0.45, 1), { tempered: true, next: 0.5, reversed: [['reading', 0.41]] });
  assert.deepEqual(temperAfter({ reading: 0.5 }, 0.45, 0.5), { tempered: false, next: 0.5, reversed: [] });
  assert.equal(temperAfter({ reading: NaN }, 0.45, 1).tempered, false, 'no figure, no tempering');
});

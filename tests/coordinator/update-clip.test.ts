import assert from 'node:assert/strict';
import { test } from 'node:test';
import { clipBound, HeldUpdates, updateNorm, type Replay } from '../../coordinator/update-clip.ts';
import { ProtocolError } from '../../shared/errors.ts';
import type { Aggregation } from '../../coordinator/strategy/strategy.ts';

const replayOf = (w: number[], chunk = 2): Replay => (on) => {
  for (let i = 0; i < w.length; i += chunk) on(i, Float32Array.from(w.slice(i, i + chunk)));
};

test('the norm is of the step from the global model; a gapped or short update is refused', () => {
  const global = Float32Array.from([1, 1, 1, 1]);
  assert.equal(updateNorm('a', replayOf([4, 5, 1, 1]), global), 5);
  assert.throws(() => updateNorm('a', replayOf([1, 1]), global), (e: unknown) => e instanceof ProtocolError && /truncated: 2 of 4/.test(e.message));
  assert.throws(() => updateNorm('a', (on) => on(2, Float32Array.from([1, 1])), global), /not the next part/);
});

test('the bound is the multiple of the lower median, or the absolute bound when smaller', () => {
  assert.equal(clipBound([1, 2, 1e12], { updateNormMultiple: 1.5 }), 3);
  // Two sites: the smaller one's norm; a hostile site cannot raise the bound.
  assert.equal(clipBound([2, 1e12], { updateNormMultiple: 1.5 }), 3);
  assert.equal(clipBound([4, 4, 4, 1e12], { updateNormMultiple: 2 }), 8);
  assert.equal(clipBound([4, 4, 4], { updateNormMultiple: 2, maxUpdateNorm: 1 }), 1);
  assert.equal(clipBound([], { updateNormMultiple: 2 }), Infinity);
});

test('held updates are added in the given order, a huge one scaled onto the bound, and every spool released', () => {
  const global = new Float32Array(4);
  const held = new HeldUpdates(global, { updateNormMultiple: 1.5 });
  const released: string[] = [];
  const hold = (site: string, w: number[]) => held.hold(site, 10, replayOf(w), () => released.push(site));
  assert.equal(hold('b', [0, 2, 0, 0]), 2);
  hold('a', [1, 0, 0, 0]);
  hold('evil', [0, 0, 3e6, 4e6]);
  hold('late', [1, 1, 1, 1]);
  const added: { site: string; offset: number; values: number[] }[] = [];
  const aggregation: Aggregation = { add: (site, _n, offset, values) => void added.push({ site, offset, values: [...values] }), finish: () => null };
  const clipped = held.applyTo(aggregation, ['a', 'b', 'evil']);
  assert.deepEqual(clipped, [{ site: 'evil', norm: 5e6, bound: 3 }]);
  assert.deepEqual([...new Set(added.map((x) => x.site))], ['a', 'b', 'evil'], 'configured order; a site not among the results is left out');
  const evil = added.filter((x) => x.site === 'evil').flatMap((x) => x.values);
  assert.ok(Math.abs(Math.hypot(...evil) - 3) < 1e-5, `clipped to norm 3: ${evil}`);
  assert.deepEqual(evil.map((v) => Math.round(v * 100) / 100), [0, 0, 1.8, 2.4], 'same direction');
  assert.deepEqual(released.sort(), ['a', 'b', 'evil', 'late']);
});

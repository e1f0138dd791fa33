import { test } from 'node:test';
import assert from 'node:assert/strict';
import { zcdpToEpsilon } from '../../../shared/privacy/accountant.ts';
import { COUNT_SENSITIVITY, dpFromTaskConfig, dpSpent, dpTaskConfig, noisyPatternCounts, privatizeUpdate } from '../../../shared/privacy/dp.ts';

const settings = { clipNorm: 1, noiseMultiplier: 1, delta: 1e-5 };

test('dpSpent: ε at δ rises with every fit round; ρ per round is 2/z² (update, sensitivity 2C) plus 1/(2z²) (counts)', () => {
  assert.equal(dpSpent(settings, []).epsilon, 0);
  const s = dpSpent(settings, [1, 2, 3, 4, 5]);
  assert.deepEqual(s.perRound.map((r) => r.round), [1, 2, 3, 4, 5]);
  for (let i = 1; i < s.perRound.length; i++) assert.ok(s.perRound[i]!.epsilon > s.perRound[i - 1]!.epsilon, `round ${i + 1}`);
  assert.ok(Math.abs(s.rho - 5 * 2.5) < 1e-12, `rho ${s.rho}`);
  assert.ok(Math.abs(s.epsilon - zcdpToEpsilon(12.5, 1e-5)) < 1e-12);
  // More noise, less spent; the same rounds in any order are the same charge.
  assert.ok(dpSpent({ ...settings, noiseMultiplier: 4 }, [1, 2, 3, 4, 5]).epsilon < s.epsilon);
  assert.equal(dpSpent(settings, [3, 1, 2, 5, 4]).epsilon, s.epsilon);
  assert.equal(s.delta, 1e-5);
  assert.equal(s.clipNorm, 1);
});

test('dpSpent reports the budget (maxEpsilon) where one is set, beside what was spent; none where not', () => {
  const s = dpSpent({ ...settings, maxEpsilon: 8 }, [1, 2]);
  assert.equal(s.maxEpsilon, 8);
  assert.equal(s.epsilon, dpSpent(settings, [1, 2]).epsilon, 'the budget changes nothing spent');
  assert.ok(!('maxEpsilon' in dpSpent(settings, [1, 2])));
  // The budget is not a task setting: the sites are told to clip and noise as before.
  assert.deepEqual(dpTaskConfig({ ...settings, maxEpsilon: 8 }), dpTaskConfig(settings));
});

test('dpTaskConfig / dpFromTaskConfig: the fit task carries the settings; absent means off; nonsense is refused', () => {
  assert.deepEqual(dpFromTaskConfig({ ...dpTaskConfig(settings), lr: 0.1 }), { clipNorm: 1, noiseMultiplier: 1 });
  assert.equal(dpFromTaskConfig({ lr: 0.1 }), undefined);
  assert.throws(() => dpFromTaskConfig({ dpClipNorm: 1 }), /dpClipNorm and dpNoiseMultiplier must be finite numbers > 0/);
  assert.throws(() => dpFromTaskConfig({ dpClipNorm: 0, dpNoiseMultiplier: 1 }), /must be finite numbers > 0/);
});

test('privatizeUpdate: the update is clipped to clipNorm, then noised around the global weights', () => {
  const global = new Float32Array(1000).fill(0.5);
  const far = Float32Array.from(global, (g) => g + 3);
  const quiet = { clipNorm: 2, noiseMultiplier: 1e-4 };
  const r = privatizeUpdate(global, far, quiet);
  assert.ok(r.clipped);
  assert.ok(Math.abs(r.norm - 3 * Math.sqrt(1000)) < 1e-3);
  let sq = 0;
  for (let i = 0; i < global.length; i++) sq += (r.weights[i]! - global[i]!) ** 2;
  assert.ok(Math.abs(Math.sqrt(sq) - 2) < 0.01, `sent update norm ${Math.sqrt(sq)}`);
  // Noise of the configured size: sd noiseMultiplier * clipNorm per weight.
  const near = Float32Array.from(global);
  const noisy = privatizeUpdate(global, near, { clipNorm: 0.5, noiseMultiplier: 2 });
  assert.ok(!noisy.clipped);
  const sd = Math.sqrt(noisy.weights.reduce((a, w, i) => a + (w - global[i]!) ** 2, 0) / global.length);
  assert.ok(sd > 0.9 && sd < 1.1, `sd ${sd}`);
  assert.throws(() => privatizeUpdate(global, new Float32Array(3), quiet), /3 local weights, 1000 global/);
});

test('noisyPatternCounts: exactly the published patterns, as non-negative integers; a pattern of the site\'s own outside them is not even named', () => {
  const c = noisyPatternCounts({ '11': [40, 30], '10': [1, 0] }, ['11', '01'], 0.5, 71);
  assert.deepEqual(Object.keys(c).sort(), ['01', '11']);
  for (const [n0, n1] of Object.values(c)) assert.ok(Number.isInteger(n0) && Number.isInteger(n1) && n0 >= 0 && n1 >= 0);
  // sd 0.5 * sqrt(2) ~ 0.7: 40 and 30 stay within a few units.
  assert.ok(Math.abs(c['11']![0] - 40) <= 5 && Math.abs(c['11']![1] - 30) <= 5, JSON.stringify(c));
  assert.equal(COUNT_SENSITIVITY, Math.SQRT2);
});

test('noisyPatternCounts: the noised counts never add up to more than the site\'s rows (the coordinator refuses that)', () => {
  // Every cell at its true count, noise sd ~ 14 per cell: without the cap the total exceeds 20 rows in nearly every draw.
  for (let i = 0; i < 50; i++) {
    const c = noisyPatternCounts({ a: [5, 5], b: [5, 5] }, ['a', 'b'], 10, 20);
    const total = Object.values(c).reduce((s, [n0, n1]) => s + n0 + n1, 0);
    assert.ok(total <= 20, JSON.stringify(c));
    for (const [n0, n1] of Object.values(c)) assert.ok(n0 >= 0 && n1 >= 0);
  }
});

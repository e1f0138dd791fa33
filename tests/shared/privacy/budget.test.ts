// The privacy budget checked before a run (shared/privacy/budget.ts): what a planned run would
// spend is dpSpent's figure, the refusal names it with what would fit, and those figures are
// right when recomputed by dpSpent; a run over 10 with no budget is warned of, one under is not.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dpSpent } from '../../../shared/privacy/dp.ts';
import { LARGE_EPSILON, largeEpsilonWarning, noiseStep, noiseWithin, overBudget, plannedEpsilon, roundsWithin } from '../../../shared/privacy/budget.ts';

const defaults = { clipNorm: 1, noiseMultiplier: 1, delta: 1e-5 };
const names = { budget: 'BUDGET', rounds: 'ROUNDS', noise: 'NOISE' };
const roundsTo = (n: number) => Array.from({ length: n }, (_, i) => i + 1);
/** ε the accountant charges for fit rounds 1..n. */
const spent = (s: typeof defaults, n: number) => dpSpent(s, roundsTo(n)).epsilon;

test('plannedEpsilon is what dpSpent charges for rounds 1..R: 96.04 for 20 rounds at the defaults, 12.30 after one', () => {
  for (const s of [defaults, { clipNorm: 0.5, noiseMultiplier: 2, delta: 1e-5 }, { clipNorm: 1, noiseMultiplier: 0.7, delta: 1e-7 }])
    for (const n of [1, 3, 20, 150]) assert.ok(Math.abs(plannedEpsilon(s, n) - spent(s, n)) < 1e-9 * spent(s, n), `z ${s.noiseMultiplier}, ${n} rounds`);
  assert.equal(plannedEpsilon(defaults, 20).toFixed(2), '96.04');
  assert.equal(plannedEpsilon(defaults, 1).toFixed(2), '12.30');
});

test('roundsWithin: the most rounds whose ε dpSpent keeps within the budget, the next one past it', () => {
  const cases: [number, number, number][] = [
    // noise multiplier, budget, rounds the test expects (recomputed below by dpSpent)
    [3, 8, 4],
    [1, 50, 8],
    [2, 10, 2],
    [1, 8, 0],
  ];
  for (const [z, budget, expected] of cases) {
    const s = { ...defaults, noiseMultiplier: z };
    const most = roundsWithin(s, budget, 20);
    assert.equal(most, expected, `z ${z}, budget ${budget}`);
    if (most > 0) assert.ok(spent(s, most) <= budget);
    assert.ok(spent(s, most + 1) > budget);
  }
  assert.equal(roundsWithin(defaults, 1000, 20), 20, 'all the rounds asked about, when they fit');
});

test('noiseWithin: the least noise multiplier (3 significant figures) at which dpSpent keeps the rounds within the budget', () => {
  for (const [rounds, budget, expected] of [[20, 8, 6.38], [20, 10, 5.3], [20, 50, 1.56], [1, 8, 1.43], [200, 1, 128]] as const) {
    const z = noiseWithin(defaults, rounds, budget)!;
    assert.equal(z, expected, `${rounds} rounds within ${budget}`);
    assert.ok(spent({ ...defaults, noiseMultiplier: z }, rounds) <= budget, `z ${z} fits`);
    // One step less in its third figure does not.
    assert.ok(spent({ ...defaults, noiseMultiplier: z - noiseStep(z) }, rounds) > budget, `z ${z - noiseStep(z)} does not fit`);
  }
  // At δ = 1e-8 even the most noise a config takes spends 3e-5 over 20 rounds.
  assert.equal(noiseWithin({ ...defaults, delta: 1e-8 }, 20, 1e-9), undefined, 'past the most noise a config takes');
});

test('overBudget: a run planned past maxEpsilon is refused with ε, δ, its rounds and noise, and what would fit', () => {
  assert.equal(
    overBudget({ ...defaults, maxEpsilon: 8 }, 20, names),
    'is 8, but this run would spend ε = 96.04 at δ = 1e-5 over its 20 fit rounds at NOISE 1; within 8: not one round at NOISE 1, or NOISE 6.38 or more for 20 rounds',
  );
  assert.equal(
    overBudget({ ...defaults, maxEpsilon: 50 }, 20, names),
    'is 50, but this run would spend ε = 96.04 at δ = 1e-5 over its 20 fit rounds at NOISE 1; within 50: ROUNDS 8 or fewer at NOISE 1, or NOISE 1.56 or more for 20 rounds',
  );
  // Within the budget, or no budget: nothing to refuse.
  assert.equal(overBudget({ ...defaults, noiseMultiplier: 3, maxEpsilon: 8 }, 4, names), undefined);
  assert.equal(overBudget(defaults, 20, names), undefined);
});

test(`largeEpsilonWarning: a run planned past ε ${LARGE_EPSILON} with no budget is warned of, with how to bound it; one under it, or with a budget, is not`, () => {
  const w = largeEpsilonWarning(defaults, 20, names)!;
  assert.equal(w.message, 'differential privacy: this run would spend ε = 96.04 at δ = 1e-5 over its 20 fit rounds at NOISE 1, above 10: little formal protection of a patient');
  assert.equal(w.remedy, 'BUDGET sets the most ε a run may spend (a run planned past it does not start); within 10: not one round at NOISE 1, or NOISE 5.3 or more for 20 rounds');
  // 3 rounds at z = 2 spend 10.31: just over; 2 rounds spend 8.1: under.
  assert.ok(largeEpsilonWarning({ ...defaults, noiseMultiplier: 2 }, 3, names));
  assert.equal(largeEpsilonWarning({ ...defaults, noiseMultiplier: 2 }, 2, names), undefined);
  assert.equal(largeEpsilonWarning({ ...defaults, maxEpsilon: 100 }, 20, names), undefined, 'a budget the operator set');
});

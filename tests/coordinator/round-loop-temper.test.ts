// The guard's tempering reaching the sites: each fit task carries the strength the monitor
// holds, halved after each reversal, and a restart sends what the state file kept (an audit
// found the loop could send none, or forget it at a restart, and every test passed).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { DebiasHooks } from '../../coordinator/debias-monitor.ts';
import { HIST_BINS, type HealthSums } from '../../shared/data/debias-health.ts';
import type { CoordinatorStore } from '../../coordinator/state/store.ts';
import { alive, harness, stateFile, type Harness } from './round-loop-harness.ts';

/** A debiased model's steps whose every round finds the flagged reading reversed in the weighted rows. */
const reversing: DebiasHooks = {
  decide: (spec) => ({ spec, balanceFeatures: [], report: { version: 3, mode: 'on', decision: 'on', weighting: 'none', dualBranch: false, share: 0, flagged: [], markers: [], reason: 'test' } }),
  fitBalance: () => {
    throw new Error('no stage 3 here');
  },
  health: () => ({ weightedAssociation: { r: 0.41 }, reliance: { r: 0.1 }, conflictingShare: 0, effectiveSampleSize: 1, tolerance: 0.45 }),
  readings: () => ['r'],
};

const healthOf = (n: number): HealthSums => {
  const bins = () => new Array<number>(HIST_BINS).fill(n / (2 * HIST_BINS));
  return { n, sumW: n, sumW2: n, upW: 0, readings: [{ feature: 'r', column: 0, hist: [bins(), bins()], moments: [[1, 1, 1, 1, 1, 1], [1, 1, 1, 1, 1, 1]] }] };
};

/** A two-site, three-round run on `store` whose fit tasks tell `seen` their tempering; `stopAt` stops it as that round goes out. */
function run(store: CoordinatorStore, seen: (round: number, temper: unknown) => void, stopAt?: number): Harness {
  const h: Harness = harness({
    sites: ['a', 'b'],
    rounds: 3,
    store,
    debias: reversing,
    behave: (site, task) => {
      if (task.kind !== 'fit') return 'answer';
      if (site === 'a') seen(task.round, task.config.temper);
      if (task.round === stopAt && site === 'a') h.loop.stop('SIGTERM');
      return { tamper: (m) => (m.health = healthOf(m.numExamples)) };
    },
  });
  return h;
}

test('each fit task carries the tempering: 1, then halved after each reversed round; a restart sends what the state kept', async (t) => {
  const { open } = stateFile(t);
  let store = open();
  const tempers: [number, unknown][] = [];
  // Stopped as round 3 goes out: rounds 1 and 2 are committed.
  await assert.rejects(alive(run(store, (r, x) => tempers.push([r, x]), 3).loop.run()), /federation stopped after round 2 of 3/);
  assert.deepEqual(tempers, [[1, 1], [2, 0.5], [3, 0.25]]);
  store.close();
  store = open();
  const resumed: [number, unknown][] = [];
  const outcome = await alive(run(store, (r, x) => resumed.push([r, x])).loop.run());
  assert.deepEqual(resumed, [[3, 0.25]], 'round 3 again, at the strength the state file kept');
  assert.deepEqual(outcome.history.map((r) => [r.round, r.health?.temper]), [[1, 1], [2, 0.5], [3, 0.25]]);
  store.close();
});

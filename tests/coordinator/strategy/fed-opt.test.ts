import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FEDADAGRAD_DEFAULTS, FedAdagrad } from '../../../coordinator/strategy/fedadagrad.ts';
import { FEDADAM_DEFAULTS, FedAdam } from '../../../coordinator/strategy/fedadam.ts';
import { FEDYOGI_DEFAULTS, FedYogi } from '../../../coordinator/strategy/fedyogi.ts';
import { assertClose, runRound } from './run-round.ts';

/** Two sites whose FedAvg mean is global + delta: (1*(g+d-3) + 3*(g+d+1)) / 4 = g + d. */
function sitesAround(global: ArrayLike<number>, delta: number[]) {
  const at = (shift: number) => delta.map((d, i) => global[i]! + d + shift);
  return [
    { site: 'a', numExamples: 1, values: at(-3) },
    { site: 'b', numExamples: 3, values: at(1) },
  ];
}

test('server-optimizer defaults are Flower\'s', () => {
  assert.deepEqual({ ...FEDADAM_DEFAULTS }, { eta: 0.1, beta1: 0.9, beta2: 0.99, tau: 1e-9 });
  assert.deepEqual({ ...FEDYOGI_DEFAULTS }, { eta: 0.01, beta1: 0.9, beta2: 0.99, tau: 1e-3 });
  assert.deepEqual({ ...FEDADAGRAD_DEFAULTS }, { eta: 0.1, beta1: 0, beta2: 0, tau: 1e-9 });
  assert.equal(new FedYogi({ eta: 0.5, tau: undefined }).config.tau, 1e-3);
});

test('FedAdam keeps m and v across two rounds (Flower bias-corrected step)', () => {
  const adam = new FedAdam();
  // Round 1: global 0, delta d = [4, 5, 6].
  //   m = 0.1 d = [.4, .5, .6]; v = 0.01 d^2 = [.16, .25, .36]; m / sqrt(v) = 1 (tau 1e-9 negligible)
  //   eta_1 = 0.1 * sqrt(1 - 0.99^2) / (1 - 0.9^2) = 0.1 * 0.1410674 / 0.19 = 0.0742460
  const g1 = runRound(adam, 1, [0, 0, 0], sitesAround([0, 0, 0], [4, 5, 6]));
  assertClose(g1, [0.074246, 0.074246, 0.074246]);
  // Round 2: delta -d.  m = 0.9*0.1d - 0.1d = -0.01d;  v = 0.99*0.01d^2 + 0.01d^2 = 0.0199 d^2
  //   m / sqrt(v) = -0.01 / 0.1410674 = -0.0708881
  //   eta_2 = 0.1 * sqrt(1 - 0.99^3) / (1 - 0.9^3) = 0.1 * 0.1723398 / 0.271 = 0.0635940
  //   new = 0.0742460 + 0.0635940 * -0.0708881 = 0.0742460 - 0.0045081 = 0.0697379
  const g2 = runRound(adam, 2, g1!, sitesAround(g1!, [-4, -5, -6]));
  assertClose(g2, [0.0697379, 0.0697379, 0.0697379]);
  // Without the state of round 1, round 2 would be: m = -0.1d, v = 0.01d^2, new = 0.0742460 - 0.0635940
  const fresh = runRound(new FedAdam(), 2, g1!, sitesAround(g1!, [-4, -5, -6]));
  assertClose(fresh, [0.010652, 0.010652, 0.010652]);
});

test('FedAdam without bias correction is the paper\'s update', () => {
  // m / sqrt(v) = 1 as above; new = 0 + 0.1 * 1
  const out = runRound(new FedAdam({ biasCorrection: false }), 1, [0, 0, 0], sitesAround([0, 0, 0], [4, 5, 6]));
  assertClose(out, [0.1, 0.1, 0.1]);
});

test('FedYogi: v moves additively, in the direction of delta^2', () => {
  const yogi = new FedYogi();
  // Round 1: d = [0.2, -0.4]. m = 0.1d = [0.02, -0.04]; v = 0 + 0.01 d^2 (sign(0 - d^2) = -1) = [0.0004, 0.0016]
  //   new = 0.01 * m / (sqrt(v) + 0.001) = [0.01*0.02/0.021, 0.01*-0.04/0.041] = [0.0095238, -0.0097561]
  assertClose(runRound(yogi, 1, [0, 0], sitesAround([0, 0], [0.2, -0.4])), [0.0095238, -0.0097561]);
  // Round 2 (global 0 again, so the output is the step): d = [0.01, 1], d^2 = [0.0001, 1]
  //   m = 0.9m + 0.1d = [0.018 + 0.001, -0.036 + 0.1] = [0.019, 0.064]
  //   v0 = 0.0004 > 0.0001 -> v0 - 0.01*0.0001 = 0.000399;  v1 = 0.0016 < 1 -> 0.0016 + 0.01 = 0.0116
  //   new = 0.01 * [0.019 / (0.0199750 + 0.001), 0.064 / (0.1077033 + 0.001)] = [0.0090584, 0.0058876]
  assertClose(runRound(yogi, 2, [0, 0], sitesAround([0, 0], [0.01, 1])), [0.0090584, 0.0058876]);
});

test('FedAdagrad: m is the pseudo-gradient and v sums its squares', () => {
  const adagrad = new FedAdagrad();
  // Round 1: d = [3, -1]. m = d; v = [9, 1]; new = 0.1 * [3/3, -1/1] = [0.1, -0.1]
  const g1 = runRound(adagrad, 1, [0, 0], sitesAround([0, 0], [3, -1]));
  assertClose(g1, [0.1, -0.1]);
  // Round 2: d = [4, 0]. v = [9 + 16, 1 + 0] = [25, 1]; new = g1 + 0.1 * [4/5, 0/1] = [0.18, -0.1]
  assertClose(runRound(adagrad, 2, g1!, sitesAround(g1!, [4, 0])), [0.18, -0.1]);
});

test('FedOpt: a round without results keeps the global and the state', () => {
  const adam = new FedAdam({ biasCorrection: false });
  assert.equal(runRound(adam, 1, [0, 0, 0], []), null);
  // Still behaves as a first round: new = 0.1 * 1
  assertClose(runRound(adam, 2, [0, 0, 0], sitesAround([0, 0, 0], [4, 5, 6])), [0.1, 0.1, 0.1]);
});

test('FedOpt: chunked adds equal unchunked, and a changed model size is refused', () => {
  const sites = sitesAround([0, 0, 0, 0, 0], [1, -2, 3, -4, 5]);
  const whole = runRound(new FedYogi(), 1, [0, 0, 0, 0, 0], sites);
  assert.deepEqual(runRound(new FedYogi(), 1, [0, 0, 0, 0, 0], sites, 2), whole);
  const adam = new FedAdam();
  runRound(adam, 1, [0, 0], sitesAround([0, 0], [1, 1]));
  assert.throws(() => runRound(adam, 2, [0, 0, 0], sitesAround([0, 0, 0], [1, 1, 1])), /model size changed from 2 to 3/);
});

test('FedOpt: a truncated update is rejected', () => {
  const agg = new FedAdagrad().beginAggregation(1, new Float32Array(2));
  agg.add('a', 1, 0, Float32Array.of(1));
  assert.throws(() => agg.finish([{ site: 'a', numExamples: 1, metrics: {} }], []), /covered 1 of 2 parameters/);
});

test('saved server-optimizer moments resume exactly: a restarted FedAdam/FedYogi continues as if never stopped', () => {
  for (const make of [() => new FedAdam(), () => new FedYogi()]) {
    const straight = make();
    let g: Float32Array = Float32Array.from([0.3, -0.2, 1.5]);
    const deltas = [[0.1, -0.4, 0.2], [-0.3, 0.05, 0.6], [0.2, 0.2, -0.1]];
    const ref: Float32Array[] = [];
    for (let r = 1; r <= 3; r++) ref.push((g = runRound(straight, r, g, sitesAround(g, deltas[r - 1]!))!));

    const before = make();
    assert.equal(before.saveState(), undefined, 'no moments before the first aggregation');
    let h: Float32Array = Float32Array.from([0.3, -0.2, 1.5]);
    h = runRound(before, 1, h, sitesAround(h, deltas[0]!))!;
    const resumed = make();
    resumed.restoreState(before.saveState()!);
    for (let r = 2; r <= 3; r++) h = runRound(resumed, r, h, sitesAround(h, deltas[r - 1]!))!;
    assert.deepEqual(h, ref[2], `${straight.name}: resumed = uninterrupted`);
    assert.throws(() => resumed.restoreState(new Uint8Array(12)), /not two float64 vectors/);
  }
});

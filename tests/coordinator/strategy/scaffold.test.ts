import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createStrategy } from '../../../coordinator/strategy/registry.ts';
import { DEFAULT_CONTROL_NORM_MULTIPLE, meanControl, Scaffold, type ClippedControl } from '../../../coordinator/strategy/scaffold.ts';
import { assertClose, runRound } from './run-round.ts';

const result = (site: string, numExamples: number, controlVariate?: number[]) => ({ site, numExamples, metrics: {}, ...(controlVariate ? { controlVariate } : {}) });

test('SCAFFOLD asks the sites for control variates and sends c from the second round on', () => {
  const s = new Scaffold();
  assert.equal(s.name, 'scaffold');
  assert.deepEqual(s.configureFit(1, { learningRate: 0.1 }), { learningRate: 0.1, controlVariates: true });
  assert.deepEqual(s.fitTask(1), {}, 'no c before a round was aggregated');
  const out = runRound(s, 1, [0, 0], [
    { site: 'a', numExamples: 1, values: [0, 10], controlVariate: [1, 0] },
    { site: 'b', numExamples: 3, values: [4, 20], controlVariate: [-1, 2] },
  ]);
  assertClose(out, [3, 17.5], 1e-6); // FedAvg's weights: (1*[0,10] + 3*[4,20]) / 4
  // c = (1*[1,0] + 3*[-1,2]) / 4 = [-0.5, 1.5]
  assert.deepEqual(s.fitTask(2), { controlVariate: [-0.5, 1.5] });
});

test('SCAFFOLD keeps its c across a restart (saveState / restoreState)', () => {
  const s = new Scaffold();
  assert.equal(s.saveState(), undefined);
  runRound(s, 1, [0], [{ site: 'a', numExamples: 2, values: [1], controlVariate: [0.25] }]);
  const t = new Scaffold();
  t.restoreState(s.saveState()!);
  assert.deepEqual(t.fitTask(2), { controlVariate: [0.25] });
  assert.throws(() => t.restoreState(new Uint8Array(3)), /3 bytes, not float32 values/);
});

test("a round that is not aggregated, or carries no control variate, keeps the previous c", () => {
  const s = new Scaffold();
  runRound(s, 1, [0], [{ site: 'a', numExamples: 2, values: [1], controlVariate: [0.5] }]);
  runRound(s, 2, [0], [{ site: 'a', numExamples: 2, values: [1] }]);
  assert.deepEqual(s.fitTask(3), { controlVariate: [0.5] });
  assert.equal(meanControl([result('a', 2)], 1), undefined);
  // A wrong-sized or zero-example one is left out (the round loop refuses the first before this).
  assert.deepEqual(Array.from(meanControl([result('a', 2, [1, 1]), result('b', 0, [9]), result('c', 1, [3])], 1)!), [3]);
});

test("a site's share of c, (n_i / N) ||c_i||, is clipped to the multiple of the round's lower median ||c_j||", () => {
  // ||c||: 1, 1, 1, 1e5 -> lower median 1, bound 3 (multiple 3); the last one's share (10 / 40) * 1e5 is scaled to 3.
  const honest = [result('a', 10, [1, 0]), result('b', 10, [0, 1]), result('c', 10, [-1, 0])];
  const clipped: ClippedControl[] = [];
  const c = meanControl([...honest, result('evil', 10, [1e5, 0])], 2, 3, clipped)!;
  const scale = 3 / ((10 / 40) * 1e5);
  assert.deepEqual(clipped, [{ site: 'evil', share: 25_000, bound: 3 }]);
  assertClose(c, [(10 * 1e5 * scale) / 40, 10 / 40], 1e-6);
  // A small site with a large gradient (label skew) is not clipped: its share is small.
  const skewed = meanControl([...honest, result('small', 1, [30, 0])], 2, 3)!;
  assertClose(skewed, [30 / 31, 10 / 31], 1e-6);
  // Nor a large site with an ordinary gradient, however large: its share is at most its norm.
  const large = meanControl([result('big', 1000, [2, 0]), result('a', 10, [1, 0]), result('b', 10, [0, 1])], 2)!;
  assertClose(large, [(2000 + 10) / 1020, 10 / 1020], 1e-6);
  assert.equal(DEFAULT_CONTROL_NORM_MULTIPLE, 2);
  // Entries so large the norm overflows: that site's control variate counts for nothing.
  assertClose(meanControl([...honest, result('evil', 10, [1e300, 0])], 2)!, [0, 10 / 40], 1e-9);
  // The multiple is the strategy's option.
  const loose = meanControl([...honest, result('evil', 10, [1e5, 0])], 2, 1e9)!;
  assertClose(loose, [1e6 / 40, 10 / 40], 1e-2);
});

test('the registry builds it, with its option checked', () => {
  assert.equal(createStrategy('scaffold').name, 'scaffold');
  assert.equal((createStrategy('scaffold', { controlNormMultiple: 8 }) as Scaffold).controlNormMultiple, 8);
  assert.throws(() => createStrategy('scaffold', { controlNormMultiple: 0 }), /controlNormMultiple/);
});

test('it states the meta room a fit result needs: 26 bytes a parameter plus the rest of the meta', () => {
  assert.equal(new Scaffold().resultMetaBytes(1000), 26_000 + 64 * 1024);
  // The longest JSON a float32 value takes, with its comma, fits the per-parameter allowance.
  assert.ok(`${JSON.stringify(Array.from(Float32Array.from([-0.0000020134725673415232])))}`.length - 2 + 1 <= 26);
});

test('a clipped control variate is reported for the log once, and the trust caution is stated', () => {
  const s = new Scaffold();
  runRound(s, 4, [0, 0], [
    { site: 'a', numExamples: 10, values: [0, 0], controlVariate: [1, 0] },
    { site: 'b', numExamples: 10, values: [0, 0], controlVariate: [0, 1] },
    { site: 'evil', numExamples: 10, values: [0, 0], controlVariate: [1e4, 0] },
  ]);
  const w = s.takeWarnings();
  assert.equal(w.length, 1);
  assert.equal(w[0]!.message, 'control variate clipped');
  assert.equal(w[0]!.fields.site, 'evil');
  assert.equal(w[0]!.fields.round, 4);
  assert.deepEqual(s.takeWarnings(), []);
  assert.match(s.caution, /trusts every site's control variate/);
});

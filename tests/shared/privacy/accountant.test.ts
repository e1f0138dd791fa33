import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gaussianZcdp, ZcdpAccountant, zcdpToEpsilon, zcdpToEpsilonClassic } from '../../../shared/privacy/accountant.ts';
import { clipL2, gaussianNoise, keyedBytes } from '../../../shared/privacy/gaussian.ts';

// Reference values: a brute-force scan of the same bound over α (step ×1.0001) in Python,
// and the classic formula by hand.
const REFERENCE = [
  { rho: 0.5, delta: 1e-5, epsilon: 4.728386989354685, classic: 5.298525912188081 },
  { rho: 0.01, delta: 1e-6, epsilon: 0.621692655184608, classic: 0.7533844377699678 },
  { rho: 2.0, delta: 1e-5, epsilon: 10.724824118376066, classic: 11.597051824376162 },
];

test('zCDP to (ε, δ): matches an independent scan, and never exceeds the classic bound', () => {
  for (const r of REFERENCE) {
    assert.ok(Math.abs(zcdpToEpsilonClassic(r.rho, r.delta) - r.classic) < 1e-9);
    const e = zcdpToEpsilon(r.rho, r.delta);
    assert.ok(Math.abs(e - r.epsilon) < 1e-4, `rho ${r.rho}: ${e} vs ${r.epsilon}`);
    assert.ok(e <= r.classic);
  }
  assert.equal(zcdpToEpsilon(0, 1e-5), 0);
  assert.ok(zcdpToEpsilon(0.5, 1e-8) > zcdpToEpsilon(0.5, 1e-5), 'a smaller δ costs more ε');
  assert.ok(zcdpToEpsilon(1, 1e-5) > zcdpToEpsilon(0.5, 1e-5), 'more ρ costs more ε');
});

test('Gaussian mechanism: ρ = Δ²/(2σ²); the accountant adds ρ over releases and rounds', () => {
  assert.equal(gaussianZcdp(1, 1), 0.5);
  assert.equal(gaussianZcdp(2, 4), 0.125);
  assert.throws(() => gaussianZcdp(1, 0), /sigma must be a finite number > 0/);
  assert.throws(() => new ZcdpAccountant(0), /delta must be in \(0, 1\)/);
  const acc = new ZcdpAccountant(1e-5);
  acc.charge(1, 'counts', 1, 2);
  acc.charge(1, 'update', 0.5, 1);
  acc.charge(2, 'update', 0.5, 1);
  const s = acc.spent();
  assert.equal(s.rho, 1 / 8 + 1 / 8 + 1 / 8);
  assert.deepEqual(s.perRound.map((r) => r.round), [1, 2]);
  assert.equal(s.perRound[0]!.rho, 0.25);
  assert.ok(s.perRound[0]!.epsilon < s.perRound[1]!.epsilon);
  assert.equal(s.epsilon, zcdpToEpsilon(0.375, 1e-5));
});

test('gaussianNoise: mean 0 and standard deviation sigma, from the OS or a keyed source; clipL2 bounds the norm', () => {
  const n = 200_000;
  for (const source of [undefined, keyedBytes(new Uint8Array(32).fill(7), 'dp|fed|1|update|abc')]) {
    const x = gaussianNoise(n, 3, source);
    let sum = 0;
    let sq = 0;
    for (const v of x) {
      sum += v;
      sq += v * v;
    }
    const mean = sum / n;
    const sd = Math.sqrt(sq / n - mean * mean);
    assert.ok(Math.abs(mean) < 0.03, `mean ${mean}`); // 4.5 standard errors
    assert.ok(Math.abs(sd - 3) < 0.03, `sd ${sd}`);
  }
  assert.notDeepEqual(gaussianNoise(4, 1), gaussianNoise(4, 1), 'fresh noise each call');
  // Keyed: the same secret and label, the same noise; another label or secret, other noise.
  const keyed = (secret: number, label: string) => gaussianNoise(4, 1, keyedBytes(new Uint8Array(32).fill(secret), label));
  assert.deepEqual(keyed(1, 'a'), keyed(1, 'a'));
  assert.notDeepEqual(keyed(1, 'a'), keyed(1, 'b'));
  assert.notDeepEqual(keyed(1, 'a'), keyed(2, 'a'));
  const c = clipL2(Float32Array.from([3, 4]), 1);
  assert.equal(c.norm, 5);
  assert.ok(c.scaled);
  assert.ok(Math.abs(Math.hypot(c.clipped[0]!, c.clipped[1]!) - 1) < 1e-12);
  assert.equal(clipL2(Float32Array.from([0.3, 0.4]), 1).scaled, false);
});

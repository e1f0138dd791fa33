import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { calibrateFromSums, SITE_METHOD } from '../../coordinator/calibration.ts';
import { calibrationSums, fitCalibration, mergeCalibrationSums } from '../../shared/metrics/calibration.ts';
import { ProtocolError } from '../../shared/errors.ts';

const sums = (y: number[], p: number[]) => calibrationSums(Uint8Array.from(y), Float32Array.from(p));
const own = { a: 1, b: 0.7, rows: 50, prevalence: 0.8, meanScore: 0.65, eceBefore: 0.2, eceAfter: 0.08 };

describe('calibrateFromSums with sites\' own recalibration', () => {
  const training = new Map<string, unknown>([
    ['a', sums([0, 1, 1, 0], [0.2, 0.7, 0.9, 0.4])],
    ['b', sums([1, 1, 0, 1], [0.6, 0.8, 0.3, 0.5])],
  ]);
  it('puts each training site\'s own shift beside the federation\'s fit, and names the method', () => {
    const r = calibrateFromSums(training, new Map(), new Map([['a', own], ['t', own]]))!;
    assert.deepEqual(r.sites.a!.own, own);
    assert.equal(r.sites.b!.own, undefined);
    assert.equal(r.siteMethod, SITE_METHOD);
    assert.ok(!('t' in r.sites), 'a site that did not train gets no row');
  });
  it('reports as before when no site sent its own', () => {
    const r = calibrateFromSums(training, new Map())!;
    assert.equal(r.siteMethod, undefined);
    assert.ok(!('own' in r.sites.a!));
  });
  it('refuses a malformed own report, naming the site', () => {
    assert.throws(
      () => calibrateFromSums(training, new Map(), new Map([['b', { ...own, b: 'x' }]])),
      (e: Error) => e instanceof ProtocolError && /own calibration from site "b": b is "x"/.test(e.message),
    );
  });
});

describe('calibrateFromSums: each training site scored with a fit it took no part in', () => {
  // Sites miscalibrated in different ways, so that leaving one out moves the fit.
  const site = (n: number, shift: number, seed: number) => {
    const y: number[] = [];
    const p: number[] = [];
    for (let i = 0; i < n; i++) {
      const score = ((i * 7919 + seed * 104729) % 997) / 997 * 0.96 + 0.02;
      p.push(score);
      y.push(((i * 31 + seed) % 100) / 100 < Math.min(0.98, Math.max(0.02, score + shift)) ? 1 : 0);
    }
    return sums(y, p);
  };
  const a = site(400, 0.25, 1);
  const b = site(400, -0.2, 2);
  const c = site(400, 0, 3);
  const t = site(200, 0.1, 4);
  const r = calibrateFromSums(new Map([['a', a], ['b', b], ['c', c]]), new Map([['t', t]]))!;
  it("a training site's figures come from the other sites' fit, never its own or the global one", () => {
    const global = fitCalibration(mergeCalibrationSums([a, b, c]));
    assert.deepEqual([r.a, r.b], [global.a, global.b]);
    for (const [name, others] of [['a', [b, c]], ['b', [a, c]], ['c', [a, b]]] as const) {
      const loo = fitCalibration(mergeCalibrationSums([...others]));
      assert.deepEqual([r.sites[name]!.a, r.sites[name]!.b], [loo.a, loo.b], `${name}: the fit on the other two`);
    }
    assert.notDeepEqual([r.sites.a!.a, r.sites.a!.b], [global.a, global.b], 'leaving a out moves the fit (else this test could not tell)');
  });
  it('a test-only site is scored with the global fit', () => {
    assert.deepEqual([r.testSites.t!.a, r.testSites.t!.b], [r.a, r.b]);
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { calibrateFromSums, SITE_METHOD } from '../../coordinator/calibration.ts';
import { calibrationSums } from '../../shared/metrics/calibration.ts';
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

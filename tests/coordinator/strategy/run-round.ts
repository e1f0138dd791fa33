/** Test helper: drives one round of a strategy the way the round loop does (chunked adds, then finish). */
import assert from 'node:assert/strict';
import type { SiteResult, Strategy } from '../../../coordinator/strategy/strategy.ts';

export interface SiteUpdate {
  site: string;
  numExamples: number;
  values: number[] | Float32Array;
  /** SCAFFOLD: the site's control variate, carried in its result. */
  controlVariate?: number[];
}

/** Adds every site's update in chunks of `chunk` values (default: whole update at once). */
export function runRound(
  strategy: Strategy,
  round: number,
  global: ArrayLike<number>,
  updates: SiteUpdate[],
  chunk = Infinity,
): Float32Array | null {
  const agg = strategy.beginAggregation(round, Float32Array.from(global));
  const results: SiteResult[] = [];
  for (const u of updates) {
    const values = Float32Array.from(u.values);
    const step = Math.min(chunk, values.length) || 1;
    for (let offset = 0; offset < values.length; offset += step) {
      agg.add(u.site, u.numExamples, offset, values.subarray(offset, offset + step));
    }
    results.push({ site: u.site, numExamples: u.numExamples, metrics: {}, ...(u.controlVariate ? { controlVariate: u.controlVariate } : {}) });
  }
  return agg.finish(results, []);
}

/** Asserts element-wise |actual - expected| <= tol. */
export function assertClose(actual: ArrayLike<number> | null, expected: number[], tol = 1e-6): void {
  assert.ok(actual, 'expected weights, got null');
  assert.equal(actual.length, expected.length, 'length');
  for (let i = 0; i < expected.length; i++) {
    assert.ok(
      Math.abs(actual[i]! - expected[i]!) <= tol,
      `index ${i}: got ${actual[i]}, expected ${expected[i]} (tol ${tol})`,
    );
  }
}

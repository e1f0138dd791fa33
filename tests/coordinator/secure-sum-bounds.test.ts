/**
 * A hostile site in a secure statistics round writes its own ring words (past the clipping
 * an honest site applies): the totals it would skew are refused with the part named, never
 * used for the feature scaling or the prior.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_RESULT_BOUNDS } from '../../coordinator/result-bounds.ts';
import { compileSchema } from '../../shared/data/schema.ts';
import { parseSiteTable } from '../../shared/data/table.ts';
import { compileSecAggConfig } from '../../shared/secagg/config.ts';
import { VectorLayout } from '../../shared/secagg/layout.ts';
import { prepareLocalData } from '../../site-agent/local-data.ts';
import { inProcessFederation } from './in-process-federation.ts';

const SITES = ['north', 'south', 'east'];
const schema = compileSchema({ label: { column: 'y', threshold: 0 }, modalities: { vitals: ['x'] } }, 'inline');

function siteCsv(k: number): string {
  const lines = ['x,y'];
  for (let i = 0; i < 40; i++) lines.push(`${((i * 7 + k) % 9) / 2},${(i + k) % 2}`);
  return lines.join('\n') + '\n';
}

test('a summary sum holding a negative count is refused by name, not turned into a feature space', { timeout: 60_000 }, async (t) => {
  const encode = VectorLayout.prototype.encode;
  let tampered = false;
  t.mock.method(VectorLayout.prototype, 'encode', function (this: VectorLayout, values: Record<string, ArrayLike<number>>) {
    const out = encode.call(this, values);
    if (!tampered && values.numCount) {
      // The first site's stage-1 vector: its count of x made to cancel the others' (the mean would read 0).
      tampered = true;
      const c = this.part('numCount');
      out.vector[c.offset] = (out.vector[c.offset]! - 10_000) >>> 0;
    }
    return out;
  });
  const sites = Object.fromEntries(SITES.map((s, k) => [s, prepareLocalData(parseSiteTable(schema, siteCsv(k), `${s}.csv`), { testFraction: 0.3, seed: 1, minTrainingRows: 20 })]));
  const { fed, agents } = inProcessFederation({
    schema,
    sites,
    settings: { bounds: { ...DEFAULT_RESULT_BOUNDS, updateNormMultiple: 1e9 }, secureAggregation: compileSecAggConfig({}) },
  });
  const settled = agents.map((a) => a.done.catch((e: Error) => e.message));
  try {
    await assert.rejects(fed.loop.run(), /secure sum test\/0\/stats-1\/[0-9a-f]+ refused: part "numCount"\[0\] sums to -99\d\d, outside \[0, 300000\] for 3 sites; a site sent values outside its bounds/);
    assert.ok(tampered);
    await fed.loop.end('refused', 'failed');
    await Promise.all(settled);
  } finally {
    for (const a of agents) a.transport.close();
  }
});

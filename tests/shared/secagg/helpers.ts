/** Shared set-up for the secure-aggregation tests: invited sites with signing keys and a round plan. */
import nacl from 'tweetnacl';
import { compileSchema } from '../../../shared/data/schema.ts';
import type { SiteTable } from '../../../shared/data/site-table.ts';
import { parseSiteTable } from '../../../shared/data/table.ts';
import type { SigningKeyPair } from '../../../shared/crypto/keys.ts';
import { compileSecAggConfig, type SecAggConfigInput } from '../../../shared/secagg/config.ts';
import type { VectorLayout } from '../../../shared/secagg/layout.ts';
import { RoundPlan } from '../../../shared/secagg/round-plan.ts';

export interface Federation {
  ids: string[];
  signing: Map<string, SigningKeyPair>;
  plan: RoundPlan;
}

export function federation(n: number, config: SecAggConfigInput = {}, session = 'test-fed/1/fit'): Federation {
  const ids = Array.from({ length: n }, (_, i) => `site-${String(i).padStart(2, '0')}`);
  const signing = new Map(ids.map((id) => [id, nacl.sign.keyPair()]));
  const plan = new RoundPlan(session, new Map(ids.map((id) => [id, signing.get(id)!.publicKey])), compileSecAggConfig(config));
  return { ids, signing, plan };
}

/** Deterministic pseudo-random numbers (mulberry32) so a failing case can be rerun. */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

/** What the coordinator would decode: each site's encoding added in the ring (no masks: they cancel). */
export function decodedSum(layout: VectorLayout, values: Record<string, ArrayLike<number>>[]): Record<string, Float64Array> {
  const sum = new Uint32Array(layout.length);
  for (const v of values) {
    const { vector } = layout.encode(v);
    for (let i = 0; i < sum.length; i++) sum[i] = sum[i]! + vector[i]!;
  }
  return layout.decodeSum(sum);
}

/** The statistics stages' fixture: one numeric and one undeclared categorical feature, three sites' worth of tables. */
export const statsSchema = compileSchema({ label: { column: 'y', threshold: 0 }, modalities: { a: ['x'], b: ['ward'] }, categorical: ['ward'] }, 'inline');
export const STATS_SESSION = 'f/0/stats-1/abc';

/** Site k's 40 rows (a quarter without x; wards A, B, C), one of them `rare` where given. */
export function statsTable(k: number, rare?: string): SiteTable {
  const lines = ['x,ward,y'];
  for (let i = 0; i < 40; i++) lines.push(`${i % 4 === 0 ? '' : ((i * 7 + k) % 9) * 31.5},${rare && i === 5 ? rare : 'ABC'[(i + k) % 3]},${(i + k) % 2}`);
  return parseSiteTable(statsSchema, lines.join('\n') + '\n', `s${k}.csv`);
}

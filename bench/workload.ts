/**
 * What every benchmark shares: the heart-disease data encoded the way a federation
 * would (merged feature statistics -> one FeatureSpace), the batch orders trainLocal
 * will draw, and the raw-file dump the PyTorch reference reads. Nothing here imports
 * tfjs, so the orchestrator stays backend-free and each child picks its own backend.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { encodeTable, type EncodedData } from '../shared/data/encode.ts';
import { buildFeatureSpace, type FeatureSpace } from '../shared/data/feature-space.ts';
import { loadSchema, type Schema } from '../shared/data/schema.ts';
import { computeFeatureStats, mergeFeatureStats } from '../shared/data/stats.ts';
import { loadSiteTable, type SiteTable } from '../shared/data/table.ts';
import { Rng } from '../shared/rng.ts';

/** The four UCI hospital files: one site each in the round benchmark. */
export const HEART_SITES = [
  { name: 'cleveland', file: 'processed.cleveland.data' },
  { name: 'hungarian', file: 'processed.hungarian.data' },
  { name: 'switzerland', file: 'processed.switzerland.data' },
  { name: 'va', file: 'processed.va.data' },
] as const;

/** Where the data lives: FEDCAUSAL_HEART_DIR, else ../shared/data/heart-disease beside the repo. */
export function heartDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.FEDCAUSAL_HEART_DIR ?? join(import.meta.dirname, '../../shared/data/heart-disease');
}

export interface HeartWorkload {
  schema: Schema;
  tables: { name: string; table: SiteTable }[];
  space: FeatureSpace;
  /** All ~920 rows of the four files, encoded in one FeatureSpace. */
  data: EncodedData;
}

export function loadHeartWorkload(dir = heartDir()): HeartWorkload {
  const schema = loadSchema(join(dir, 'schema.json'));
  const tables = HEART_SITES.map((s) => ({ name: s.name, table: loadSiteTable(schema, join(dir, s.file)) }));
  const space = buildFeatureSpace(schema, mergeFeatureStats(tables.map((t) => computeFeatureStats(schema, t.table))));
  const parts = tables.map((t) => encodeTable(t.table, space));
  return { schema, tables, space, data: concatEncoded(parts) };
}

function concatEncoded(parts: EncodedData[]): EncodedData {
  const n = parts.reduce((a, p) => a + p.n, 0);
  const dim = parts[0]!.dim;
  const K = parts[0]!.present.length / Math.max(parts[0]!.n, 1);
  const out: EncodedData = {
    n,
    dim,
    x: new Float32Array(n * dim),
    observed: new Float32Array(n * dim),
    present: new Float32Array(n * K),
    y: new Float32Array(n),
    patterns: [],
  };
  let r = 0;
  for (const p of parts) {
    out.x.set(p.x, r * dim);
    out.observed.set(p.observed, r * dim);
    out.present.set(p.present, r * K);
    out.y.set(p.y, r);
    out.patterns.push(...p.patterns);
    r += p.n;
  }
  return out;
}

/**
 * The row orders trainLocal draws when handed `new Rng(seed)` and called `calls`
 * times with `epochsPerCall` epochs each: it resets the order to 0..n-1 per call
 * and shuffles it once per epoch. The PyTorch port replays exactly these batches.
 */
export function trainingOrders(seed: number, n: number, calls: { epochs: number }[]): Int32Array[] {
  const rng = new Rng(seed);
  const out: Int32Array[] = [];
  for (const c of calls) {
    const order = Array.from({ length: n }, (_, i) => i);
    for (let e = 0; e < c.epochs; e++) out.push(Int32Array.from(rng.shuffle(order)));
  }
  return out;
}

/** Raw little-endian dumps (float32 / int32) plus a JSON description: no numpy format needed. */
export function writeDump(
  dir: string,
  d: { data: EncodedData; space: FeatureSpace; initWeights: Float32Array; specs: { name: string; shape: number[] }[]; orders: Int32Array[]; meta: Record<string, unknown> },
): void {
  mkdirSync(dir, { recursive: true });
  const raw = (name: string, a: Float32Array | Int32Array) =>
    writeFileSync(join(dir, name), new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
  const K = d.space.modalities.length;
  raw('x.f32', d.data.x);
  raw('present.f32', d.data.present);
  raw('y.f32', d.data.y);
  raw('init.f32', d.initWeights);
  const orders = new Int32Array(d.orders.length * d.data.n);
  d.orders.forEach((o, i) => orders.set(o, i * d.data.n));
  raw('orders.i32', orders);
  writeFileSync(
    join(dir, 'meta.json'),
    JSON.stringify({
      n: d.data.n,
      dim: d.data.dim,
      K,
      modalities: d.space.modalities,
      params: d.specs,
      epochsInOrders: d.orders.length,
      ...d.meta,
    }),
  );
}

/** Median of a non-empty list. */
export function median(xs: number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** The last line of a child's stdout that parses as a JSON object: children print progress before it. */
export function lastJsonLine<T>(stdout: string, who: string): T {
  const lines = stdout.trim().split('\n').reverse();
  for (const l of lines) {
    if (!l.startsWith('{')) continue;
    try {
      return JSON.parse(l) as T;
    } catch {
      /* keep looking */
    }
  }
  throw new Error(`${who} printed no JSON result line; its output ended with: ${stdout.slice(-400)}`);
}

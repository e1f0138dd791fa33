import type { FeatureSpace } from './feature-space.ts';
import type { SiteTable } from './table.ts';

/** Model-ready rows: dense, row-major. */
export interface EncodedData {
  n: number;
  dim: number;
  /** n x dim standardised numerics and one-hot categories; missing values are 0 (the global mean). */
  x: Float32Array;
  /** n x dim: 1 where the column's feature was observed. */
  observed: Float32Array;
  /** n x K modality-present bits. */
  present: Float32Array;
  y: Float32Array;
  patterns: string[];
}

export function encodeTable(t: SiteTable, space: FeatureSpace): EncodedData {
  const n = t.values.length;
  const dim = space.columns.length;
  const K = space.modalities.length;
  const x = new Float32Array(n * dim);
  const observed = new Float32Array(n * dim);
  const present = new Float32Array(n * K);
  // Per feature with an "other" column, the values that have a column of their own.
  const named = new Map<number, Set<string>>();
  for (const c of space.columns) {
    if (c.kind !== 'category' || c.other) continue;
    let values = named.get(c.featureIndex);
    if (!values) named.set(c.featureIndex, (values = new Set()));
    values.add(c.category!);
  }
  for (let i = 0; i < n; i++) {
    const row = t.values[i]!;
    space.columns.forEach((c, j) => {
      const v = row[c.featureIndex];
      if (v === null || v === undefined) return;
      observed[i * dim + j] = 1;
      if (c.kind === 'numeric') x[i * dim + j] = ((v as number) - c.mean) / c.std;
      // A value outside the vocabulary goes to "other" where there is one (a literal
      // "(other)" value is an ordinary category); with none it stays all-zero like
      // missing, but counts as observed.
      else if (c.other ? !named.get(c.featureIndex)?.has(String(v)) : String(v) === c.category) x[i * dim + j] = 1;
    });
    const p = t.patterns[i]!;
    for (let k = 0; k < K; k++) present[i * K + k] = p[k] === '1' ? 1 : 0;
  }
  return { n, dim, x, observed, present, y: Float32Array.from(t.labels), patterns: t.patterns };
}

/** Rows `idx` of an encoded set (mini-batches, splits). */
export function takeRows(d: EncodedData, idx: ArrayLike<number>): EncodedData {
  const n = idx.length;
  const K = d.present.length / Math.max(d.n, 1);
  const x = new Float32Array(n * d.dim);
  const observed = new Float32Array(n * d.dim);
  const present = new Float32Array(n * K);
  const y = new Float32Array(n);
  const patterns: string[] = [];
  for (let r = 0; r < n; r++) {
    const i = idx[r]!;
    x.set(d.x.subarray(i * d.dim, (i + 1) * d.dim), r * d.dim);
    observed.set(d.observed.subarray(i * d.dim, (i + 1) * d.dim), r * d.dim);
    present.set(d.present.subarray(i * K, (i + 1) * K), r * K);
    y[r] = d.y[i]!;
    patterns.push(d.patterns[i]!);
  }
  return { n, dim: d.dim, x, observed, present, y, patterns };
}

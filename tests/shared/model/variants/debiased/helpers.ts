import type { EncodedData } from '../../../../../shared/data/encode.ts';
import type { FeatureSpace } from '../../../../../shared/data/feature-space.ts';
import { loadBackend } from '../../../../../shared/model/backend.ts';
import { Rng } from '../../../../../shared/rng.ts';

/** wasm when it loads (the backend whose missing gradients we must avoid), else cpu. */
export async function testBackend(): Promise<string> {
  return loadBackend('wasm').catch(() => loadBackend('cpu'));
}

/** A feature space of numeric features grouped into modalities: { modality: [feature, ...] }. */
export function numericSpace(mods: Record<string, string[]>): FeatureSpace {
  const space: FeatureSpace = { modalities: [], columns: [] };
  let fi = 0;
  for (const [name, feats] of Object.entries(mods)) {
    const start = space.columns.length;
    for (const f of feats) space.columns.push({ feature: f, featureIndex: fi++, kind: 'numeric', mean: 0, std: 1 });
    space.modalities.push({ name, start, end: space.columns.length });
  }
  return space;
}

/**
 * A toy cohort: severity s drives y and every feature; modality k is missing more
 * often for mild cases (missing not at random), so the pattern carries label signal.
 */
export function toyData(space: FeatureSpace, n: number, seed: number): EncodedData {
  const rng = new Rng(seed);
  const dim = space.columns.length;
  const K = space.modalities.length;
  const x = new Float32Array(n * dim);
  const observed = new Float32Array(n * dim);
  const present = new Float32Array(n * K);
  const y = new Float32Array(n);
  const patterns: string[] = [];
  for (let i = 0; i < n; i++) {
    const s = rng.normal();
    y[i] = s + 0.5 * rng.normal() > 0 ? 1 : 0;
    let p = '';
    space.modalities.forEach((m, k) => {
      const on = k === 0 || rng.next() < (s > 0 ? 0.8 : 0.4);
      p += on ? '1' : '0';
      present[i * K + k] = on ? 1 : 0;
      for (let j = m.start; j < m.end; j++) {
        if (!on) continue;
        observed[i * dim + j] = 1;
        x[i * dim + j] = s + 0.7 * rng.normal();
      }
    });
    patterns.push(p);
  }
  return { n, dim, x, observed, present, y, patterns };
}

import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  CAUSAL_FEATURES,
  FEATURES,
  MODALITIES,
  featureColumn,
  generateSites,
  modalityPresent,
  type SynthRow,
} from '../../../shared/synth/scm.ts';
import { defaultSynthOptions, type SynthOptions } from '../../../shared/synth/options.ts';

const opts = (over: Partial<SynthOptions> = {}): SynthOptions => ({ ...defaultSynthOptions(), ...over });

function pearson(a: number[], b: number[]): number {
  const n = a.length;
  const ma = a.reduce((s, v) => s + v, 0) / n;
  const mb = b.reduce((s, v) => s + v, 0) / n;
  let ab = 0, aa = 0, bb = 0;
  for (let i = 0; i < n; i++) {
    ab += (a[i]! - ma) * (b[i]! - mb);
    aa += (a[i]! - ma) ** 2;
    bb += (b[i]! - mb) ** 2;
  }
  return ab / Math.sqrt(aa * bb);
}

/** Pearson of a feature with y (or another feature) on the rows where both are present. */
function corrWith(rows: readonly SynthRow[], feature: string, other: string | 'y'): { r: number; n: number } {
  const num = (v: unknown): number | null => (v === null ? null : v === 'M' ? 1 : v === 'F' ? 0 : (v as number));
  const xs = featureColumn(rows, feature).map(num);
  const ys = other === 'y' ? rows.map((r) => r.y as number) : featureColumn(rows, other).map(num);
  const a: number[] = [], b: number[] = [];
  xs.forEach((x, i) => {
    const y = ys[i];
    if (x !== null && y !== null && y !== undefined) (a.push(x), b.push(y));
  });
  return { r: pearson(a, b), n: a.length };
}

const presenceRate = (rows: readonly SynthRow[], y: 0 | 1, m: 'imaging' | 'labs'): number => {
  const rs = rows.filter((r) => r.y === y);
  return rs.filter((r) => modalityPresent(r, m)).length / rs.length;
};

const split = (over: Partial<SynthOptions>) => {
  const sites = generateSites(opts(over));
  return { sites, train: sites.filter((s) => !s.heldOut), heldOut: sites.find((s) => s.heldOut)! };
};

test('sites are named site1..siteN and only the last is held out', () => {
  const sites = generateSites(opts({ sites: 3, rows: 20 }));
  assert.deepEqual(sites.map((s) => s.name), ['site1', 'site2', 'site3']);
  assert.deepEqual(sites.map((s) => s.heldOut), [false, false, true]);
  assert.ok(sites.every((s) => s.rows.length === 20));
});

test('a site\'s rows do not depend on the other sites\' size, and do depend on the seed', () => {
  const small = generateSites(opts({ rows: 50 }));
  const large = generateSites(opts({ rows: 120 }));
  assert.deepEqual(large[0]!.rows.slice(0, 50), small[0]!.rows);
  assert.notDeepEqual(generateSites(opts({ rows: 50, seed: 2 }))[0]!.rows, small[0]!.rows);
});

test('whole modalities go missing: a modality is all present or all missing', () => {
  for (const site of generateSites(opts({ rows: 300 }))) {
    for (const row of site.rows) {
      for (const feats of Object.values(MODALITIES)) {
        const missing = feats.map((f) => row.values[FEATURES.indexOf(f)] === null);
        assert.ok(missing.every((m) => m === missing[0]), `${site.name}: partly missing ${feats.join(',')}`);
      }
      assert.ok(modalityPresent(row, 'demographics'));
    }
  }
});

test('the spurious reading tracks y at training sites but not severity within a class', () => {
  const { train } = split({ rows: 2000 });
  const rows = train.flatMap((s) => s.rows);
  const pooled = corrWith(rows, 'reading', 'y').r;
  assert.ok(pooled >= 0.5 && pooled <= 0.8, `pooled corr(reading, y) = ${pooled}`);
  for (const s of train) {
    const r = corrWith(s.rows, 'reading', 'y').r;
    assert.ok(r > 0.35 && r < 0.85, `${s.name}: corr(reading, y) = ${r}`);
  }
  for (const y of [0, 1] as const) {
    const cls = rows.filter((r) => r.y === y);
    for (const f of CAUSAL_FEATURES) {
      const { r, n } = corrWith(cls, 'reading', f);
      assert.ok(n >= 100, `class ${y}, ${f}: only ${n} rows`);
      assert.ok(Math.abs(r) < 0.15, `class ${y}: within-class corr(reading, ${f}) = ${r}`);
    }
  }
});

test('a causal feature, by contrast, co-varies with the other causal features within a class', () => {
  const { train } = split({ rows: 2000 });
  const cls = train.flatMap((s) => s.rows).filter((r) => r.y === 1);
  assert.ok(corrWith(cls, 'lab1', 'vital1').r > 0.15);
});

test('at the held-out site the reading\'s link to y flips, or breaks with --spurious-flip false', () => {
  const flipped = corrWith(split({ rows: 1000 }).heldOut.rows, 'reading', 'y').r;
  assert.ok(flipped < -0.4, `held-out corr(reading, y) with flip = ${flipped}`);
  const broken = corrWith(split({ rows: 1000, spuriousFlip: false }).heldOut.rows, 'reading', 'y').r;
  assert.ok(Math.abs(broken) < 0.1, `held-out corr(reading, y) without flip = ${broken}`);
});

test('--spurious-strength 0 removes the shortcut at the training sites', () => {
  const rows = split({ rows: 1000, spuriousStrength: 0 }).train.flatMap((s) => s.rows);
  assert.ok(Math.abs(corrWith(rows, 'reading', 'y').r) < 0.1);
});

test('imaging is acquired by outcome at training sites, independently of it at the held-out site', () => {
  const { train, heldOut } = split({ rows: 1000 });
  for (const s of train) {
    const gap = presenceRate(s.rows, 1, 'imaging') - presenceRate(s.rows, 0, 'imaging');
    assert.ok(gap > 0.3, `${s.name}: imaging presence gap by label = ${gap}`);
  }
  const gap = presenceRate(heldOut.rows, 1, 'imaging') - presenceRate(heldOut.rows, 0, 'imaging');
  assert.ok(Math.abs(gap) < 0.1, `held-out imaging presence gap by label = ${gap}`);
  const none = split({ rows: 1000, missingBias: 0 }).train[0]!.rows;
  assert.ok(Math.abs(presenceRate(none, 1, 'imaging') - presenceRate(none, 0, 'imaging')) < 0.1);
});

test('labs are ordered more often for sicker patients, at every site', () => {
  for (const s of split({ rows: 1000 }).sites) {
    const gap = presenceRate(s.rows, 1, 'labs') - presenceRate(s.rows, 0, 'labs');
    assert.ok(gap > 0.1, `${s.name}: labs presence gap by label = ${gap}`);
  }
});

test('causal features correlate with y with the same sign at every site', () => {
  const { sites } = split({ rows: 1000 });
  const expected: Record<string, number> = { age: 1, sex: 1, lab1: 1, lab2: 1, lab3: -1, vital1: 1, vital2: -1 };
  for (const f of CAUSAL_FEATURES) {
    for (const s of sites) {
      const r = corrWith(s.rows, f, 'y').r;
      assert.equal(Math.sign(r), expected[f], `${s.name}: corr(${f}, y) = ${r}`);
    }
  }
});

test('--alpha 0 makes the outcome independent of severity', () => {
  const rows = split({ rows: 1000, alpha: 0 }).sites.flatMap((s) => s.rows);
  const r = pearson(rows.map((x) => x.severity), rows.map((x) => x.y));
  assert.ok(Math.abs(r) < 0.1, `corr(severity, y) with alpha 0 = ${r}`);
});

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
import type { Modality } from '../../../shared/synth/scm.ts';

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
function corrWith(rows: readonly SynthRow[], feature: string, other: string): { r: number; n: number } {
  const num = (v: unknown): number | null => (v === null ? null : v === 'M' ? 1 : v === 'F' ? 0 : (v as number));
  const xs = featureColumn(rows, feature).map(num);
  const ys = other === 'y' ? rows.map((r) => r.y as number) : featureColumn(rows, other).map(num);
  const a: number[] = [], b: number[] = [];
  xs.forEach((x, i) => {
    const y = ys[i];
    if (x !== null && y !== null && y !== undefined) {
      a.push(x);
      b.push(y);
    }
  });
  return { r: pearson(a, b), n: a.length };
}

const presenceRate = (rows: readonly SynthRow[], y: 0 | 1, m: Modality): number => {
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

test('--outcome-offset -4 makes the outcome rare (about 6% at the training sites) and leaves the features of the same patients as they were', () => {
  const [plain, rare] = [split({ rows: 4000 }), split({ rows: 4000, outcomeOffset: -4 })];
  const train = (c: typeof plain) => c.sites.filter((s) => !s.heldOut).flatMap((s) => s.rows);
  const prevalence = (rows: readonly SynthRow[]) => rows.filter((r) => r.y === 1).length / rows.length;
  assert.ok(prevalence(train(rare)) > 0.04 && prevalence(train(rare)) < 0.09, `prevalence ${prevalence(train(rare))}`);
  assert.ok(prevalence(train(plain)) > 0.4, `default prevalence ${prevalence(train(plain))}`);
  // Same draws: a patient's severity and age are the same; only who is a case changes.
  const [a, b] = [plain.sites[0]!.rows[7]!, rare.sites[0]!.rows[7]!];
  assert.equal(a.severity, b.severity);
  assert.equal(a.values[0], b.values[0]);
});

// ---- the cohort family: --imaging-rate, --agreement, --readings, --reading-type, --label-driven

/** Share of rows (with the feature present) where the reading's sign matches 2y-1. */
function labelAgreement(rows: readonly SynthRow[], feature: string): number {
  const xs = featureColumn(rows, feature);
  let agree = 0, n = 0;
  xs.forEach((x, i) => {
    if (x === null) return;
    n++;
    if ((x as number) > 0 === (rows[i]!.y === 1)) agree++;
  });
  return agree / n;
}

const within = (x: number, lo: number, hi: number, what: string) => assert.ok(x >= lo && x <= hi, `${what} = ${x}, expected ${lo}..${hi}`);

test('the family knobs change only their own columns: other values of a seed stay put', () => {
  const base = generateSites(opts({ rows: 300 }));
  const varied = generateSites(opts({ rows: 300, imagingRate: 0.33, agreement: 0.7, readings: 2 }));
  base.forEach((site, i) => {
    site.rows.forEach((row, r) => {
      const other = varied[i]!.rows[r]!;
      assert.equal(other.y, row.y);
      assert.equal(other.severity, row.severity);
      assert.deepEqual(other.values.slice(0, 7), row.values.slice(0, 7));
    });
  });
  // A second reading only adds a column: the first eight are today's, untouched.
  const two = generateSites(opts({ rows: 300, readings: 2 }));
  base.forEach((site, i) => site.rows.forEach((row, r) => assert.deepEqual(two[i]!.rows[r]!.values.slice(0, 8), row.values)));
});

test('--imaging-rate 1 records imaging, and so the reading, for every row at every site', () => {
  for (const s of split({ rows: 2000, imagingRate: 1 }).sites) {
    assert.ok(s.rows.every((r) => modalityPresent(r, 'imaging')), `${s.name}: a row lacks imaging`);
    assert.ok(featureColumn(s.rows, 'reading').every((v) => typeof v === 'number'));
  }
});

test('--imaging-rate 0.33 acquires imaging for about a third of rows at a label-free site', () => {
  // site-shift 0: no site term, and the held-out site has no label term either.
  const { heldOut, train } = split({ rows: 5000, imagingRate: 0.33, siteShift: 0 });
  const rate = heldOut.rows.filter((r) => modalityPresent(r, 'imaging')).length / heldOut.rows.length;
  within(rate, 0.3, 0.36, 'held-out imaging rate');
  // At training sites the label term still skews it by outcome, around a lower base.
  const t = train[0]!.rows;
  assert.ok(presenceRate(t, 1, 'imaging') - presenceRate(t, 0, 'imaging') > 0.2);
  assert.ok(t.filter((r) => modalityPresent(r, 'imaging')).length / t.length < 0.45);
});

test('--agreement 0.7 weakens the reading\'s agreement with y at training sites only', () => {
  const full = split({ rows: 4000, imagingRate: 1 });
  const weak = split({ rows: 4000, imagingRate: 1, agreement: 0.7 });
  const phi1 = 0.8413; // P(N(1, 1) > 0): agreement of a reading whose link is always y
  const a1 = labelAgreement(full.train.flatMap((s) => s.rows), 'reading');
  const a07 = labelAgreement(weak.train.flatMap((s) => s.rows), 'reading');
  within(a1, phi1 - 0.02, phi1 + 0.02, 'agreement with --agreement 1');
  within(a07, 0.7 * phi1 + 0.3 * 0.5 - 0.03, 0.7 * phi1 + 0.3 * 0.5 + 0.03, 'agreement with --agreement 0.7');
  assert.ok(a1 - a07 > 0.05, `agreement dropped only from ${a1} to ${a07}`);
  // The held-out site is reversed as before, whatever the agreement.
  within(labelAgreement(weak.heldOut.rows, 'reading'), 1 - phi1 - 0.03, 1 - phi1 + 0.03, 'held-out agreement (reversed)');
});

test('--readings 2 adds reading2 in a device modality: MCAR, label-only, broken at the held-out site', () => {
  const { train, heldOut, sites } = split({ rows: 3000, readings: 2 });
  for (const s of sites) {
    const rate = s.rows.filter((r) => modalityPresent(r, 'device')).length / s.rows.length;
    within(rate, 0.87, 0.93, `${s.name}: device presence`);
    assert.ok(Math.abs(presenceRate(s.rows, 1, 'device') - presenceRate(s.rows, 0, 'device')) < 0.05);
    assert.deepEqual(s.features, [...FEATURES, 'reading2']);
    assert.ok(s.rows.every((r) => r.values.length === 9));
  }
  for (const s of train) {
    const r = corrWith(s.rows, 'reading2', 'y').r;
    assert.ok(r > 0.35 && r < 0.85, `${s.name}: corr(reading2, y) = ${r}`);
  }
  const cls = train.flatMap((s) => s.rows).filter((r) => r.y === 1);
  assert.ok(Math.abs(corrWith(cls, 'reading2', 'lab1').r) < 0.1, 'reading2 knows severity within a class');
  assert.ok(Math.abs(corrWith(cls, 'reading2', 'reading').r) < 0.1, 'the readings share noise');
  const flipped = corrWith(heldOut.rows, 'reading2', 'y').r;
  assert.ok(flipped < -0.4, `held-out corr(reading2, y) with flip = ${flipped}`);
  const broken = corrWith(split({ rows: 3000, readings: 2, spuriousFlip: false }).heldOut.rows, 'reading2', 'y').r;
  assert.ok(Math.abs(broken) < 0.1, `held-out corr(reading2, y) without flip = ${broken}`);
});

test('with one reading there is no device modality or reading2 column', () => {
  const site = generateSites(opts({ rows: 50 }))[0]!;
  assert.deepEqual(site.features, FEATURES);
  assert.ok(site.rows.every((r) => r.values.length === FEATURES.length && !modalityPresent(r, 'device')));
  assert.ok(featureColumn(site.rows, 'reading2').every((v) => v === null));
});

test('--reading-type categorical writes each reading as high (value > 0) or low', () => {
  const numeric = generateSites(opts({ rows: 500, readings: 2 }));
  const cat = generateSites(opts({ rows: 500, readings: 2, readingType: 'categorical' }));
  numeric.forEach((site, i) => {
    for (const f of ['reading', 'reading2']) {
      const want = featureColumn(site.rows, f).map((v) => (v === null ? null : (v as number) > 0 ? 'high' : 'low'));
      assert.deepEqual(featureColumn(cat[i]!.rows, f), want, `${site.name}: ${f}`);
    }
    // Everything else is the numeric cohort's.
    site.rows.forEach((row, r) => assert.deepEqual(cat[i]!.rows[r]!.values.slice(0, 7), row.values.slice(0, 7)));
  });
  const values = new Set(cat.flatMap((s) => featureColumn(s.rows, 'reading')));
  assert.deepEqual([...values].sort(), ['high', 'low', null].sort());
});

test('--label-driven true: features are caused by y alone, so nothing co-varies within a class', () => {
  // Two training sites of 20k rows: about 10k rows per class with labs and vitals.
  const { train, heldOut } = split({ rows: 20000, sites: 3, labelDriven: true, readings: 2 });
  const rows = train.flatMap((s) => s.rows);
  for (const y of [0, 1] as const) {
    const cls = rows.filter((r) => r.y === y);
    const { r, n } = corrWith(cls, 'lab1', 'vital1');
    assert.ok(n > 8000, `class ${y}: only ${n} rows with labs and vitals`);
    assert.ok(Math.abs(r) < 0.05, `class ${y}: within-class corr(lab1, vital1) = ${r}`);
  }
  assert.ok(corrWith(rows, 'lab1', 'y').r > 0.4, 'lab1 does not track y');
  assert.ok(corrWith(rows, 'vital1', 'y').r > 0.4, 'vital1 does not track y');
  assert.ok(corrWith(rows, 'vital2', 'y').r < -0.2, 'vital2 keeps its negative sign');
  assert.ok(rows.every((r) => r.severity === 2 * r.y - 1), 'severity is 2y-1 when label-driven');
  // No latent: prevalence is the site shift alone, sigmoid(+-0.5) = 0.62 / 0.38.
  const prevalence = (i: number) => train[i]!.rows.filter((r) => r.y === 1).length / train[i]!.rows.length;
  within(prevalence(0), 0.6, 0.65, 'site1 prevalence');
  within(prevalence(1), 0.35, 0.4, 'site2 prevalence');
  // The readings are real markers: their link holds at the held-out site, flip or not.
  for (const f of ['reading', 'reading2']) {
    const r = corrWith(heldOut.rows, f, 'y').r;
    assert.ok(r > 0.35, `held-out corr(${f}, y) when label-driven = ${r}`);
  }
});

test('--missing-held-out true: imaging is ordered on the outcome at the held-out site too, as at the training sites', () => {
  const imagingRate = (rows: { y: number }[], y: number) => {
    const of = rows.filter((r) => r.y === y);
    return of.filter((r) => modalityPresent(r as never, 'imaging')).length / of.length;
  };
  const habit = split({ rows: 5000, siteShift: 0 }).heldOut.rows;
  within(imagingRate(habit, 1) - imagingRate(habit, 0), -0.04, 0.04, 'held-out imaging gap by label, a habit');
  const shared = split({ rows: 5000, siteShift: 0, missingHeldOut: true });
  for (const rows of [shared.heldOut.rows, shared.train[0]!.rows])
    within(imagingRate(rows, 1) - imagingRate(rows, 0), 0.4, 0.6, 'imaging gap by label (about 77% vs 23% at bias 1.2), a shared practice');
  // Only the held-out site's imaging changes.
  const base = split({ rows: 300 });
  const same = split({ rows: 300, missingHeldOut: true });
  base.train[0]!.rows.forEach((row, r) => assert.deepEqual(same.train[0]!.rows[r], row));
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { centreWithinSite, computeClassMoments, mergeClassMoments, siteMoments } from '../../../../../shared/data/class-moments.ts';
import { encodeTable } from '../../../../../shared/data/encode.ts';
import { buildFeatureSpace } from '../../../../../shared/data/feature-space.ts';
import { loadSchema } from '../../../../../shared/data/schema.ts';
import { computeFeatureStats, mergeFeatureStats } from '../../../../../shared/data/stats.ts';
import { loadSiteTable } from '../../../../../shared/data/table.ts';
import type { EncodedData } from '../../../../../shared/data/encode.ts';
import type { FeatureSpace } from '../../../../../shared/data/feature-space.ts';
import { compileDebiasConfig, healthDirection } from '../../../../../shared/model/variants/debiased/config.ts';
import { healthFigures, healthSums } from '../../../../../shared/data/debias-health.ts';
import { decideDebiasing, withDecision } from '../../../../../shared/model/variants/debiased/decide.ts';
import { labelCorrelation, withinClassCorrelation, withinSiteLabelCorrelation } from '../../../../../shared/model/variants/debiased/moment-correlations.ts';
import { Rng } from '../../../../../shared/rng.ts';
import { calibratedSite, cohort, copiedShortcut, labelDriven, manyValuedCategory, numericCohort, prevalenceSite, thresholdCohort } from './decide-cohorts.ts';

test('flags the planted label-only features and nothing else', () => {
  const { data, space } = cohort(true, 1200, 1);
  const d = decideDebiasing(computeClassMoments(data), space);
  assert.equal(d.decision, 'on');
  assert.deepEqual(d.flagged.map((f) => f.feature).sort(), ['flag', 'r']);
  for (const f of d.flagged) {
    assert.equal(f.source, 'auto');
    assert.ok(Math.abs(f.labelCorr) >= 0.2, `${f.feature} label corr ${f.labelCorr}`);
    assert.ok(f.withinClassCorr <= 0.4 * Math.abs(f.labelCorr), `${f.feature} within-class bound ${f.withinClassCorr}`);
  }
  assert.ok(d.markers.every((k) => ['a1', 'a2', 'b1'].includes(k)), `markers are real features: ${d.markers}`);
  assert.ok(d.markers.length >= 2);
  assert.match(d.reason, /flagged (flag|r) \(auto: label/);
  assert.match(d.reason, /severity structure: \d markers/);
  // q is label-only too, but its pairs have 25 rows: it says nothing and must not flag.
  assert.ok(!d.flagged.some((f) => f.feature === 'q'));
});

test('flags nothing when every feature tracks the shared severity', () => {
  for (const seed of [2, 3]) {
    const { data, space } = cohort(false, 1200, seed);
    const m = computeClassMoments(data);
    const d = decideDebiasing(m, space);
    assert.equal(d.decision, 'off', d.reason);
    assert.deepEqual(d.flagged, []);
    assert.ok(Math.abs(labelCorrelation(m, 3)) > 0.4, 'the real features do carry the label');
    assert.match(d.reason, /^nothing flagged: severity structure/);
  }
});

test('no severity structure (features driven by the outcome alone): nothing is flagged', () => {
  for (const seed of [1, 2, 3]) {
    const { data, space } = labelDriven(3000, seed);
    const m = computeClassMoments(data);
    assert.ok([0, 1, 2].every((j) => Math.abs(labelCorrelation(m, j)) > 0.15), 'every feature knows the label');
    const d = decideDebiasing(m, space);
    assert.equal(d.decision, 'off', d.reason);
    assert.match(d.reason, /no severity structure \(0 of 2 markers: label-associated features co-varying within class with a feature of another modality\)/);
    assert.doesNotMatch(d.reason, /own modality/);
    // The old absolute rule (label corr vs the largest within-class correlation) would have flagged them.
    assert.ok(withinClassCorrelation(m, 0, 2).corr < 0.3 * Math.abs(labelCorrelation(m, 2)));
  }
});

test('suspect features are always flagged, trusted ones never, and the decision names the source', () => {
  const planted = cohort(true, 1200, 1);
  const mp = computeClassMoments(planted.data);
  const t = decideDebiasing(mp, planted.space, {}, { trusted: ['r'] });
  assert.deepEqual(t.flagged.map((f) => f.feature), ['flag']);
  assert.match(t.reason, /r would be flagged but is trusted; trusted \(never flagged\): r/);
  const clean = cohort(false, 1200, 2);
  const s = decideDebiasing(computeClassMoments(clean.data), clean.space, {}, { suspect: ['a2'] });
  assert.equal(s.decision, 'on');
  assert.deepEqual(s.flagged.map((f) => [f.feature, f.source]), [['a2', 'suspect']]);
  assert.match(s.reason, /flagged a2 \(suspect, by configuration\)/);
  assert.throws(() => decideDebiasing(mp, planted.space, {}, { suspect: ['nope'] }), /model.debiasing.suspect names "nope", which is not a feature of the schema/);
  assert.throws(() => decideDebiasing(mp, planted.space, {}, { suspect: ['r'], trusted: ['r'] }), /"r" is listed as both suspect and trusted/);
});

test('the within-class correlation carries its noise floor: a bound that narrows with rows', () => {
  const small = computeClassMoments(cohort(true, 200, 9).data);
  const large = computeClassMoments(cohort(true, 4000, 9).data);
  const ws = withinClassCorrelation(small, 3, 0);
  const wl = withinClassCorrelation(large, 3, 0);
  assert.ok(ws.upper - ws.lower > wl.upper - wl.lower, 'more rows, narrower band');
  assert.ok(wl.lower <= wl.corr && wl.corr <= wl.upper);
  assert.ok(wl.upper < 0.1, `a label-only reading's bound on 4000 rows: ${wl.upper}`);
});

test('the label correlation is Pearson with y on the observed rows', () => {
  const { data } = cohort(true, 300, 4);
  const j = 2; // b1, observed on ~70% of rows
  const xs: number[] = [];
  const ys: number[] = [];
  for (let i = 0; i < data.n; i++)
    if (data.observed[i * data.dim + j]) {
      xs.push(data.x[i * data.dim + j]!);
      ys.push(data.y[i]!);
    }
  const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;
  const [mx, my] = [mean(xs), mean(ys)];
  let sxy = 0, sxx = 0, syy = 0;
  xs.forEach((v, i) => ((sxy += (v - mx) * (ys[i]! - my)), (sxx += (v - mx) ** 2), (syy += (ys[i]! - my) ** 2)));
  const want = sxy / Math.sqrt(sxx * syy);
  assert.ok(Math.abs(labelCorrelation(computeClassMoments(data), j) - want) < 1e-5);
});

test('withDecision fills the auto config and keeps explicit modes', () => {
  const { data, space } = cohort(true, 800, 5);
  const d = decideDebiasing(computeClassMoments(data), space);
  const auto = compileDebiasConfig(withDecision({ share: 0.5 }, d));
  assert.equal(auto.mode, 'auto');
  assert.equal(auto.active, true);
  assert.deepEqual(auto.flagged, d.flagged);
  assert.match(auto.reason, /^auto: flagged /);
  const off = compileDebiasConfig(withDecision({ mode: 'off' }, d));
  assert.equal(off.active, false);
  assert.match(off.reason, /mode 'off': debiasing off by configuration \(auto would say on/);
  const none = decideDebiasing(computeClassMoments(cohort(false, 800, 6).data), space);
  assert.equal(compileDebiasConfig(withDecision(undefined, none)).active, false);
  assert.throws(() => decideDebiasing(computeClassMoments({ ...data, dim: 3, x: new Float32Array(0), observed: new Float32Array(0), n: 0 }), space), /3 columns, the feature space has 7/);
});

test('a one-hot feature is judged by its column with the strongest label correlation', () => {
  // cp: category '4' tracks severity (strongest label link); '2' is a rare label-only
  // category (only some y = 0 rows): alone it would flag, but it does not speak for cp.
  const space: FeatureSpace = {
    modalities: [
      { name: 'labs', start: 0, end: 2 },
      { name: 'symptoms', start: 2, end: 5 },
    ],
    columns: [
      { feature: 'a1', featureIndex: 0, kind: 'numeric', mean: 0, std: 1 },
      { feature: 'a2', featureIndex: 1, kind: 'numeric', mean: 0, std: 1 },
      ...['1', '2', '4'].map((category) => ({ feature: 'cp', featureIndex: 2, kind: 'category' as const, category, mean: 0, std: 1 })),
    ],
  };
  const n = 1500;
  const dim = 5;
  const rng = new Rng(8);
  const x = new Float32Array(n * dim);
  const y = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const s = rng.normal();
    y[i] = s + 0.6 * rng.normal() > 0 ? 1 : 0;
    x[i * dim] = s + 0.7 * rng.normal();
    x[i * dim + 1] = s + 0.7 * rng.normal();
    const cat = !y[i] && rng.next() < 0.3 ? 3 : s + 0.5 * rng.normal() > 0.3 ? 4 : 2;
    x[i * dim + cat] = 1;
  }
  const data: EncodedData = { n, dim, x, observed: new Float32Array(n * dim).fill(1), present: new Float32Array(n * 2), y, patterns: new Array(n).fill('11') };
  const m = computeClassMoments(data);
  assert.ok(Math.abs(labelCorrelation(m, 3)) >= 0.2, 'the rare category does know the label');
  const d = decideDebiasing(m, space);
  assert.equal(d.decision, 'off', d.reason);
});

test('heart disease: every strong feature tracks the disease, so nothing is flagged, on all four sites and on every three-site training set', () => {
  const dir = new URL('../../../../../../shared/data/heart-disease/', import.meta.url).pathname;
  const schema = loadSchema(dir + 'schema.json');
  const files = ['cleveland', 'hungarian', 'switzerland', 'va'].map((n) => loadSiteTable(schema, `${dir}processed.${n}.data`));
  const sets = [files, ...files.map((_, out) => files.filter((__, i) => i !== out))];
  for (const tables of sets) {
    const space = buildFeatureSpace(schema, mergeFeatureStats(tables.map((t) => computeFeatureStats(schema, t))));
    const m = mergeClassMoments(tables.map((t) => computeClassMoments(encodeTable(t, space))));
    const d = decideDebiasing(m, space);
    assert.equal(d.decision, 'off', `${tables.map((t) => t.file.split('/').pop()).join(', ')}: ${d.reason}`);
    assert.ok(d.markers.length >= 2, 'a severity structure is there');
  }
});

test('a real marker calibrated differently at each hospital is not flagged: a flag needs the site-centred view to agree; a shortcut still is', () => {
  const decide = (shortcut: boolean, within: boolean) => {
    const sites = [-1, 0, 1].map((o, k) => calibratedSite(o, 600, 40 + k, shortcut));
    const moments = sites.map((s) => computeClassMoments(s.data));
    return decideDebiasing(mergeClassMoments(moments), sites[0]!.space, {}, {}, within ? mergeClassMoments(moments.map(centreWithinSite)) : undefined);
  };
  // Pooled raw sums mix the sites' offsets into the within-class covariance: r's bound looks label-only
  // there, but it still co-varies with a1 within class as a marker would, so it is not flagged.
  const pooled = decide(false, false);
  assert.equal(pooled.decision, 'off', `pooled only: ${pooled.reason}`);
  assert.match(pooled.reason, /pooled view only/);
  assert.match(pooled.reason, /not flagged, within its bound but co-varying within class with a marker as a severity marker would \(an outcome close to a threshold of severity can do that\): r \(with (a1|a2|b1): within-class 0\.\d+\)/);
  const both = decide(false, true);
  assert.equal(both.decision, 'off', both.reason);
  const shortcut = decide(true, true);
  assert.deepEqual(shortcut.flagged.map((f) => [f.feature, f.source]), [['r', 'auto']], shortcut.reason);
});

test('a lab read higher where more patients are sick is not flagged: its label correlation within hospitals is small; a shortcut tied to the label at every site still is', () => {
  const decide = (shortcut: boolean, within: boolean, loading?: number) => {
    const sites = [-1, 0, 1].map((d, k) => prevalenceSite(d, 600, 60 + k, shortcut, loading));
    const moments = sites.map((s) => siteMoments(s.data));
    return decideDebiasing(mergeClassMoments(moments.map((m) => m.pooled)), sites[0]!.space, {}, {}, within ? mergeClassMoments(moments.map((m) => m.withinSite)) : undefined);
  };
  // Pooled over sites, the offset gives the lab a label correlation that its within-class bound is small against.
  const pooled = decide(false, false);
  assert.deepEqual(pooled.flagged.map((f) => f.feature), ['l'], `pooled only: ${pooled.reason}`);
  // Within the hospitals it tracks severity a little (loading 0.1), and that co-variation keeps it.
  const both = decide(false, true);
  assert.equal(both.decision, 'off', both.reason);
  assert.match(both.reason, /co-varying within class with a marker as a severity marker would [^;]*: l \(with a1/);
  // A lab that does not track severity within the hospitals at all is kept by its small label association there.
  const blind = decide(false, true, 0);
  assert.equal(blind.decision, 'off', blind.reason);
  const m = /l \(label ([\d.-]+) pooled, ([\d.-]+) within sites/.exec(blind.reason);
  assert.ok(m && Number(m[1]) > 0.3 && Math.abs(Number(m[2])) < 0.2, `label correlation pooled vs within sites: ${blind.reason}`);
  const shortcut = decide(true, true);
  assert.deepEqual(shortcut.flagged.map((f) => [f.feature, f.source]), [['l', 'auto']], shortcut.reason);
});

test('a shortcut at hospitals of very different case mix is still flagged: the within-site label association is read as an effect size, which a nearly one-class site does not dilute', () => {
  // Prevalence 0.05, 0.5 and 0.95: two sites' rows are nearly all of one class.
  const sites = [-1.5, 0, 1.5].map((d, k) => prevalenceSite(d, 600, 80 + k, true));
  const moments = sites.map((s) => siteMoments(s.data));
  const within = mergeClassMoments(moments.map((m) => m.withinSite));
  const d = decideDebiasing(mergeClassMoments(moments.map((m) => m.pooled)), sites[0]!.space, {}, {}, within);
  assert.deepEqual(d.flagged.map((f) => f.feature), ['l'], d.reason);
  // The plain correlation about each site's means is diluted by the one-class sites' scatter; the effect size is not.
  const [c0, c1] = within.classes;
  const plain = c1.colSum[2]! / Math.sqrt((c0.colSumSq[2]! + c1.colSumSq[2]!) * within.labelScatter![2]!);
  assert.ok(withinSiteLabelCorrelation(within, 2) > plain + 0.1, `effect size ${withinSiteLabelCorrelation(within, 2)} vs plain ${plain}`);
});

test('an outcome close to a threshold of severity: noisy real labs co-vary within class with the markers and are not flagged; the planted reading is', () => {
  let spared = 0;
  for (const seed of [1, 2, 3, 4]) {
    const sites = [0, 1, 2].map((k) => thresholdCohort(4000, 100 * seed + k));
    const moments = sites.map((s) => siteMoments(s.data));
    const d = decideDebiasing(mergeClassMoments(moments.map((m) => m.pooled)), sites[0]!.space, {}, {}, mergeClassMoments(moments.map((m) => m.withinSite)));
    assert.deepEqual(d.flagged.map((f) => f.feature), ['r'], `seed ${seed}: ${d.reason}`);
    if (/co-varying within class with a marker as a severity marker would[^;]*(lab|vital|crp)/.test(d.reason)) spared++;
  }
  assert.ok(spared >= 1, 'a real lab was within its bound (what the rule flagged before) in some seed');
});

test('a shortcut whose device reads higher at the hospitals with sicker patients is still flagged: the co-variation check reads the site-centred sums, not the case mix', () => {
  for (const seed of [1, 2]) {
    const names: [string, string][] = [['labs', 'a1'], ['labs2', 'a2'], ['exam', 'b1'], ['imaging', 'r']];
    const sites = [-0.8, 0, 0.8].map((mu, k) =>
      numericCohort(names, 2000, 10 * seed + k, (rng) => {
        const s = mu + rng.normal();
        const y = rng.next() < 1 / (1 + Math.exp(-2 * s)) ? 1 : 0;
        return [y, [s + 0.7 * rng.normal(), s + 0.7 * rng.normal(), s + 0.7 * rng.normal(), 2 * y - 1 + 1.2 * rng.normal() + 0.3 * mu]];
      }),
    );
    const moments = sites.map((s) => siteMoments(s.data));
    const d = decideDebiasing(mergeClassMoments(moments.map((m) => m.pooled)), sites[0]!.space, {}, {}, mergeClassMoments(moments.map((m) => m.withinSite)));
    assert.deepEqual(d.flagged.map((f) => f.feature), ['r'], `seed ${seed}: ${d.reason}`);
  }
});

test('a shortcut with a copy in another modality (the same value, or its band) is flagged with its copy: the copy is no evidence of severity', () => {
  for (const kind of ['copy', 'band'] as const)
    for (const seed of [1, 2]) {
      const sites = [0, 1, 2].map((k) => copiedShortcut(kind, 1500, 10 * seed + k));
      const moments = sites.map((s) => siteMoments(s.data));
      const [pooled, within] = [mergeClassMoments(moments.map((m) => m.pooled)), mergeClassMoments(moments.map((m) => m.withinSite))];
      const d = decideDebiasing(pooled, sites[0]!.space, {}, {}, within);
      // Before: r and r2 co-varied within class with each other, so each was a "marker" and nothing was flagged.
      assert.deepEqual(d.flagged.map((f) => f.feature).sort(), ['r', 'r2'], `${kind}, seed ${seed}: ${d.reason}`);
      assert.match(d.reason, /moving together as one reading \(within-class correlation >= 0\.7[^)]*\), neither counted as the other's evidence: r and r2/);
      assert.ok(!d.markers.includes('r') && !d.markers.includes('r2'), d.markers.join(', '));
      // A suspect reading takes its copy with it, unless the copy is trusted (the rule itself kept out: nothing reaches its label bar).
      const off = { minLabelCorr: 1 };
      const s = decideDebiasing(pooled, sites[0]!.space, off, { suspect: ['r'] }, within);
      assert.deepEqual(s.flagged.map((f) => [f.feature, f.source]), [['r', 'suspect'], ['r2', 'suspect']], s.reason);
      assert.match(s.reason, /r2 \(suspect: a copy of r\)/);
      assert.match(s.reason, /flagged with the reading it copies: r2 \(of r\)/);
      const t = decideDebiasing(pooled, sites[0]!.space, off, { suspect: ['r'], trusted: ['r2'] }, within);
      assert.deepEqual(t.flagged.map((f) => f.feature), ['r'], t.reason);
    }
});

test('a categorical shortcut spread over many values (24 units, 12 where the sick are sent) is flagged by its values grouped; a real marker of many values is not', () => {
  for (const seed of [1, 2]) {
    const { data, space } = manyValuedCategory(true, 3000, seed);
    const m = computeClassMoments(data);
    const strongest = Math.max(...space.columns.map((c, j) => (c.feature === 'unit' ? Math.abs(labelCorrelation(m, j)) : 0)));
    assert.ok(strongest < 0.2, `seed ${seed}: each unit alone is under the label floor (${strongest})`);
    const d = decideDebiasing(m, space, {}, {}, centreWithinSite(m));
    assert.deepEqual(d.flagged.map((f) => f.feature), ['unit'], `seed ${seed}: ${d.reason}`);
    assert.match(d.reason, /judged by their values grouped.*unit \("U\d+"/);
    // The health figures read one of the feature's own columns.
    assert.ok(space.columns[d.flagged[0]!.column!]!.feature === 'unit');
    const real = manyValuedCategory(false, 3000, seed);
    const r = computeClassMoments(real.data);
    const dr = decideDebiasing(r, real.space, {}, {}, centreWithinSite(r));
    assert.deepEqual(dr.flagged, [], `seed ${seed}: ${dr.reason}`);
  }
});

test("a categorical shortcut flagged by its values grouped: the health figures take their direction from the column they read", () => {
  // 6 units: the strongest single value may be a "well" unit (a negative link) while the group's link is positive.
  let opposite = 0;
  for (const seed of [1, 2, 3, 4, 5, 6, 7, 8]) {
    const { data, space } = manyValuedCategory(true, 3000, seed, 6);
    const m = computeClassMoments(data);
    const f = decideDebiasing(m, space, {}, {}, centreWithinSite(m)).flagged.find((x) => x.feature === 'unit');
    if (!f?.columnLabelCorr) continue;
    const own = labelCorrelation(m, f.column!);
    assert.equal(Math.sign(f.columnLabelCorr), Math.sign(own));
    if (Math.sign(own) !== Math.sign(f.labelCorr)) opposite++;
    // Unweighted rows keep the shortcut's link: the figure must read above 0.5, not "reversed".
    const one = new Float32Array(data.n).fill(1);
    const h = healthFigures(healthSums(data, one, new Float32Array(data.n).fill(0.5), [{ feature: 'unit', column: f.column! }]), { unit: healthDirection(f) });
    assert.ok(h.weightedAssociation.unit! > 0.5, `seed ${seed}: ${h.weightedAssociation.unit}`);
  }
  assert.ok(opposite > 0, 'some draw reads a value whose link runs against the group (the case this guards)');
});

test('a class where a column is constant says nothing of the within-class correlation; a column constant in both (a leak) stands apart', () => {
  // size: a real marker recorded 0 for every negative and tracking severity among positives.
  // leak: the label itself. a1, a2, b1: markers of one severity.
  const n = 600;
  const { data } = numericCohort([['labs', 'a1'], ['labs2', 'a2'], ['exam', 'b1'], ['imaging', 'size'], ['admin', 'leak']], n, 5, (rng) => {
    const s = rng.normal();
    const y = s + 0.6 * rng.normal() > 0 ? 1 : 0;
    return [y, [s + 0.8 * rng.normal(), s + 0.8 * rng.normal(), s + 0.8 * rng.normal(), y ? 1 + 0.5 * s + 0.5 * rng.normal() : 0, y]];
  });
  const { x, y, dim } = data;
  const m = computeClassMoments(data);
  // Among positives alone, by hand.
  const pos = [...Array(n).keys()].filter((i) => y[i]);
  const col = (j: number) => pos.map((i) => x[i * dim + j]!);
  const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;
  const [u, v] = [col(3), col(0)];
  const [mu, mv] = [mean(u), mean(v)];
  let suv = 0, suu = 0, svv = 0;
  u.forEach((a, k) => ((suv += (a - mu) * (v[k]! - mv)), (suu += (a - mu) ** 2), (svv += (v[k]! - mv) ** 2)));
  const w = withinClassCorrelation(m, 3, 0);
  assert.ok(Math.abs(w.corr - Math.abs(suv / Math.sqrt(suu * svv))) < 1e-4, `the positives' correlation alone: ${w.corr}`);
  assert.ok(Math.abs(w.se - 1 / Math.sqrt(pos.length - 3)) < 1e-9, 'the band of the positives alone');
  const leak = withinClassCorrelation(m, 4, 0);
  assert.equal(leak.corr, 0);
  assert.ok(Math.abs(leak.se - 1 / Math.sqrt(n - 6)) < 1e-9, 'both classes count where neither varies');
});

test('every marker on one panel: no severity structure, and the reason names the features that co-vary within their own modality only', () => {
  const { data, space } = numericCohort([['labs', 'lab1'], ['labs', 'lab2'], ['labs', 'lab3'], ['imaging', 'reading']], 2000, 3, (rng) => {
    const s = rng.normal();
    const y = 2 * s + rng.normal() > 0 ? 1 : 0;
    return [y, [0.8 * s + rng.normal(), 0.8 * s + rng.normal(), 0.8 * s + rng.normal(), 2 * y - 1 + rng.normal()]];
  });
  assert.deepEqual(space.modalities, [{ name: 'labs', start: 0, end: 3 }, { name: 'imaging', start: 3, end: 4 }], 'the three labs on one panel');
  const m = computeClassMoments(data);
  assert.match(decideDebiasing(m, space, {}, { suspect: ['reading'] }).reason, /: another reading you doubt can be named in model\.debiasing\.suspect/);
  const d = decideDebiasing(m, space);
  assert.equal(d.decision, 'off');
  assert.match(d.reason, /no severity structure \(0 of 2 markers[^)]*\)[^;]*; lab1, lab2, lab3 co-vary within class only with features of their own modality \(one panel, one instrument or a hospital's calibration can cause that\), which the rule does not count as severity: a reading you doubt can be named in model.debiasing.suspect/);
});

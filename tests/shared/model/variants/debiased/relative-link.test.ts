// The two opt-in checks that read the relative link (relative-link.ts; docs/debiasing.md,
// "A second cause measured twice, and the relative link"): decide.maxRelative and
// decide.peerLink, each on cohorts of three sites, against the default.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mergeClassMoments, siteMoments } from '../../../../../shared/data/class-moments.ts';
import { DEFAULT_DECIDE } from '../../../../../shared/model/variants/debiased/config.ts';
import { decideDebiasing } from '../../../../../shared/model/variants/debiased/decide.ts';
import type { FeatureView } from '../../../../../shared/model/variants/debiased/feature-view.ts';
import { relativeLink } from '../../../../../shared/model/variants/debiased/relative-link.ts';
import type { Rng } from '../../../../../shared/rng.ts';
import { numericCohort } from './decide-cohorts.ts';

/** The decision over three sites of `rows` rows drawn by `draw` (seeds 10 x seed + k), pooled and site-centred. */
function decideOnThreeSites(names: [string, string][], rows: number, seed: number, draw: Parameters<typeof numericCohort>[3], opts: object = {}) {
  const sites = [0, 1, 2].map((k) => numericCohort(names, rows, 10 * seed + k, draw));
  const moments = sites.map((x) => siteMoments(x.data));
  return decideDebiasing(mergeClassMoments(moments.map((m) => m.pooled)), sites[0]!.space, opts, {}, mergeClassMoments(moments.map((m) => m.withinSite)));
}

/** Three markers of a severity s (in three modalities) that drives the label: s, y and their values. */
function severityMarkers(rng: Rng, logit = (s: number) => 2 * s): { s: number; y: number; markers: number[] } {
  const s = rng.normal();
  const y = rng.next() < 1 / (1 + Math.exp(-logit(s))) ? 1 : 0;
  return { s, y, markers: [0.8 * s + rng.normal(), 0.6 * s + rng.normal(), 0.7 * s + rng.normal()] };
}
const MARKERS: [string, string][] = [['labs', 'a1'], ['labs2', 'a2'], ['exam', 'b1']];

test('with decide.maxRelative set, a reading that co-varies with the markers, or is one, but whose label link is mostly its own (recorded after the outcome) is flagged by its relative link; by default (0) it is spared', () => {
  const decide = (seed: number, load: number, opts: object = { maxRelative: 0.4 }) =>
    decideOnThreeSites([...MARKERS, ['admin', 'los']], 2000, seed, (rng) => {
      const { s, y, markers } = severityMarkers(rng);
      return [y, [...markers, load * s + 1.2 * (2 * y - 1) + rng.normal()]];
    }, opts);
  for (const seed of [1, 2]) {
    // A length of stay: a little severity (0.2 per unit), mostly the outcome itself.
    const d = decide(seed, 0.2);
    assert.deepEqual(d.flagged.map((f) => [f.feature, f.source]), [['los', 'auto']], `seed ${seed}: ${d.reason}`);
    const rel = /flagged though it co-varies within class as a severity marker would, its label link far beyond[^:]*: los \((with (a1|a2|b1)|a marker): within-class (>= )?0\.\d+; relative link (0\.\d+)\)/.exec(d.reason);
    assert.ok(rel && Number(rel[4]) <= 0.4, d.reason);
    // The check off (the default): its co-variation spares it (or, with these rows, makes it a marker).
    const off = decide(seed, 0.2, {});
    assert.equal(off.decision, 'off', off.reason);
    assert.ok(off.markers.includes('los') || /co-varying within class with a marker as a severity marker would[^;]*: los \(with (a1|a2|b1): within-class 0\.\d+\)/.test(off.reason), off.reason);
    // A marker like the others (its label link all through severity) is not flagged.
    const real = decide(seed, 0.7);
    assert.equal(real.decision, 'off', `seed ${seed}, a real marker: ${real.reason}`);
  }
});

/** MARKERS, then a second cause r (0.3 s + its own part, in the label's log-odds) measured twice, creat and urea (renal), and los (admin): a leak or noise. */
const RENAL: [string, string][] = [...MARKERS, ['renal', 'creat'], ['renal', 'urea'], ['admin', 'los']];
function renalRow(rng: Rng, leak: boolean): [number, number[]] {
  const z = rng.normal();
  const { y, markers, s } = severityMarkers(rng, (sev) => 2 * sev + 1.5 * (0.3 * sev + Math.sqrt(0.91) * z));
  const r = 0.3 * s + Math.sqrt(0.91) * z;
  const los = leak ? 1.2 * (2 * y - 1) + rng.normal() : rng.normal();
  return [y, [...markers, r + 0.5 * rng.normal(), r + 0.6 * rng.normal(), los]];
}

test('with decide.peerLink set, a second cause measured twice in its own modality (creatinine and urea of a renal panel) is not flagged: its measures co-vary within class as the markers of one cause do; a leak beside it still is; by default (0) the bound flags them', () => {
  const decide = (seed: number, leak: boolean, opts: object = { peerLink: 0.4 }) => decideOnThreeSites(RENAL, 2000, seed, (rng) => renalRow(rng, leak), opts);
  for (const seed of [1, 2]) {
    // Against the first cause's markers they read label-only: the default (the check off) flags both.
    assert.deepEqual(decide(seed, false, {}).flagged.map((f) => f.feature).sort(), ['creat', 'urea'], `seed ${seed}, the check off`);
    // With the relative link on too, they stay spared.
    assert.equal(decide(seed, false, { peerLink: 0.4, maxRelative: 0.4 }).decision, 'off');
    const d = decide(seed, false);
    assert.equal(d.decision, 'off', `seed ${seed}: ${d.reason}`);
    assert.match(d.reason, /not flagged, within its bound but co-varying within class with a label-associated feature of its own modality as markers of one cause would [^:]*: (creat \(with urea|urea \(with creat)/, d.reason);
    const withLeak = decide(seed, true);
    assert.deepEqual(withLeak.flagged.map((f) => f.feature), ['los'], `seed ${seed}, a leak beside them: ${withLeak.reason}`);
  }
});

test('with decide.peerLink set, a leak exported twice into one modality (days and hours) is flagged with its copy: the same value recorded twice is no second cause', () => {
  for (const seed of [1, 2]) {
    const d = decideOnThreeSites([...MARKERS, ['admin', 'los'], ['admin', 'los_hours']], 1000, seed, (rng) => {
      const { y, markers } = severityMarkers(rng);
      const los = 1.2 * (2 * y - 1) + 1.5 * rng.normal();
      return [y, [...markers, los, Math.round(24 * los + 2 * rng.normal())]];
    }, { peerLink: 0.4 });
    assert.deepEqual(d.flagged.map((f) => f.feature).sort(), ['los', 'los_hours'], `seed ${seed}: ${d.reason}`);
  }
});

test('with decide.peerLink set, a leak sharing a recording offset with a real marker of its own modality is still flagged: a peer that tracks the severity the markers do is no second cause', () => {
  for (const seed of [1, 2]) {
    const d = decideOnThreeSites([...MARKERS, ['admin', 'los'], ['admin', 'n_meds']], 2000, seed, (rng) => {
      const { s, y, markers } = severityMarkers(rng);
      const w = 0.8 * rng.normal();
      return [y, [...markers, 1.2 * (2 * y - 1) + w + rng.normal(), 0.5 * s + w + rng.normal()]];
    }, { peerLink: 0.4 });
    assert.deepEqual(d.flagged.map((f) => f.feature), ['los'], `seed ${seed}: ${d.reason}`);
  }
});

// decide.peerLink is a threshold, not a switch: the pair is spared only while its relative
// link (printed in the reason) is above it; a bar just above that link flags them again.
test('with decide.peerLink just above the pair\'s relative link, creatinine and urea are flagged again; just below, spared', () => {
  for (const seed of [1, 2]) {
    const spared = decideOnThreeSites(RENAL, 2000, seed, (rng) => renalRow(rng, false), { peerLink: 0.4 });
    const link = Number(/creat \(with urea: relative link (\d+\.\d+)\)/.exec(spared.reason)?.[1]);
    assert.ok(link > 1, `seed ${seed}: the pair's relative link is read off the reason: ${spared.reason}`);
    const above = decideOnThreeSites(RENAL, 2000, seed, (rng) => renalRow(rng, false), { peerLink: link + 0.05 });
    assert.deepEqual(above.flagged.map((f) => f.feature).sort(), ['creat', 'urea'], `seed ${seed}, peerLink ${link + 0.05} (a bar the pair cannot clear): ${above.reason}`);
    const below = decideOnThreeSites(RENAL, 2000, seed, (rng) => renalRow(rng, false), { peerLink: link - 0.05 });
    assert.equal(below.decision, 'off', `seed ${seed}, peerLink ${link - 0.05}: ${below.reason}`);
  }
});

// Each link is read on the evidence's cautious side: a peer's (which spares) at its lower
// confidence bound, the partners' (which may flag) at their upper; at confidence 0 both are the estimate.
test('relativeLink reads a peer at its lower confidence bound and the partners at their upper', () => {
  const sites = [0, 1, 2].map((k) => numericCohort(RENAL, 2000, 10 + k, (rng) => renalRow(rng, false)));
  const centred = mergeClassMoments(sites.map((x) => siteMoments(x.data).withinSite));
  const view = (feature: string, col: number, modality: number): FeatureView => ({ feature, col, column: col, labelCorr: NaN, modality, cleared: 0, copies: new Map() });
  const markers = [view('a1', 0, 0), view('a2', 1, 1), view('b1', 2, 2)];
  const [creat, urea] = [view('creat', 3, 3), view('urea', 4, 3)];
  const banded = relativeLink(centred, creat, markers, [urea], { ...DEFAULT_DECIDE, peerLink: 0.4 });
  const estimate = relativeLink(centred, creat, markers, [urea], { ...DEFAULT_DECIDE, peerLink: 0.4, confidence: 0 });
  assert.ok(banded.peer && estimate.peer, 'urea is read as creat\'s peer');
  assert.ok(banded.peer.link < estimate.peer.link, `the peer's link ${banded.peer.link} must be below its estimate ${estimate.peer.link}`);
  assert.ok(banded.partners > estimate.partners, `the partners' link ${banded.partners} must be above its estimate ${estimate.partners}`);
});

/** Three sites where los (admin) is mostly the outcome and tracks severity a little, after `markers` (the first of MARKERS' draws, in order). */
function decideLos(markers: [string, string][], seed: number, opts: object, copy = false) {
  const names: [string, string][] = [...markers, ['admin', 'los'], ...(copy ? [['copy', 'los_b'] as [string, string]] : [])];
  return decideOnThreeSites(names, 2000, seed, (rng) => {
    const { s, y, markers: values } = severityMarkers(rng);
    const los = 0.2 * s + 1.2 * (2 * y - 1) + rng.normal();
    return [y, [...values.slice(0, markers.length), los, ...(copy ? [los + 0.1 * rng.normal()] : [])]];
  }, opts);
}

// The relative link needs the median of at least two marker pairs of different modalities:
// two pairs give a verdict, one gives none (the check then says nothing, and the co-variation spares).
test('with decide.maxRelative set, two marker pairs (of other modalities) are enough for a relative link; one is not', () => {
  for (const seed of [1, 2]) {
    // a1 and a2 share a modality: their pairs are a1-b1 and a2-b1.
    const two = decideLos([['labs', 'a1'], ['labs', 'a2'], ['exam', 'b1']], seed, { maxRelative: 0.4 });
    assert.deepEqual(two.flagged.map((f) => [f.feature, f.source]), [['los', 'auto']], `seed ${seed}, two pairs: ${two.reason}`);
    const one = decideLos([['labs', 'a1'], ['exam', 'b1']], seed, { maxRelative: 0.4 });
    assert.equal(one.decision, 'off', `seed ${seed}, one pair (no verdict): ${one.reason}`);
    assert.doesNotMatch(one.reason, /relative link \d/, `seed ${seed}: no relative link is read off one pair`);
  }
});

// A copy is no evidence for its reading: los's copy in another modality clears as a marker
// (it tracks severity as los does), but los's bound and relative link leave it out.
test('with decide.maxRelative set, a leak\'s copy that is a marker itself is no evidence for the leak: both are flagged', () => {
  for (const seed of [2, 3]) {
    const d = decideLos(MARKERS, seed, { maxRelative: 0.4 }, true);
    assert.ok(d.markers.includes('los_b'), `seed ${seed}: the copy must be a marker for this to test anything: ${d.reason}`);
    assert.deepEqual(d.flagged.map((f) => f.feature).sort(), ['los', 'los_b'], `seed ${seed}: ${d.reason}`);
  }
});

/** Three sites with prevalence 0.2, 0.5 and 0.8 whose device l reads one unit higher per step, and ties to the label by `direct` within each. */
function decideOffsetDevice(direct: number, seed: number) {
  const sites = [0, 1, 2].map((k) =>
    numericCohort([['labs', 'a1'], ['labs2', 'a2'], ['exam', 'b1'], ['device', 'l']], 4000, 10 * seed + k, (rng) => {
      const y = rng.next() < 0.2 + 0.3 * k ? 1 : 0;
      const s = 0.6 * (2 * y - 1) + rng.normal();
      return [y, [s + 0.7 * rng.normal(), s + 0.7 * rng.normal(), s + 0.7 * rng.normal(), direct * (2 * y - 1) + rng.normal() + k]];
    }),
  );
  const moments = sites.map((x) => siteMoments(x.data));
  return decideDebiasing(mergeClassMoments(moments.map((m) => m.pooled)), sites[0]!.space, {}, {}, mergeClassMoments(moments.map((m) => m.withinSite)));
}

// Within sites a reading must know the label (|label corr| >= minLabelCorr there) as well as
// stay within its bound: l below (about 0.15 within sites, its bound far under 0.4 x that) is
// label-only pooled through the hospitals' offsets and is not flagged; tied more, it is.
test('a reading apart from the markers within sites but tied to the label there below minLabelCorr is not flagged', () => {
  for (const seed of [1, 2]) {
    const weak = decideOffsetDevice(0.15, seed);
    assert.equal(weak.decision, 'off', `seed ${seed}: ${weak.reason}`);
    assert.match(weak.reason, /label-only pooled over sites but not within each site[^:]*: l \(label 0\.\d+ pooled, 0\.1\d within sites; within-class <= 0\.0\d within sites\)/, `seed ${seed}`);
    const strong = decideOffsetDevice(0.3, seed);
    assert.deepEqual(strong.flagged.map((f) => f.feature), ['l'], `seed ${seed}: ${strong.reason}`);
  }
});

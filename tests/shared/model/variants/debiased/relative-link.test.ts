// The two opt-in checks that read the relative link (relative-link.ts; docs/debiasing.md,
// "A second cause measured twice, and the relative link"): decide.maxRelative and
// decide.peerLink, each on cohorts of three sites, against the default.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mergeClassMoments, siteMoments } from '../../../../../shared/data/class-moments.ts';
import { decideDebiasing } from '../../../../../shared/model/variants/debiased/decide.ts';
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

test('with decide.peerLink set, a second cause measured twice in its own modality (creatinine and urea of a renal panel) is not flagged: its measures co-vary within class as the markers of one cause do; a leak beside it still is; by default (0) the bound flags them', () => {
  const decide = (seed: number, leak: boolean, opts: object = { peerLink: 0.4 }) =>
    decideOnThreeSites([...MARKERS, ['renal', 'creat'], ['renal', 'urea'], ['admin', 'los']], 2000, seed, (rng) => {
      const z = rng.normal();
      const { y, markers, s } = severityMarkers(rng, (sev) => 2 * sev + 1.5 * (0.3 * sev + Math.sqrt(0.91) * z));
      const r = 0.3 * s + Math.sqrt(0.91) * z;
      const los = leak ? 1.2 * (2 * y - 1) + rng.normal() : rng.normal();
      return [y, [...markers, r + 0.5 * rng.normal(), r + 0.6 * rng.normal(), los]];
    }, opts);
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

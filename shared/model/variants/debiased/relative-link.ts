// The relative link (docs/debiasing.md, "A second cause measured twice, and the relative
// link"): how much of a reading's label link its within-class co-variation accounts for, by
// the markers' own measure; decide.ts reads it for decide.peerLink and decide.maxRelative.
import type { ClassMoments } from '../../../data/class-moments.ts';
import { quantile } from '../../../data/stats.ts';
import { ONE_VALUE_CORR, type DecideOptions } from './config.ts';
import { evidenceFor, type FeatureView } from './feature-view.ts';
import { withinClassCorrelation, withinSiteLabelCorrelation } from './moment-correlations.ts';

/**
 * How much of f's label correlation its co-variation accounts for, by the markers' own
 * measure (1: as much as for a marker; near 0: a link of its own). Under one severity, two
 * markers' within-class correlation over the product of their label correlations is about
 * the same for every pair; a reading whose label link is partly its own (a length of stay
 * recorded after the outcome) has a smaller one. Its best quotient, over the median of the
 * markers' pairs (of other modalities), all within hospitals: `partners` against the markers
 * of other modalities (each correlation at its upper bound), `peer` the best against the
 * label-associated features of its own modality (at its lower bound: a second cause measured
 * twice, creatinine and urea of a renal panel, an outside try). NaN where fewer than two
 * marker pairs, or no partner, can be read: no verdict. Read on site-centred sums only:
 * pooled over hospitals a real marker calibrated differently at each read 0.19.
 */
export function relativeLink(centred: ClassMoments, f: FeatureView, markers: FeatureView[], peers: FeatureView[], o: DecideOptions): { partners: number; peer?: { feature: string; link: number } } {
  // side: +1 the correlation's upper bound, -1 its lower, 0 the estimate.
  const quotient = (a: FeatureView, b: FeatureView, side: number): number => {
    const [la, lb] = [withinSiteLabelCorrelation(centred, a.col), withinSiteLabelCorrelation(centred, b.col)];
    const w = withinClassCorrelation(centred, a.col, b.col, o.confidence);
    if (w.rows < o.minPairRows || !Number.isFinite(w.z) || !(Math.abs(la * lb) > 0)) return NaN;
    return Math.tanh(Math.sign(la * lb) * w.z + side * o.confidence * w.se) / Math.abs(la * lb);
  };
  const own = markers.flatMap((k, i) => markers.slice(i + 1).filter((l) => l.modality !== k.modality).map((l) => quotient(k, l, 0)));
  const pairs = own.filter(Number.isFinite).sort((a, b) => a - b);
  if (pairs.length < 2) return { partners: NaN };
  const median = quantile(pairs, 0.5);
  if (!(median > 0)) return { partners: NaN };
  const links = (list: FeatureView[], side: number) => list.map((k) => ({ feature: k.feature, link: quotient(f, k, side) / median })).filter((x) => Number.isFinite(x.link));
  // Flagging reads the upper bounds, sparing for a peer the lower: each on the evidence's cautious side.
  const peer = links(peers, -1).sort((a, b) => b.link - a.link)[0];
  return { partners: Math.max(...links(markers.filter((k) => k.modality !== f.modality), 1).map((x) => x.link)), ...(peer ? { peer } : {}) };
}

/**
 * v's relative links (relativeLink) where the sums are site-centred and a check that reads
 * them is on: against the markers, and against its peers. Peers stand apart from the markers
 * as v does (within their own bound, or a relative link to them of at most peerLink): a
 * second cause's other measure. A peer that tracks the severity the markers do is no such
 * evidence: a leak sharing a recording offset or an analyser run with a real marker of its
 * modality was spared by it (an outside re-try); nor is the same value recorded twice
 * (ONE_VALUE_CORR). Looser copies count: two measures of one cause move together as a copy
 * does (creatinine and urea at 0.74).
 */
export function relativeLinks(
  ties: ClassMoments,
  v: FeatureView,
  others: FeatureView[],
  markers: FeatureView[],
  associated: FeatureView[],
  o: DecideOptions,
  withinBound: (f: FeatureView) => boolean,
): ReturnType<typeof relativeLink> {
  if (ties.labelScatter === undefined || !(o.peerLink > 0 || o.maxRelative > 0)) return { partners: NaN };
  const apartToo = (k: FeatureView) => withinBound(k) || relativeLink(ties, k, evidenceFor(k, markers), [], o).partners <= o.peerLink;
  const oneValue = (k: FeatureView) => withinClassCorrelation(ties, v.col, k.col, o.confidence).lower >= ONE_VALUE_CORR;
  const peers = o.peerLink > 0 ? associated.filter((k) => k.modality === v.modality && k.feature !== v.feature && !oneValue(k) && apartToo(k)) : [];
  return relativeLink(ties, v, others, peers, o);
}

import type { FeatureSpace } from '../../../data/feature-space.ts';
import type { DecideOptions } from './config.ts';
import { strength, type FeatureView } from './feature-view.ts';

// The decision's reason text, one helper a part: the rule, the markers, the copies.

export const fmt = (v: number) => (Number.isFinite(v) ? v.toFixed(2) : 'n/a');

/** The copies among label-associated features, each pair once (strongly tied real labs can be among them: the note does not call them copies). */
export function describeCopies(views: FeatureView[], o: DecideOptions): string | undefined {
  const seen = new Set<string>();
  const pairs: string[] = [];
  for (const v of views) {
    if (strength(v) < o.minLabelCorr) continue;
    for (const [c, r] of v.copies) {
      const key = [v.feature, c].sort().join('\0');
      if (seen.has(key)) continue;
      seen.add(key);
      pairs.push(`${v.feature} and ${c} (${fmt(r)})`);
    }
  }
  return pairs.length
    ? `moving together as one reading (within-class correlation >= ${o.minCopyCorr}: a copy, a band of a score, two measures of one thing), neither counted as the other's evidence: ${pairs.join(', ')}`
    : undefined;
}

/** The rule's thresholds, as the reason quotes them. */
export function describeRule(o: DecideOptions): string {
  return `markers: |label corr| >= ${o.minLabelCorr} with a within-class correlation >= ${o.minClearCorr} at ${o.confidence + 1} s.e.; a flag needs >= ${o.minMarkers} markers, a within-class bound <= ${o.maxRatio} x |label corr| and no marker it co-varies with within class (signed as a marker would, at ${o.confidence + 1} s.e.)${o.maxRelative > 0 ? ` unless its relative link is <= ${o.maxRelative}` : ''}${o.peerLink > 0 ? `, nor one with a peer in its modality that stands apart too (relative link > ${o.peerLink})` : ''}, pairs with >= ${o.minPairRows} rows; a copy (within-class >= ${o.minCopyCorr}) is no evidence for its reading`;
}

/**
 * The markers that make the severity structure, or why there is none; there, the
 * label-associated features that co-vary within class with their own modality only (every
 * lab on one panel: an outside try read "0 markers co-vary" of four labs that did).
 */
export function describeMarkers(markers: FeatureView[], structure: boolean, o: DecideOptions, views: readonly FeatureView[] = [], suspects = 0): string {
  if (structure) return `severity structure: ${markers.length} markers (${markers.slice(0, 4).map((k) => `${k.feature} ${fmt(k.cleared)}`).join(', ')}${markers.length > 4 ? ', ...' : ''})`;
  const own = views.filter((v) => strength(v) >= o.minLabelCorr && v.cleared < o.minClearCorr && (v.clearedInModality ?? 0) >= o.minClearCorr);
  const within = own.length
    ? `; ${own.map((v) => v.feature).join(', ')} co-var${own.length === 1 ? 'ies' : 'y'} within class only with features of ${own.length === 1 ? 'its' : 'their'} own modality (one panel, one instrument or a hospital's calibration can cause that), which the rule does not count as severity: ${suspects ? 'another' : 'a'} reading you doubt can be named in model.debiasing.suspect`
    : '';
  return `no severity structure (${markers.length} of ${o.minMarkers} markers: label-associated features co-varying within class with a feature of another modality), so no reading can be told apart as label-only${within}`;
}

/** The categorical features judged by their grouped values (grouped-columns.ts), with the values grouped. */
export function describeGrouped(views: FeatureView[], space: FeatureSpace, o: DecideOptions): string | undefined {
  const texts = views
    .filter((v) => v.grouped && strength(v) >= o.minLabelCorr)
    .map((v) => {
      const names = v.grouped!.group.levels.map((j) => `"${space.columns[j]!.category}"`);
      const shown = names.length > 6 ? `${names.slice(0, 6).join(', ')} and ${names.length - 6} more` : names.join(', ');
      return `${v.feature} (${shown} against its other values: label ${fmt(v.labelCorr)}; its strongest single value ${fmt(v.grouped!.single)})`;
    });
  return texts.length ? `categorical features judged by their values grouped, where the grouping is tied to the label beyond what its values are one by one: ${texts.join(', ')}` : undefined;
}

import type { ClassMoments } from '../../../data/class-moments.ts';
import type { FeatureSpace } from '../../../data/feature-space.ts';
import { InputError } from '../../../errors.ts';
import { DEFAULT_DECIDE, type DecideOptions, type FlaggedFeature } from './config.ts';
import { describeCopies, describeGrouped, describeMarkers, describeRule, fmt } from './decide-text.ts';
import { evidenceFor, strength, type FeatureView } from './feature-view.ts';
import { relativeLinks } from './relative-link.ts';
import { findGroups, withGroups, type ColumnGroup } from './grouped-columns.ts';
import { labelCorrelation, withinClassCorrelation, withinSiteLabelCorrelation } from './moment-correlations.ts';

/**
 * METHOD.md Part 3, made relative and conservative: decide from the training sites'
 * merged class moments whether a reading is a shortcut (knows the label, not the
 * severity). A label-only reading is suspicious only relative to the rest of the data:
 * - **markers**: label-associated features (|corr with y| >= minLabelCorr) whose
 *   within-class correlation with some feature of another modality is significantly
 *   non-zero (its lower confidence bound reaches minClearCorr). Judging each
 *   correlation against its own noise floor keeps the noise of small pairs from clearing
 *   a planted reading (the maximum of dozens of noisy correlations is not evidence).
 * - a **severity structure** exists when at least minMarkers markers do; without one
 *   (features driven by the outcome alone) the signature carries no information and
 *   nothing is flagged.
 * - a label-associated feature that is no marker is **flagged** only where the evidence
 *   says it stands apart: the upper confidence bound of its within-class correlation
 *   with every marker (pairs of >= minPairRows rows) is at most maxRatio times its
 *   |label corr|, and it co-varies with no marker within class as a severity marker would
 *   (coVariesWith). Too few rows to bound it means no flag (conservative).
 * A categorical feature is judged by its strongest column, or by its values grouped where
 * the grouping is tied to the label more strongly and beyond chance (grouped-columns.ts).
 * Users override per feature: `suspect` features are always flagged, `trusted` never;
 * each flagged feature names the source that decided.
 */
export interface DebiasDecision {
  decision: 'on' | 'off';
  flagged: FlaggedFeature[];
  /** Markers that make the severity structure, strongest first (for the report). */
  markers: string[];
  /** Whether they are enough to make one (decide.minMarkers): without, the rule could judge no reading. */
  structure: boolean;
  reason: string;
}

/** User overrides of the rule, by feature name. */
export interface DecideOverrides {
  suspect?: readonly string[];
  trusted?: readonly string[];
}

/** Each column's feature and modality, the derived group columns (grouped-columns.ts) after the space's own. */
interface Layout {
  featureOf: string[];
  modalityOf: number[];
  groups: ColumnGroup[];
}

function columnLayout(space: FeatureSpace, groups: ColumnGroup[]): Layout {
  const modalityOf = new Array<number>(space.columns.length).fill(-1);
  space.modalities.forEach((mod, k) => {
    for (let j = mod.start; j < mod.end; j++) modalityOf[j] = k;
  });
  for (const g of groups) modalityOf.push(modalityOf[g.levels[0]!]!);
  return { featureOf: [...space.columns.map((c) => c.feature), ...groups.map((g) => g.feature)], modalityOf, groups };
}

/**
 * Whether a group column says more than chance: choosing its values by their positive rate
 * on the same rows gives a label correlation of about sqrt((K - 1) / n) from noise alone
 * (K columns, n rows); the group is judged only where r^2 beyond that reaches minLabelCorr^2.
 */
function groupSpeaks(m: ClassMoments, g: ColumnGroup, r: number, o: DecideOptions): boolean {
  const n = m.classes[0].colCount[g.col]! + m.classes[1].colCount[g.col]!;
  return n > 0 && r * r - (g.columns.length - 1) / n >= o.minLabelCorr ** 2;
}

function featureViews(m: ClassMoments, layout: Layout, o: DecideOptions): FeatureView[] {
  const real = layout.featureOf.length - layout.groups.length;
  const view = (c: number): FeatureView => ({ feature: layout.featureOf[c]!, col: c, column: c, labelCorr: labelCorrelation(m, c), modality: layout.modalityOf[c]!, cleared: 0, copies: new Map() });
  // One view per feature, from its column with the strongest label correlation (a
  // one-hot feature's rare categories would otherwise speak for it on noise).
  const byFeature = new Map<string, FeatureView>();
  for (let c = 0; c < real; c++) {
    const v = view(c);
    const cur = byFeature.get(v.feature);
    if (!cur || strength(v) > strength(cur)) byFeature.set(v.feature, v);
  }
  // A categorical feature's grouped values, where they say more than its strongest value and more than chance.
  for (const g of layout.groups) {
    const v = view(g.col);
    const single = byFeature.get(g.feature)!;
    if (strength(v) > strength(single) && groupSpeaks(m, g, v.labelCorr, o)) byFeature.set(g.feature, { ...v, column: single.column, grouped: { group: g, single: single.labelCorr } });
  }
  findCopies(m, layout, byFeature, o);
  for (const v of byFeature.values())
    for (let j = 0; j < m.dim; j++) {
      // A copy of the reading co-varies with it whatever the reading is: no evidence of severity.
      if (layout.featureOf[j] === v.feature || v.copies.has(layout.featureOf[j]!)) continue;
      // Clearing takes the best of many partners, so it asks for more evidence than a bound does.
      const w = withinClassCorrelation(m, v.col, j, o.confidence + 1);
      if (!(w.rows >= o.minPairRows && Number.isFinite(w.lower))) continue;
      // Features of one modality (one panel, one instrument) can co-vary through how they are
      // measured: not counted as severity, only kept for the reason (decide-text.ts).
      if (layout.modalityOf[j] === v.modality) v.clearedInModality = Math.max(v.clearedInModality ?? 0, w.lower);
      else v.cleared = Math.max(v.cleared, w.lower);
    }
  return [...byFeature.values()];
}

/**
 * Copies: features whose within-class correlation with a column of another feature has its
 * lower bound at minCopyCorr or above, either way round (a reading exported twice, a score
 * and its band, another unit). A shortcut's copy in another modality made it look like a
 * severity marker and nothing was flagged (an outside try); the rule judges each against
 * the markers its copies are not.
 */
function findCopies(m: ClassMoments, layout: Layout, byFeature: Map<string, FeatureView>, o: DecideOptions): void {
  for (const v of byFeature.values())
    for (let j = 0; j < m.dim; j++) {
      const other = layout.featureOf[j]!;
      if (other === v.feature) continue;
      const w = withinClassCorrelation(m, v.col, j, o.confidence);
      if (w.rows < o.minPairRows || !(w.lower >= o.minCopyCorr)) continue;
      const r = Math.max(w.corr, v.copies.get(other) ?? 0);
      v.copies.set(other, r);
      byFeature.get(other)!.copies.set(v.feature, r);
    }
}

/** The upper bound of f's within-class correlation with the markers of other modalities (NaN: no pair to bound it). */
function boundAgainstMarkers(m: ClassMoments, f: FeatureView, markers: FeatureView[], o: DecideOptions): number {
  let bound = NaN;
  for (const k of markers) {
    if (k.modality === f.modality) continue;
    const w = withinClassCorrelation(m, f.col, k.col, o.confidence);
    if (w.rows < o.minPairRows || !Number.isFinite(w.upper)) continue;
    bound = Number.isFinite(bound) ? Math.max(bound, w.upper) : w.upper;
  }
  return bound;
}

/**
 * The first marker (of another modality) that f co-varies with within class as a severity
 * marker would: the sign of their within-class correlation is that of the product of their
 * label correlations, and its bound at the clearing confidence (confidence + 1 s.e.) is
 * above 0. A label-only reading has none (its within-class correlations are noise around
 * 0); a real lab whose within-class correlations are small only because the outcome is a
 * near-threshold of severity (each class a narrow slice of it) does: such labs were
 * flagged in an outside attack (a steep outcome link, 15-50% positives) and are not now.
 */
function coVariesWith(m: ClassMoments, f: FeatureView, markers: FeatureView[], o: DecideOptions): { marker: FeatureView; r: number } | undefined {
  for (const k of markers) {
    if (k.modality === f.modality) continue;
    const w = withinClassCorrelation(m, f.col, k.col, o.confidence);
    if (w.rows < o.minPairRows || !Number.isFinite(w.z)) continue;
    const aligned = Math.sign(f.labelCorr * k.labelCorr) * w.z;
    if (aligned - (o.confidence + 1) * w.se > 0) return { marker: k, r: Math.tanh(aligned) };
  }
  return undefined;
}

function checkNames(names: readonly string[], space: FeatureSpace, what: string): void {
  const known = new Set(space.columns.map((c) => c.feature));
  for (const n of names)
    if (!known.has(n)) throw new InputError(`model.debiasing.${what} names "${n}", which is not a feature of the schema (features: ${[...known].join(', ')})`);
}

/** One reading's verdict in findShortcuts: flagged where `bound` is set; the reason's words where it names the reading. */
interface Verdict {
  bound?: number;
  /** Flagged for its relative link though it co-varies with a marker or is one. */
  ownLink?: string;
  /** Spared: it co-varies with a marker. */
  coVarying?: string;
  /** Spared: it co-varies with a label-associated feature of its own modality. */
  clustered?: string;
}

/**
 * One label-associated reading within a severity structure. Flagged where it stands apart
 * from the markers (its bound) and neither co-varies with one nor is one. Two opt-in checks
 * (off by default; docs/debiasing.md, "A second cause measured twice, and the relative
 * link"): with decide.maxRelative, a marker, or a reading that co-varies with one, is flagged
 * where its relative link says most of its label link is its own (a length of stay that
 * tracks severity a little); with decide.peerLink, a reading that co-varies with a
 * label-associated feature of its own modality as one cause's markers do is spared (a second
 * cause measured twice, creatinine and urea, reads label-only against the first cause's
 * markers). Each, in outside attacks, also did the opposite: flagged a second cause measured
 * once, spared a leak with a second record in its modality.
 */
function judge(m: ClassMoments, ties: ClassMoments, v: FeatureView, markers: FeatureView[], associated: FeatureView[], o: DecideOptions): Verdict {
  const boundOf = (f: FeatureView) => {
    const others = evidenceFor(f, markers);
    return others.length < o.minMarkers ? NaN : boundAgainstMarkers(m, f, others, o);
  };
  const withinBound = (f: FeatureView, bound = boundOf(f)) => bound <= o.maxRatio * Math.abs(f.labelCorr);
  const bound = boundOf(v);
  if (!withinBound(v, bound)) return {};
  const others = evidenceFor(v, markers);
  const marker = v.cleared >= o.minClearCorr;
  const tie = marker ? undefined : coVariesWith(ties, v, others, o);
  const rel = relativeLinks(ties, v, others, markers, associated, o, withinBound);
  if (rel.peer && rel.peer.link > o.peerLink) return { clustered: `${v.feature} (with ${rel.peer.feature}: relative link ${fmt(rel.peer.link)})` };
  if (!marker && !tie) return { bound };
  const relText = o.maxRelative > 0 && Number.isFinite(rel.partners) ? `; relative link ${fmt(rel.partners)}` : '';
  const text = tie ? `${v.feature} (with ${tie.marker.feature}: within-class ${fmt(tie.r)}${relText})` : `${v.feature} (a marker: within-class >= ${fmt(v.cleared)}${relText})`;
  if (o.maxRelative > 0 && rel.partners <= o.maxRelative) return { bound, ownLink: text };
  return tie ? { coVarying: text } : {};
}

/**
 * What the rule finds in one view of the moments. The co-variation check reads `ties`: the
 * site-centred sums where a site sent them, since pooled over hospitals a reading that reads
 * higher where patients are sicker co-varies with the markers through the hospitals' case
 * mix alone (a review: a planted reading with such an offset was let off on the pooled sums).
 */
function findShortcuts(m: ClassMoments, layout: Layout, o: DecideOptions, ties: ClassMoments = m) {
  const views = featureViews(m, layout, o);
  const associated = views.filter((v) => strength(v) >= o.minLabelCorr);
  const markers = associated.filter((v) => v.cleared >= o.minClearCorr).sort((a, b) => b.cleared - a.cleared);
  const structure = markers.length >= o.minMarkers;
  const apart = new Map<string, number>();
  const notes = { coVarying: [] as { feature: string; text: string }[], ownLink: [] as { feature: string; text: string }[], clustered: [] as { feature: string; text: string }[] };
  for (const v of structure ? associated : []) {
    const verdict = judge(m, ties, v, markers, associated, o);
    if (verdict.bound !== undefined) apart.set(v.feature, verdict.bound);
    for (const key of ['coVarying', 'ownLink', 'clustered'] as const) if (verdict[key]) notes[key].push({ feature: v.feature, text: verdict[key] });
  }
  return { views, markers, structure, apart, ...notes };
}

/** The user's `suspect` and `trusted` lists, checked against the schema and each other. */
function readOverrides(overrides: DecideOverrides, space: FeatureSpace): { suspect: Set<string>; trusted: Set<string> } {
  const suspect = new Set(overrides.suspect ?? []);
  const trusted = new Set(overrides.trusted ?? []);
  checkNames([...suspect], space, 'suspect');
  checkNames([...trusted], space, 'trusted');
  for (const n of suspect) if (trusted.has(n)) throw new InputError(`model.debiasing: "${n}" is listed as both suspect and trusted`);
  return { suspect, trusted };
}

/**
 * Within hospitals too: the reading knows the label there (its label correlation on the
 * site-centred sums reaches minLabelCorr), and keeps its bound against the same markers on
 * them at most maxRatio times that correlation.
 */
function checkWithinSites(withinSite: ClassMoments, v: FeatureView, markers: FeatureView[], o: DecideOptions): { apart: boolean; text: string } {
  const label = withinSiteLabelCorrelation(withinSite, v.col);
  const bound = boundAgainstMarkers(withinSite, v, evidenceFor(v, markers), o);
  const apart = Math.abs(label) >= o.minLabelCorr && bound <= o.maxRatio * Math.abs(label);
  return { apart, text: `${v.feature} (label ${fmt(v.labelCorr)} pooled, ${fmt(label)} within sites; within-class <= ${fmt(bound)} within sites)` };
}

/**
 * The copies of flagged readings that are not flagged or trusted themselves, each with the
 * reading it copies (a suspect one first): a copy would carry the reading on (an outside
 * try: with the reading suspect, the model leaned on its copy as hard as it had on it).
 */
function copiesOfFlagged(views: FeatureView[], flagged: FlaggedFeature[], trusted: Set<string>): Map<string, FlaggedFeature> {
  const copyOf = new Map<string, FlaggedFeature>();
  const taken = new Set(flagged.map((f) => f.feature));
  for (const f of [...flagged].sort((a, b) => Number(b.source === 'suspect') - Number(a.source === 'suspect')))
    for (const c of views.find((v) => v.feature === f.feature)!.copies.keys()) if (!taken.has(c) && !trusted.has(c) && !copyOf.has(c)) copyOf.set(c, f);
  return copyOf;
}

/**
 * A flagged view as the decision sends it. A categorical feature judged by its grouped
 * values has the group's label correlation (positive by construction) while the health
 * figures read its strongest single value, whose link may run the other way: that column's
 * own correlation orients them (a review read 0.38, "reversed", with every weight 1).
 */
function flaggedOf(v: FeatureView, withinClassCorr: number, source: FlaggedFeature['source']): FlaggedFeature {
  return { feature: v.feature, labelCorr: v.labelCorr, withinClassCorr, source, column: v.column, ...(v.grouped ? { columnLabelCorr: v.grouped.single } : {}) };
}

/**
 * Each feature's verdict: suspect (flagged by configuration), the rule's flag where the
 * pooled rule finds it apart and the within-site check (where there is one) agrees, unless
 * trusted; then the copies of what is flagged, with the source of the reading they copy.
 * Notes say what was un-flagged and why.
 */
function applyVerdicts(
  views: FeatureView[],
  apart: Map<string, number>,
  { suspect, trusted }: { suspect: Set<string>; trusted: Set<string> },
  withinSites: (v: FeatureView) => { apart: boolean; text: string } | undefined,
): { flagged: FlaggedFeature[]; notes: string[]; copyOf: Map<string, FlaggedFeature> } {
  const flagged: FlaggedFeature[] = [];
  const notes: string[] = [];
  const offsets: { feature: string; text: string }[] = [];
  for (const v of views) {
    if (suspect.has(v.feature)) {
      flagged.push(flaggedOf(v, v.cleared, 'suspect'));
      continue;
    }
    const bound = apart.get(v.feature);
    if (bound === undefined) continue;
    const within = withinSites(v);
    if (within && !within.apart) {
      offsets.push({ feature: v.feature, text: within.text });
      continue;
    }
    if (trusted.has(v.feature)) {
      notes.push(`${v.feature} would be flagged but is trusted`);
      continue;
    }
    flagged.push(flaggedOf(v, bound, 'auto'));
  }
  const copyOf = copiesOfFlagged(views, flagged, trusted);
  for (const [c, of] of copyOf) {
    const v = views.find((u) => u.feature === c)!;
    flagged.push(flaggedOf(v, v.cleared, of.source));
  }
  if (trusted.size) notes.push(`trusted (never flagged): ${[...trusted].join(', ')}`);
  if (copyOf.size) notes.push(`flagged with the reading it copies: ${[...copyOf].map(([c, of]) => `${c} (of ${of.feature})`).join(', ')}`);
  const unflagged = offsets.filter((x) => !copyOf.has(x.feature)).map((x) => x.text);
  if (unflagged.length) notes.push(`not flagged, label-only pooled over sites but not within each site (differences between hospitals can do that): ${unflagged.join(', ')}`);
  return { flagged, notes, copyOf };
}

/**
 * The `auto` rule on merged moments, with the user's overrides; the coordinator runs it
 * once and sends the result to the sites. With `withinSite` (the sums centred on each
 * site's own means), a reading is flagged only where it is label-only within hospitals too:
 * its label correlation there reaches minLabelCorr and its bound against the markers on
 * those sums is at most maxRatio times it. A device calibrated differently per hospital, or
 * a lab read higher where more patients are sick, can make a real marker look label-only
 * in the pooled sums. The markers stay the pooled view's: taken
 * from the centred sums they were more (6 instead of 3 on the synthetic default) and the
 * bound, a maximum over them, missed planted readings (docs/debiasing.md, "Between-hospital offsets").
 */
export function decideDebiasing(
  m: ClassMoments,
  space: FeatureSpace,
  opts: Partial<DecideOptions> = {},
  overrides: DecideOverrides = {},
  withinSite?: ClassMoments,
): DebiasDecision {
  const o: DecideOptions = { ...DEFAULT_DECIDE, ...opts };
  for (const [what, x] of [['class moments', m], ['site-centred class moments', withinSite]] as const)
    if (x && x.dim !== space.columns.length) throw new Error(`${what} have ${x.dim} columns, the feature space has ${space.columns.length}`);
  const { suspect, trusted } = readOverrides(overrides, space);
  // Categorical features' grouped values as columns of their own (grouped-columns.ts), in both views.
  const groups = findGroups(m, space);
  const layout = columnLayout(space, groups);
  [m, withinSite] = [withGroups(m, groups), withinSite && withGroups(withinSite, groups)];
  const { views, markers, structure, apart, coVarying, ownLink, clustered } = findShortcuts(m, layout, o, withinSite);
  const { flagged, notes, copyOf } = applyVerdicts(views, apart, { suspect, trusted }, (v) => (withinSite ? checkWithinSites(withinSite, v, markers, o) : undefined));
  for (const text of [describeGrouped(views, space, o), describeCopies(views, o)]) if (text) notes.push(text);
  const spared = coVarying.filter((c) => !suspect.has(c.feature) && !trusted.has(c.feature) && !copyOf.has(c.feature)).map((c) => c.text);
  if (spared.length) notes.push(`not flagged, within its bound but co-varying within class with a marker as a severity marker would (an outcome close to a threshold of severity can do that): ${spared.join(', ')}`);
  const own = ownLink.filter((c) => flagged.some((f) => f.feature === c.feature && f.source === 'auto')).map((c) => c.text);
  if (own.length) notes.push(`flagged though it co-varies within class as a severity marker would, its label link far beyond what that co-variation accounts for (relative link <= ${o.maxRelative}; a marker's is about 1): ${own.join(', ')}`);
  const second = clustered.filter((c) => !suspect.has(c.feature)).map((c) => c.text);
  if (second.length) notes.push(`not flagged, within its bound but co-varying within class with a label-associated feature of its own modality as markers of one cause would (a second cause measured twice, a renal panel's creatinine and urea, reads so; relative link > ${o.peerLink}): ${second.join(', ')}`);
  if (!withinSite) notes.push('pooled view only (a site sent no site-centred moments)');

  const tail = `${describeMarkers(markers, structure, o, views, suspect.size)}; ${views.length} features checked${notes.length ? `; ${notes.join('; ')}` : ''} (${describeRule(o)})`;
  const result = (decision: 'on' | 'off', reason: string): DebiasDecision => ({
    decision,
    flagged,
    markers: markers.map((k) => k.feature),
    structure,
    reason,
  });
  if (flagged.length === 0) return result('off', `nothing flagged: ${tail}`);
  const list = flagged.map((f) => {
    const of = copyOf.get(f.feature);
    if (of) return `${f.feature} (${f.source}: a copy of ${of.feature})`;
    return f.source === 'suspect' ? `${f.feature} (suspect, by configuration)` : `${f.feature} (auto: label ${fmt(f.labelCorr)}, within-class <= ${fmt(f.withinClassCorr)})`;
  });
  return result('on', `flagged ${list.join(', ')}; ${tail}`);
}

/**
 * The model section's `debiasing` object with the coordinator's decision filled in, as
 * it is sent to the sites in the round config. Mode 'auto' takes the decision (active,
 * flagged, reason); modes 'on'/'off' keep their setting, and the rule's verdict is still
 * recorded in `reason` so the run shows what auto would have done.
 */
export function withDecision(debiasing: Record<string, unknown> | undefined, d: DebiasDecision): Record<string, unknown> {
  const raw = { ...(debiasing ?? {}) };
  const mode = (raw.mode as string | undefined) ?? 'auto';
  if (mode === 'auto') return { ...raw, active: d.decision === 'on', flagged: d.flagged, reason: `auto: ${d.reason}` };
  return { ...raw, flagged: d.flagged, reason: `mode '${mode}': debiasing ${mode} by configuration (auto would say ${d.decision}: ${d.reason})` };
}

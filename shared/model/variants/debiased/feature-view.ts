import type { ColumnGroup } from './grouped-columns.ts';

/** One feature as the `auto` rule sees it, from the training sites' merged class moments. */
export interface FeatureView {
  feature: string;
  /** The column in the decision's moments that speaks for the feature: its strongest, or its grouped values' (grouped-columns.ts). */
  col: number;
  /** The encoded column the health figures read: the strongest of the feature's own columns. */
  column: number;
  /** Where the grouped values speak for a categorical feature: the group, and the strongest single value's label correlation. */
  grouped?: { group: ColumnGroup; single: number };
  labelCorr: number;
  modality: number;
  /** Largest lower bound of a within-class correlation with another modality's column (its copies' left out). */
  cleared: number;
  /** The same with its own modality's other features (not counted as severity; named where there is no structure). */
  clearedInModality?: number;
  /** Features that are this one recorded again (copies), with the within-class correlation that says so. */
  copies: Map<string, number>;
}

/** How strongly a view is tied to the label (-1: undefined, so it sorts last). */
export const strength = (v: FeatureView) => (Number.isFinite(v.labelCorr) ? Math.abs(v.labelCorr) : -1);

/** The markers that may speak for or against v: neither v itself nor its copies. */
export function evidenceFor(v: FeatureView, markers: FeatureView[]): FeatureView[] {
  return markers.filter((k) => k.feature !== v.feature && !v.copies.has(k.feature));
}

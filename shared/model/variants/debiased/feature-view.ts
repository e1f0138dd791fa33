/** One feature as the `auto` rule sees it, from the training sites' merged class moments. */
export interface FeatureView {
  feature: string;
  /** The feature's column with the strongest label correlation (one-hot features have several). */
  col: number;
  labelCorr: number;
  modality: number;
  /** Largest lower bound of a within-class correlation with another modality's column (its copies' left out). */
  cleared: number;
  /** Features that are this one recorded again (copies), with the within-class correlation that says so. */
  copies: Map<string, number>;
}

/** How strongly a view is tied to the label (-1: undefined, so it sorts last). */
export const strength = (v: FeatureView) => (Number.isFinite(v.labelCorr) ? Math.abs(v.labelCorr) : -1);

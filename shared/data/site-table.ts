/** One site's rows, parsed and checked against the schema; nothing is encoded yet. */
export interface SiteTable {
  file: string;
  features: string[];
  /** rows x features: a number for numeric features, a canonical token for categorical ones, null when missing. */
  values: (number | string | null)[][];
  labels: Uint8Array;
  /** A column kept as written (ReadOptions.keepColumn), one entry a row. */
  kept?: string[];
  /** Read with labels optional (fedcausal predict): 1 where the row has a label; `labels` is 0 where it has none. */
  labelKnown?: Uint8Array;
  /** The label column's values as found, with their row counts (loadSiteTable; not kept by selectRows). */
  labelValues?: Map<number, number>;
  /** Source line of each row, for error messages. */
  lines: number[];
  /** Per row, one character per modality in schema order, '1' = present. */
  patterns: string[];
  /**
   * Per feature, the whole file's [median -+ CLIP_ROBUST_SDS robust SDs] that
   * computeFeatureStats clips numeric values to before summing; null for categorical
   * and constant columns. Kept by selectRows, so a split is clipped as its file is.
   */
  clipBounds?: (readonly [number, number] | null)[];
}

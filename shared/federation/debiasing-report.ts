/**
 * The debiasing report of a `debiased` run, as the coordinator writes it (results file
 * `debiasing`, /api/status `debiasing`, INTERFACES.md) and as its readers (`fedcausal
 * demo`, the eval report) take it: one declaration for both sides.
 */
import type { HealthFigures } from '../data/debias-health.ts';
import type { FlaggedFeature } from '../model/variants/debiased/config.ts';

/** One round's debiasing health (INTERFACES.md `debiasing.health`). */
export interface DebiasHealth extends HealthFigures {
  round: number;
  /** Total variation distance between the pattern prior of this round's sites and the last round's. */
  priorDrift: number;
  /** Whether this round's figures made the coordinator temper the weights from the next round on. */
  tempered: boolean;
  /** The tempering factor this round trained with (1 = full weights). */
  temper: number;
}

/** What the outcome-balancing round fitted (present when outcome weights are on). */
export interface BalanceReport {
  cells: number;
  maxWeight: number;
  /** Share of the counted rows whose weight the clip bound. */
  clippedShare: number;
  /** Share of the unclipped weight the clip moved (outcome-balance.ts); absent in results an earlier build wrote. */
  clippedWeight?: number;
}

/** The pattern's label signal: AUROC of P(y | pattern) on the training rows (0.5: none). */
export interface PatternSignal {
  auroc: number;
  /** Pattern-outcome balancing on (model.debiasing.balancing): training sees the pattern as if it said nothing. */
  balanced: boolean;
  /** Set where balancing removes a label signal (auroc >= PATTERN_SIGNAL_NOTE_AUROC): what to weigh, in words. */
  note?: string;
}

export interface DebiasingReport {
  /** 2: flagged features carry their source, health per round, markers (CHANGELOG). */
  version: number;
  mode: string;
  decision: 'on' | 'off';
  weighting: string;
  dualBranch: boolean;
  share: number;
  flagged: FlaggedFeature[];
  markers: string[];
  /** Whether the rule found a severity structure (decide.minMarkers markers); false: it could judge no reading. Absent before 2026-11-29. */
  severityStructure?: boolean;
  reason: string;
  /** What the missingness pattern alone tells of the label in the training rows, and whether balancing removes it (version 3). */
  pattern?: PatternSignal;
  balance?: BalanceReport;
  /** Filled round by round while training. */
  health?: DebiasHealth[];
}

/** The readings `auto` flagged (not the configured `suspect` ones): what the user is asked to review, as `trusted` if real. */
export function autoFlagged(d: Pick<DebiasingReport, 'flagged'> | undefined): string[] {
  return d?.flagged.filter((f) => f.source === 'auto').map((f) => f.feature) ?? [];
}

/**
 * Where `auto` found no severity structure it could judge no reading, so a shortcut in the
 * data would be learned as the baseline learns it (an outside try: every marker on one
 * panel, the planted reading kept, nothing said but the reason). Undefined otherwise.
 */
export function unjudgedWarning(d: Pick<DebiasingReport, 'mode' | 'severityStructure'> | undefined): string | undefined {
  if (d?.mode !== 'auto' || d.severityStructure !== false) return undefined;
  return "debiasing: auto found no severity structure in the training sites' data (debiasing.reason says why), so it could tell no reading apart as a shortcut and flagged nothing on its own: the model learns every reading as the baseline would; name a reading you doubt in model.debiasing.suspect";
}

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
  /** Each reading's AUROC against the label in the counted rows, unweighted and under the weights (balanceResidual); absent before 2026-11-29. */
  residual?: { feature: string; unweighted: number; weighted: number }[];
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
  /** 2: flagged features carry their source, health per round, markers; 3: pattern; 4: severityStructure, balance.residual and clippedWeight, flagged[].columnLabelCorr (CHANGELOG). */
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

/**
 * The readings `auto` flagged and the run debiases (not the configured `suspect` ones): what
 * the user is asked to review, as `trusted` if real. Under mode off `flagged` is what auto
 * would have done, and nothing is removed (an outside try read "not learned" there).
 */
export function autoFlagged(d: Pick<DebiasingReport, 'flagged' | 'decision'> | undefined): string[] {
  if (d?.decision !== 'on') return [];
  return d.flagged.filter((f) => f.source === 'auto').map((f) => f.feature);
}

/**
 * Where `auto` found no severity structure it could judge no reading, so a shortcut in the
 * data would be learned as the baseline learns it (an outside try: every marker on one
 * panel, the planted reading kept, nothing said but the reason). Undefined otherwise.
 */
export function unjudgedWarning(d: Pick<DebiasingReport, 'mode' | 'severityStructure' | 'flagged'> | undefined): string | undefined {
  if (d?.mode !== 'auto' || d.severityStructure !== false) return undefined;
  const suspect = d.flagged.filter((f) => f.source === 'suspect').map((f) => f.feature);
  const head = "auto found no severity structure in the training sites' data (debiasing.reason says why), so it could tell no reading apart as a shortcut";
  return suspect.length
    ? `${head} beyond model.debiasing.suspect (${suspect.join(', ')}): every other reading is learned as the baseline would learn it; name another you doubt there`
    : `${head} and flagged nothing on its own: the model learns every reading as the baseline would; name a reading you doubt in model.debiasing.suspect`;
}

/**
 * 0.55: outcome weights that leave a flagged reading above this AUROC in the weighted rows
 * leave part of its link for the model to learn. A rule relative to the unweighted link (a
 * third of its distance from 0.5) went quiet when a higher maxWeight took a strong reading
 * from 0.80 to 0.64 while the model still scored 0.10 below drop where the link broke (an
 * outside try); a leak equal to the label kept 1.00 with nothing clipped.
 */
export const RESIDUAL_NOTE_AUROC = 0.55;

/** A warning for each flagged reading outcome weights leave above RESIDUAL_NOTE_AUROC (balanceResidual's figure); the results list it after `debiasing: `, as unjudgedWarning's. */
export function residualWarnings(d: Pick<DebiasingReport, 'decision' | 'balance'> | undefined): string[] {
  if (d?.decision !== 'on') return [];
  return (d.balance?.residual ?? [])
    .filter((r) => r.weighted > RESIDUAL_NOTE_AUROC)
    .map(
      (r) =>
        `outcome weights leave part of ${r.feature}'s link to the label: in the weighted training rows it still tells the label at AUROC ${r.weighted.toFixed(2)} (${r.unweighted.toFixed(2)} unweighted), so the model can learn that part ` +
        '(where few rows of the other label share its values there is little to weigh up, and the weights stop at maxWeight); model.debiasing.weighting: drop (the default) removes it from the inputs',
    );
}

/** What a run does with the readings it flags (the report's effective `weighting`), in the words the warnings use. */
export function flaggedTreatment(weighting: string): string {
  if (weighting === 'drop') return "dropped from the model's inputs, so not learned as the label's cause";
  if (weighting === 'outcome') return 'weighted (outcome weights) so as to tell the label nothing in the training rows';
  return `given to the bias branch of the dual-branch model (${weighting} weights), apart from the label's cause`;
}

/**
 * The debiasing decision and how the training rows are weighted, in words, as the dashboard
 * says them. Pure: the dashboard bundle takes it as it is. The words follow the report's
 * `weighting` (model-hooks.ts), never a setting that weighting does not read: `share`
 * applies to group-balanced weights only (an outside try read "30% of the weight on
 * bias-conflicting rows" under `drop`, and "without reweighting" under pattern balancing).
 */

/** The report's fields the words read (INTERFACES.md, results file `debiasing`). */
export interface DecisionFields {
  mode?: string;
  decision?: string;
  weighting?: string;
  share?: number;
  flagged?: { feature: string }[];
}

/** How the training rows are weighted under the report's `weighting`. */
export function weightingInWords(d: Pick<DecisionFields, 'weighting' | 'share'>): string {
  switch (d.weighting) {
    case 'drop':
      // The health table still gives a dropped reading's association in the rows, which looked alarming beside "drop" (an outside try).
      return "the flagged readings are left out of the model's inputs (the health figures' association of such a reading is the rows', which the model no longer sees), and pattern balancing reweights the rows so that the missingness pattern carries no information about the outcome";
    case 'outcome':
      return 'rows are weighted so that the flagged readings and the missingness pattern carry no information about the outcome';
    case 'lff':
      return 'a bias branch on the flagged readings weights each row by how much it contradicts them (LfF, dual branch)';
    case 'group-balanced':
      return `a bias branch on the flagged readings puts ${typeof d.share === 'number' ? `${Math.round(d.share * 100)}%` : 'a set share'} of each batch's weight on the rows that contradict them (dual branch)`;
    case 'pattern balancing only':
      return 'no reading is reweighted or left out; pattern balancing reweights the rows so that the missingness pattern carries no information about the outcome';
    case 'none (balancing off)':
      return 'no reweighting (pattern balancing is off)';
    default:
      return d.weighting ? `weighting ${d.weighting}` : 'weighting not reported';
  }
}

/** The decision in one sentence: on or off, by which mode, what was flagged, and how training weighs the rows. */
export function decisionInWords(d: DecisionFields): string {
  const flagged = d.flagged ?? [];
  const mode = d.mode ? ` (mode ${d.mode})` : '';
  const names = flagged.map((f) => f.feature).join(', ');
  const count = `${flagged.length} reading${flagged.length === 1 ? '' : 's'}`;
  if (d.decision === 'on') return `Debiasing is ON${mode}: ${count} flagged as a shortcut (${names || 'none named'}); ${weightingInWords(d)}.`;
  // Mode off still reports what the rule would flag: said, and said not to be acted on.
  if (d.decision === 'off') return `Debiasing is OFF${mode}: ${flagged.length ? `${count} flagged (${names}) but not acted on` : 'nothing flagged'}; ${weightingInWords(d)}.`;
  return `Debiasing decision: ${d.decision ?? 'not made yet'}.`;
}

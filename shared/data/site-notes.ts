/**
 * What a site's data leaves undefined or empty, said at start by check-data, a site agent
 * and simulate alike (warnings, never refusals): rows of one class, a column of one value.
 */
import type { Schema } from './schema.ts';
import type { SiteTable } from './site-table.ts';
import { num, show } from './message-text.ts';

/** `1 ("num" > 0 is true in every row)`: the class, and what it means where the outcome is described. */
function classPhrase(cls: 0 | 1, label: string | undefined): string {
  return `${cls}${label ? ` (${label} is ${cls ? 'true' : 'false'} in every row)` : ''}`;
}

/** Rows of class 1 among 0/1 labels. */
function positivesOf(labels: ArrayLike<number>): number {
  let positives = 0;
  for (let i = 0; i < labels.length; i++) positives += labels[i]!;
  return positives;
}

/** The one class every label holds (0 or 1); undefined with both classes or no rows. */
export function singleClassOf(labels: ArrayLike<number>): 0 | 1 | undefined {
  const n = labels.length;
  const positives = positivesOf(labels);
  if (n === 0 || (positives > 0 && positives < n)) return undefined;
  return positives === 0 ? 0 : 1;
}

/**
 * `; the file's label values 0 (500 rows) and 1 (200) all read as class 0 ...` where the
 * file codes its label with two values (a yes/no outcome: 0/1, 1/2) and the schema's
 * threshold puts both on one side (a 0/1 file under a schema for grades 0-4 with
 * threshold 1): the one class then comes from the coding, not the patients. Empty
 * otherwise: grades 1-4 at a referral clinic are all class 1 by its patients.
 */
export function labelCodingPhrase(values: ReadonlyMap<number, number> | undefined, label: Schema['label']): string {
  if (!values || values.size !== 2) return '';
  const [[lo, nLo], [hi, nHi]] = [...values].sort((a, b) => a[0] - b[0]) as [[number, number], [number, number]];
  if (lo > label.threshold !== hi > label.threshold) return '';
  return (
    `; the file's label values ${num(lo)} (${nLo} rows) and ${num(hi)} (${nHi}) all read as class ${lo > label.threshold ? 1 : 0} under "${label.column}" > ${num(label.threshold)}: ` +
    `the file's label coding may differ from the schema's (check label.threshold, and label.values where declared, against how the file codes the outcome)`
  );
}

/**
 * The warning for training rows of one class (undefined otherwise), said by the site
 * agent at start, by check-data and in simulate's results: `who` names the site or file,
 * `label` describes the outcome (e.g. `"num" > 0`); `heldOut`, the site's held-out labels
 * where it has them; `coding`, the file's raw label values and the schema's label, to say
 * when the one class may be the coding's (labelCodingPhrase).
 */
export function singleClassNote(
  who: string,
  labels: ArrayLike<number>,
  opts: { label?: string; heldOut?: ArrayLike<number>; coding?: { values: ReadonlyMap<number, number> | undefined; label: Schema['label'] } } = {},
): string | undefined {
  const cls = singleClassOf(labels);
  if (cls === undefined) return undefined;
  const n = labels.length;
  const heldOut = opts.heldOut && singleClassOf(opts.heldOut) !== undefined;
  return (
    `${who}: all ${n} training rows are of class ${classPhrase(cls, opts.label)}; ` +
    `the site trains and its rows count in the federation's model, but what needs both classes in its training rows ` +
    `is not computed: its own recalibration and its local-only baseline are reported as absent` +
    (heldOut ? '; its held-out rows hold one class too, so their AUROC and balanced accuracy are absent (undefined)' : '') +
    (opts.coding ? labelCodingPhrase(opts.coding.values, opts.coding.label) : '')
  );
}

/**
 * The warning for a test-only site whose rows hold one class (undefined otherwise), said
 * at start: `who` names the site (and its file), `label` describes the outcome. Its
 * accuracy and ECE are computed; AUROC and balanced accuracy need both classes.
 */
export function testSiteClassNote(who: string, labels: ArrayLike<number>, opts: { label?: string } = {}): string | undefined {
  const cls = singleClassOf(labels);
  if (cls === undefined) return undefined;
  return (
    `${who}: all ${labels.length} test rows are of class ${classPhrase(cls, opts.label)}; ` +
    `its AUROC and balanced accuracy are undefined there (null in the results): they need rows of both classes; its accuracy and ECE are reported`
  );
}

/** Fewer held-out rows of a class than this, and a site's AUROC there is warned of as wide (fewHeldOutRowsNote). */
export const FEW_CLASS_ROWS = 10;

/** One standard error of an AUROC of `a` on n1 positive and n0 negative rows (Hanley and McNeil, 1982). */
export function aurocStandardError(a: number, n1: number, n0: number): number {
  const q1 = a / (2 - a);
  const q2 = (2 * a * a) / (1 + a);
  return Math.sqrt((a * (1 - a) + (n1 - 1) * (q1 - a * a) + (n0 - 1) * (q2 - a * a)) / (n1 * n0));
}

/**
 * The warning for held-out rows of both classes with fewer than FEW_CLASS_ROWS of one
 * (undefined otherwise): the AUROC there is computed, but on so few pairs that one split
 * to the next moves it far; `who` names the site.
 */
export function fewHeldOutRowsNote(who: string, heldOut: ArrayLike<number>): string | undefined {
  const n1 = positivesOf(heldOut);
  const n0 = heldOut.length - n1;
  // One class: undefined figures, said as such (an outside try's one-class --holdout file got nulls and no word).
  if (heldOut.length > 0 && (n1 === 0 || n0 === 0))
    return `${who}: all ${heldOut.length} held-out rows are of class ${n1 ? 1 : 0}; its AUROC and balanced accuracy are undefined there (null in the results): they need rows of both classes; its accuracy and ECE are reported`;
  if (n1 === 0 || n0 === 0 || Math.min(n1, n0) >= FEW_CLASS_ROWS) return undefined;
  return (
    `${who}: its ${heldOut.length} held-out rows hold ${n1} of class 1 and ${n0} of class 0, so its AUROC rests on ${n1 * n0} pairs: ` +
    `one standard error is about ${aurocStandardError(0.75, n1, n0).toFixed(2)} at an AUROC of 0.75 (Hanley and McNeil); read its figures with that spread`
  );
}

/**
 * fewHeldOutRowsNote, but for held-out rows of one class where that was said already
 * (`oneClassSaid`: a test site's start warning, or singleClassNote where the training rows
 * are of one class too): the agent and simulate say each once.
 */
export function heldOutNote(who: string, heldOut: ArrayLike<number>, oneClassSaid: boolean): string | undefined {
  return oneClassSaid && singleClassOf(heldOut) !== undefined ? undefined : fewHeldOutRowsNote(who, heldOut);
}

/**
 * Fewest rows a column must be observed in before one value in all of them is warned of:
 * in fewer, one value may be chance (Hungary's "ca" is 0 in the 3 rows that have it).
 */
export const CONSTANT_COLUMN_MIN_ROWS = 20;

/**
 * The warnings for columns that hold one value in every row where they are observed, in
 * at least CONSTANT_COLUMN_MIN_ROWS rows (an export default, a device that records a
 * placeholder), said by check-data and by the site at start; empty when none does.
 * Missing values and declared missingCodes are not values: a column observed nowhere is
 * a missing modality, not a constant. `who` names the file (and the site).
 */
export function constantColumnNotes(who: string, t: SiteTable): string[] {
  const notes: string[] = [];
  t.features.forEach((f, j) => {
    let value: number | string | null = null;
    let observed = 0;
    for (const row of t.values) {
      const v = row[j];
      if (v === null || v === undefined) continue;
      if (observed > 0 && v !== value) return;
      value = v;
      observed++;
    }
    if (value === null || observed < CONSTANT_COLUMN_MIN_ROWS) return;
    const missing = t.values.length - observed;
    notes.push(
      `${who}: column "${f}" holds one value, ${typeof value === 'number' ? num(value) : show(value)}, in all ${observed} rows where it is observed` +
        `${missing ? ` (missing in the other ${missing})` : ''}: most likely an export default or a device's placeholder, not a measurement; ` +
        `the column then carries nothing at this site (fix the export, or list the value in the schema's missingCodes for "${f}" if it means missing)`,
    );
  });
  return notes;
}

/** How the schema's label reads as an outcome, for messages: `"num" > 0`, or `"readmit" = yes` for a label written as words. */
export function describeLabel(schema: Schema): string {
  const t = schema.label.tokens;
  return t ? `"${schema.label.column}" = ${t.positive.join(' or ')}` : `"${schema.label.column}" > ${schema.label.threshold}`;
}

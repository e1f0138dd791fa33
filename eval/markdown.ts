/**
 * Markdown pieces shared by the sections, and the assembly of docs/results.md.
 */
import type { DecisionRecord, SectionSettings } from './context.ts';

/** A number to 2 or 3 decimals, '-' where it is not finite (a metric that could not be computed). */
export const f2 = (x: number): string => (Number.isFinite(x) ? x.toFixed(2) : '-');
export const f3 = (x: number): string => (Number.isFinite(x) ? x.toFixed(3) : '-');
/** A difference to 3 decimals with its sign. */
export const signed = (x: number): string => (Number.isFinite(x) ? `${x >= 0 ? '+' : ''}${x.toFixed(3)}` : '-');

/** [decision, flagged features, reason] cells for a decision table. */
export function decisionCell(d: DecisionRecord | undefined): [string, string, string] {
  if (!d) return ['-', '-', '-'];
  const flagged = d.flagged.length
    ? d.flagged.map((f) => `${f.feature} (label ${f.labelCorr.toFixed(2)}, within-class ${f.withinClassCorr.toFixed(2)})`).join('; ')
    : 'none';
  return [d.decision, flagged, d.reason];
}

/** "on 5/5" style summary of a list of decisions. */
export function decisionTally(ds: readonly (DecisionRecord | undefined)[]): string {
  const on = ds.filter((d) => d?.decision === 'on').length;
  return `on in ${on} of ${ds.length}`;
}

export function settingsLine(s: SectionSettings): string {
  const seeds = s.seeds.length > 1 ? `${s.seeds.length} seeds (${s.seeds.join(', ')})` : `seed ${s.seeds.join(', ')}`;
  const quick = s.quick ? ' **quick smoke run, not the full evaluation**;' : '';
  return `Settings:${quick} ${s.rounds} rounds x ${s.localEpochs} local epochs, strategy ${s.strategy === 'fedavg' ? 'FedAvg' : s.strategy}, ${seeds}, tfjs backend ${s.backends.join(', ') || '-'}.`;
}

export interface RenderedSection {
  id: string;
  title: string;
  settings?: SectionSettings;
  body: string;
}

/** The whole document: a header with the common settings, then each section with its own if they differ. */
export function renderDocument(sections: readonly RenderedSection[], generatedAt: string, command: string): string {
  const lines: string[] = ['# fedcausal: evaluation results', ''];
  const settings = sections.map((s) => s.settings).filter((s): s is SectionSettings => !!s);
  const lines0 = [...new Set(settings.map(settingsLine))];
  lines.push(
    `Produced by \`${command}\` (eval/run.ts); every number below is in [results.json](results.json) with the per-run ` +
      `records behind it. Generated ${generatedAt}.`,
    '',
  );
  if (lines0.length === 1) lines.push(lines0[0]!, '');
  lines.push(
    'Every run is the in-process federation of `fedcausal simulate` (the real coordinator and site-agent code, ' +
      'signed and encrypted messages): model weights are averaged by FedAvg (section 2 also runs FedAdam, FedYogi ' +
      'and FedProx), the pattern prior and class moments are ' +
      'summed across sites, and every site trains each round. Models: `logreg` (logistic regression on the same ' +
      'inputs), `baseline` (the multimodal backbone, no debiasing, weight decay 1e-3), `debiased` (METHOD.md, ' +
      'defaults: mode auto, flagged readings dropped, weight decay 1e-2). Nothing is tuned per dataset and nothing is chosen on a ' +
      'held-out site, except what a section says it chose on separate tuning seeds (section 2: the FedOpt and FedProx ' +
      'settings; section 4: the candidate default), never on the seeds it reports.',
    '',
  );
  for (const s of sections) {
    lines.push(`## ${s.title}`, '');
    if (s.settings && lines0.length > 1) lines.push(settingsLine(s.settings), '');
    lines.push(s.body.trimEnd(), '');
  }
  return lines.join('\n').replace(/\n{3,}/g, '\n\n');
}

/**
 * Section 5: the targets checked against the numbers of sections 1-4, the trade
 * table (each default's cost on heart disease beside its gain on the synthetic
 * cohort), and what the numbers say about where debiasing helps.
 */
import { markdownTable } from '../shared/report/table.ts';
import { fmtDiff } from './pooled.ts';
import { CANDIDATE_ID, CANDIDATE_ON_ID } from './settings.ts';
import { GAP_TARGET, type SynthPoint, type SyntheticData } from './synthetic.ts';
import { calibrationTarget } from './calibration.ts';
import { fmtMeanStd, fmtPercent } from './summary.ts';
import { f2, f3, signed } from './markdown.ts';
import { targetRows, type SectionsData } from './targets.ts';

export type { SectionsData } from './targets.ts';

/** Each candidate default's cost on heart disease beside its effect on the synthetic cohort. */
export function tradeRows(d: SectionsData): string[][] {
  // The candidate's auto form leaves the dual branch off on heart disease exactly as auto does (the
  // weighting acts only inside the dual branch), so its heart cells are auto's runs.
  const rows: { label: string; loso?: string; sites?: string; synth?: string }[] = [
    { label: 'baseline (no debiasing)', loso: 'baseline', sites: 'baseline', synth: 'baseline' },
    { label: 'backbone alone (debiased variant, all off)', synth: 'backbone' },
    { label: 'debiased, auto (the shipped default)', loso: 'debiased', sites: 'debiased', synth: 'auto' },
    { label: 'debiased, dual branch forced on', loso: 'debiased-on', synth: 'both' },
    { label: 'candidate, auto (heart disease: the auto runs, its dual branch being off there)', loso: 'debiased', sites: 'debiased', synth: CANDIDATE_ID },
    { label: 'candidate, dual branch forced on', loso: CANDIDATE_ON_ID },
    { label: 'oracle (causal features only)', synth: 'oracle' },
  ];
  const syn = d.synthetic?.summary[d.synthetic.defaultPoint];
  const hasCandidate = !!syn?.[CANDIDATE_ID] || !!d.loso?.auroc[CANDIDATE_ON_ID];
  // A section stored by an older run may lack a config: its cell stays empty.
  const loso = (id: string | undefined) => (id && d.loso?.auroc[id] ? fmtMeanStd(d.loso.auroc[id].mean!) : '');
  const sites = (id: string | undefined) => (id && d.heartSites?.summary[id] ? fmtMeanStd(d.heartSites.summary[id].mean!.auroc) : '');
  const synth = (id: string | undefined, field: 'heldOut' | 'heldOutBroken' | 'inDist') => (id && syn?.[id] ? fmtMeanStd(syn[id][field]) : '');
  return rows
    .filter((r) => hasCandidate || !r.label.startsWith('candidate'))
    .map((r) => [r.label, loso(r.loso), sites(r.sites), synth(r.synth, 'heldOut'), synth(r.synth, 'heldOutBroken'), synth(r.synth, 'inDist')]);
}

export function renderDiscussion(d: SectionsData): string {
  const out: string[] = [];
  out.push('**Targets**', '');
  out.push(
    'Targets come from METHOD.md and the issue; checks are ours (what the method needs to hold for the targets to mean ' +
      'something, or a comparison with a published number).',
    '',
  );
  out.push(markdownTable(['kind', 'what', 'measured', 'verdict'], targetRows(d).map((r) => [r.kind, r.target, r.measured, r.verdict])));
  out.push('**Trade table** (mean AUROC ± std over seeds; empty where a section did not run that model):', '');
  out.push(
    markdownTable(
      ['model', 'heart, leave-one-site-out', 'heart, four sites (per-site mean)', 'synthetic, held-out (link reversed)', 'synthetic, held-out (link broken)', 'synthetic, in distribution'],
      tradeRows(d),
    ),
  );
  out.push(...findings(d));
  return out.join('\n');
}

/** The reading of the numbers: generated from them, so it cannot disagree with the tables. */
export function findings(d: SectionsData): string[] {
  const out: string[] = ['**Reading the numbers**', ''];
  if (d.synthetic) out.push(...syntheticFindings(d, d.synthetic));
  if (d.loso) out.push(...losoFindings(d.loso));
  if (d.heartSites) out.push(...heartSiteFindings(d.heartSites));
  out.push(...conclusion(d), '');
  return out;
}

/** What the synthetic sections say: the shortcut, the decision, the ablation ladder, the targets, the sweep. */
function syntheticFindings(d: SectionsData, s: SyntheticData): string[] {
  const out: string[] = [];
  const at = s.summary[s.defaultPoint]!;
  const v = (c: string) => at[c]?.heldOut.mean ?? NaN;
  const w = (c: string) => at[c]?.inDist.mean ?? NaN;
  out.push(
    `- *Is the shortcut learned?* On the default synthetic cohort the backbone scores ${f3(w('backbone'))} in ` +
      `distribution and ${f3(v('backbone'))} at the held-out site, where the reading's link is reversed; the oracle, ` +
      `blind to the reading, scores ${f3(w('oracle'))} / ${f3(v('oracle'))}. Yes: the backbone leans on the reading.`,
  );
  out.push(decisionFinding(s));
  out.push(
    `- *Ablation ladder* (held-out AUROC at default knobs): backbone ${f3(v('backbone'))}, + Part 1 ${f3(v('part1'))}, ` +
      `+ Part 2 ${f3(v('part2'))}, both ${f3(v('both'))}` +
      (at[CANDIDATE_ID] ? `; candidate ${f3(v(CANDIDATE_ID))}.` : '.') +
      (v('part1') < v('backbone') + 0.02
        ? ' Part 1 alone does not remove the reading: it adjusts for the pattern of missing modalities, and the ' +
          'reading is a value, not a pattern.'
        : ''),
  );
  const collapsed = ['part2', 'both', 'auto', CANDIDATE_ID].filter((c) => w(c) < 0.5);
  out.push(
    `- *Does the dual branch collapse on the synthetic cohort?* ${collapsed.length ? `Yes: in-distribution AUROC below 0.5 for ${collapsed.join(', ')}.` : `No: in-distribution AUROC stays at ${f3(w('both'))} (both parts)` + (at[CANDIDATE_ID] ? ` and ${f3(w(CANDIDATE_ID))} (candidate)` : '') + ', far above 0.5.'}`,
  );
  const gb = d.tuning?.diagnosis.find((x) => x.weighting === 'group-balanced');
  if (gb)
    out.push(
      `- *Why group-balanced weights fall short.* The bias branch does find the conflicting rows (r > 0.5 marks ` +
        `${fmtPercent(gb.flaggedConflicting)} of the training rows with imaging against ${fmtPercent(gb.trulyConflicting)} ` +
        `truly conflicting; recall ${f3(gb.recall)}, precision ${f3(gb.precision)}). But equal total weight for the two ` +
        `groups does not make the reading uninformative: every aligned row keeps the same weight, so the large readings ` +
        `that only one class produces still say the label. In the training rows as the causal branch weighs them, the ` +
        `reading's AUROC for the label is ${f3(gb.readingAuroc.groupBalanced)} at share 0.5 (unweighted ` +
        `${f3(gb.readingAuroc.unweighted)}), ${f3(gb.readingAuroc.groupBalanced09)} at share 0.9, and ` +
        `${f3(gb.readingAuroc.lff)} with LfF's per-row r, which is smallest exactly where the bias branch is most sure ` +
        `(same run's r throughout; eval/diagnose.ts).`,
    );
  const t = s.targets;
  const hasCand = Boolean(at[CANDIDATE_ID]);
  out.push(
    `- *The synthetic targets*: gap closure ${fmtPercent(t.gapClosureAuto)} with the shipped default ` +
      `(${t.gapVerdict}` +
      (hasCand
        ? `), ${fmtPercent(t.gapClosureCandidate)} with the candidate (on the broken-link twin ` +
          `${fmtPercent(t.gapClosureAutoBroken)} and ${fmtPercent(t.gapClosureCandidateBroken)})`
        : `; on the broken-link twin ${fmtPercent(t.gapClosureAutoBroken)})`) +
      `; in distribution the default is ${t.inDistVerdict === 'met' ? 'at or above' : 'below'} the oracle ` +
      `(${f3(t.inDistAuto)} vs ${f3(t.inDistOracle)})` +
      (hasCand ? `, the candidate at ${f3(w(CANDIDATE_ID))}.` : '.'),
  );
  out.push(`- *Along the sweep*, held-out gain over the backbone (auto${hasCand ? ' / candidate' : ''}): ${sweepGains(s, hasCand)}.`);
  out.push(inDistributionSweep(s));
  return out;
}

/** How often auto flagged the planted reading, at the default knobs and where it missed. */
function decisionFinding(s: SyntheticData): string {
  const autoRuns = s.runs.filter((r) => r.config === 'auto');
  const perPoint = s.points.map((p) => {
    const rs = autoRuns.filter((r) => r.point === p.key);
    return { p, on: rs.filter((r) => r.debiasing?.decision === 'on').length, n: rs.length, rs };
  });
  const missed = perPoint.filter((x) => x.on < x.n);
  const def = perPoint[0]!;
  const flaggedOther = [...new Set(autoRuns.flatMap((r) => r.debiasing?.flagged.map((f) => f.feature) ?? []))];
  const range = (xs: number[]) => (xs.length ? `${f2(Math.min(...xs))}-${f2(Math.max(...xs))}` : '-');
  return (
    `- *Does auto flag the planted reading?* At the default knobs in ${def.on} of ${def.n} runs; features ever ` +
      `flagged: ${flaggedOther.join(', ') || 'none'}.` +
      (missed.length
        ? ' It missed ' +
          missed
            .map((x) => {
              const fl = x.rs.flatMap((r) => r.debiasing?.flagged ?? []);
              return (
                `${x.n - x.on} of ${x.n} at spurious ${x.p.spuriousStrength}, missing ${x.p.missingBias} (where it did flag, ` +
                `label corr ${range(fl.map((f) => Math.abs(f.labelCorr)))}, within-class ${range(fl.map((f) => f.withinClassCorr))})`
              );
            })
            .join('; ') +
          '. A weaker link lowers the label correlation while the upper confidence bound of the reading\'s ' +
          'within-class correlation stays wide with a few hundred rows per class, so the bound (<= 0.4 x the label ' +
          'correlation) is not met: the rule is conservative by design (a missed reading costs what the plain model ' +
          'costs; a flagged real marker costs more).'
        : ' The decision is not what limits the result.')
  );
}

/** Where along the sweep auto (and the candidate) fall below the oracle in distribution. */
function inDistributionSweep(s: SyntheticData): string {
  const below = (c: string) =>
    s.points.filter((p) => (s.summary[p.key]![c]?.inDist.mean ?? Infinity) < s.summary[p.key]!.oracle!.inDist.mean);
  const where = (ps: SynthPoint[]) => ps.map((p) => `spurious ${p.spuriousStrength}, missing ${p.missingBias}`).join('; ');
  const ba = below('auto');
  const at = s.summary[s.defaultPoint]!;
  const bc = at[CANDIDATE_ID] ? below(CANDIDATE_ID) : [];
  return (
    '- *In distribution along the sweep*: auto ' +
      (ba.length
        ? `falls below the oracle at ${where(ba)} (${ba.map((p) => `${f3(s.summary[p.key]!.auto!.inDist.mean)} vs ${f3(s.summary[p.key]!.oracle!.inDist.mean)}`).join('; ')}): there it gives up more than the shortcut bought`
        : 'stays at or above the oracle at every point') +
      (at[CANDIDATE_ID]
        ? `; the candidate ${bc.length ? `falls below it at ${where(bc)} (${bc.map((p) => `${f3(s.summary[p.key]![CANDIDATE_ID]!.inDist.mean)} vs ${f3(s.summary[p.key]!.oracle!.inDist.mean)}`).join('; ')}): there it gives up more than the shortcut bought` : 'stays at or above it at every point'}`
        : '') +
      '.'
  );
}

/** What leave-one-site-out on heart disease says of auto and of the dual branch forced on. */
function losoFindings(loso: NonNullable<SectionsData['loso']>): string[] {
  const out: string[] = [];
  const a = loso.auroc;
  const ons = loso.runs.filter((r) => r.config === 'debiased' && r.debiasing?.decision === 'on').length;
  const b = a.baseline!.mean!.mean;
  const on = a['debiased-on']!.mean!.mean;
  const candOn = a[CANDIDATE_ON_ID]?.mean?.mean;
  out.push(
    `- *Heart disease*: auto turned debiasing on in ${ons} of ` +
      `${loso.runs.filter((r) => r.config === 'debiased').length} leave-one-site-out runs, so what it costs there is ` +
      `what balancing and the deconfounding head cost (${f3(a.debiased!.mean!.mean)} vs baseline ${f3(b)}). Forced on, ` +
      `the dual branch changes the mean by ${signed(on - b)}` +
      (candOn !== undefined ? ` (the candidate forced on: ${signed(candOn - b)})` : '') +
      '.' +
      (on < b - 0.01
        ? ' That is the price METHOD.md Part 3 describes: with no shortcut to find, the bias branch finds hard rows, ' +
          'and upweighting them hurts; the decision rule is what keeps the default from paying it.'
        : ''),
  );
  if (candOn !== undefined && candOn < 0.5)
    out.push(
      `- *The candidate collapses where auto would be wrong.* Forced on for heart disease, nothing is flagged, so the ` +
        `bias branch sees every column and becomes a second full classifier; the candidate's weights then hand the ` +
        `causal branch the rows that classifier gets wrong, and it learns them reversed: held-out AUROC ${f3(candOn)}, ` +
        `the collapse METHOD.md warns of, where group-balanced weights (what the shipped adaptive default uses when nothing is flagged) cost far less (${f3(on)}). The ` +
        'candidate is safe only behind the auto rule, with the bias branch restricted to the flagged features.',
    );
  return out;
}

/** What the four heart-disease sites say of calibration and of pooled training against FedAvg. */
function heartSiteFindings(heartSites: NonNullable<SectionsData['heartSites']>): string[] {
  const out: string[] = [];
  const m = heartSites.summary;
  const eceB = m.baseline!.mean!.ece.mean;
  const eceD = m.debiased!.mean!.ece.mean;
  const own = calibrationTarget(heartSites.runs);
  if (eceD > eceB + 0.01)
    out.push(
      `- *Calibration*: on the four heart-disease sites the debiased model's raw mean ECE is ${f3(eceD)} against the ` +
        `baseline's ${f3(eceB)}. On a site's own training rows the models' mean score misses the site's prevalence, ` +
        'in both directions across the sites (section 1\'s per-site table says where, and where the debiased model ' +
        'misses by more: its pattern-outcome balancing and backdoor adjustment take away what the missingness pattern ' +
        'says about a site\'s rate); one recalibration fitted on the other sites cannot move both ways. ' +
        (own
          ? `Each site's own recalibration (Platt: slope and intercept), fitted on its training rows, brings them to ${f3(own.debiased)} (debiased) and ${f3(own.baseline)} (baseline).`
          : 'A per-site fit is the fix (not in these stored runs).'),
    );
  const pooled = m.pooled!.mean!.auroc.mean;
  const fed = m.baseline!.mean!.auroc.mean;
  const b = heartSites.budget;
  const row = (id: string) => b?.rows.find((r) => r.id === id)?.metrics.meanAuroc;
  if (b && row('pooled-70') && row('pooled'))
    out.push(
      `- *Pooled training against FedAvg*: the pooled reference used to train on 70% of the train rows (simulate split ` +
        `its file again); that gave ${f3(row('pooled-70')!.value.mean)} mean per-site AUROC, ` +
        `${fmtDiff(row('pooled-70')!.diff)} from FedAvg paired by seed. On every train row it gives ${f3(pooled)} ` +
        `against FedAvg's ${f3(fed)} (${fmtDiff(row('pooled')!.diff)} paired). ` +
        `The budget changes (one epoch, step-matched batch, weight decay) are in section 1's "Pooled training and its budget".`,
    );
  else if (pooled < fed)
    out.push(
      `- *Pooled training scores below FedAvg* (${f3(pooled)} vs ${f3(fed)} mean per-site AUROC) with the same rounds x ` +
        `epochs. One pooled site takes 3-7 times more optimizer steps per epoch than any single hospital, so at the same ` +
        `budget it likely fits its rows harder, while FedAvg's averaging smooths each round; not investigated further. ` +
        `The budget is kept equal rather than tuned for the pooled reference: read "pooled" as "pooled at this budget".`,
    );
  return out;
}

/** Whether one default meets the heart-disease and the synthetic targets together. */
export function conclusion(d: SectionsData): string[] {
  if (!d.loso || !d.synthetic) return [];
  const t = d.synthetic.targets;
  const heart = d.loso.target.verdict === 'met';
  const synth = t.gapVerdict === 'met' && t.inDistVerdict === 'met';
  const out = ['', '**Conclusion**', ''];
  if (heart && synth) out.push('The shipped default (auto) meets the heart-disease and the synthetic targets together.');
  else
    out.push(
      `The shipped default does not meet the targets together: heart disease leave-one-site-out ${d.loso.target.verdict}, ` +
        `synthetic gap closure ${t.gapVerdict}, synthetic in distribution ${t.inDistVerdict} (trade table above).`,
    );
  if (Number.isFinite(t.gapClosureCandidate)) {
    // The candidate runs auto's decision, so on heart disease (dual branch off) its verdict is auto's.
    const candSynth = t.gapClosureCandidate >= GAP_TARGET && (d.synthetic.summary[d.synthetic.defaultPoint]!.candidate?.inDist.mean ?? NaN) >= t.inDistOracle;
    out.push(
      '',
      `The candidate picked on the tuning seeds ${candSynth && heart ? 'meets both' : 'does not meet both'} on the reported seeds ` +
        `(synthetic gap closure ${fmtPercent(t.gapClosureCandidate)}, broken-link twin ${fmtPercent(t.gapClosureCandidateBroken)}; ` +
        `heart disease as auto, since its dual branch stays off there)` +
        (d.loso.auroc[CANDIDATE_ON_ID] && d.loso.auroc[CANDIDATE_ON_ID].mean!.mean < 0.5
          ? ', but only while the auto rule keeps its dual branch off where nothing is flagged: forced on there it collapses.'
          : '.'),
    );
  }
  return out;
}

/** "spurious 0.5, missing 1.2: +0.10 / +0.20; ..." for each sweep point (held-out AUROC gain over the backbone). */
function sweepGains(s: SyntheticData, withCandidate: boolean): string {
  return s.points
    .map((p) => {
      const m = s.summary[p.key]!;
      const g = (c: string) => signed((m[c]?.heldOut.mean ?? NaN) - m.backbone!.heldOut.mean);
      return `spurious ${p.spuriousStrength}, missing ${p.missingBias}: ${g('auto')}${withCandidate ? ` / ${g(CANDIDATE_ID)}` : ''}`;
    })
    .join('; ');
}

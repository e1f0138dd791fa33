/**
 * Section 6: the debiasing default across a family of synthetic cohorts, not one
 * cohort (issue 10): a reading recorded for every row, a weaker link (agreement 0.7),
 * two flagged readings, a categorical reading, a label-driven cohort (features caused
 * by the outcome alone: nothing may be flagged), and a data-size axis (4 training
 * sites, 5 rounds, a few hundred to 100,000 rows per site). Every cell runs the plain
 * backbone, the shipped default, the alternatives and the oracle on the same rows. Beyond
 * the grid, a rare outcome (6% and 3% positives) is measured and shown apart from
 * the targets: the rule's known gap there (docs/debiasing.md, "Not done").
 */
import { markdownTable } from '../shared/report/table.ts';
import { sectionSettings, specList, type EvalContext, type SectionSettings } from './context.ts';
import type { SimOutcome } from './jobs.ts';
import { decisionTally } from './markdown.ts';
import { BASELINE, LADDER, ORACLE, type ModelSpec } from './settings.ts';
import { fmtMeanStd, fmtPercent, gapClosure, spread } from './summary.ts';
import { runCohort, summarizeSynth, type SynthPoint, type SynthRun } from './synthetic.ts';

const BACKBONE = LADDER[0]!;
const DEFAULT: ModelSpec = { id: 'auto', label: 'debiased (the default: auto, flagged readings dropped)', model: 'debiased', debiasing: {} };
const OUTCOME: ModelSpec = { id: 'outcome', label: 'debiased, outcome weights', model: 'debiased', debiasing: { weighting: 'outcome' } };
const ADAPTIVE: ModelSpec = { id: 'adaptive', label: 'debiased, adaptive LfF (the earlier default)', model: 'debiased', debiasing: { weighting: 'adaptive' } };
const PLAIN: ModelSpec = { ...BASELINE, id: 'baseline', label: 'plain baseline model' };

/** In distribution the default may give up what the shortcut bought, not more: the oracle's AUROC minus this. */
export const IN_DIST_SLACK = 0.02;
export const ASSOCIATION_FLOOR = 0.45;
export const GAP_TARGET = 0.6;
export const LABEL_DRIVEN_SLACK = 0.02;

interface Cell extends SynthPoint {
  label: string;
  /** 'beyond': measured beside the grid and left out of its targets (a known gap, shown). */
  kind: 'shape' | 'size' | 'label-driven' | 'beyond';
  seeds: number[];
  specs: ModelSpec[];
}

function cells(quick: boolean, seeds: number[]): Cell[] {
  const few = seeds.slice(0, quick ? 1 : 3);
  const one = seeds.slice(0, 1);
  const all = [BACKBONE, DEFAULT, OUTCOME, ADAPTIVE, ORACLE];
  const base = { spuriousStrength: 1, missingBias: 1.2 };
  const shape = (key: string, label: string, knobs: SynthPoint['knobs']): Cell => ({ ...base, key, label, kind: 'shape', knobs, seeds: few, specs: all });
  const size = (rows: number, s: number[]): Cell => ({
    ...base,
    key: `rows=${rows}`,
    label: `${rows} rows per site, 4 training sites, 5 rounds`,
    kind: 'size',
    knobs: { rows, sites: 5 },
    rounds: 5,
    seeds: s,
    specs: [BACKBONE, DEFAULT, ORACLE],
  });
  return [
    shape('every-row', 'reading recorded for every row (imaging rate 1), agreement 0.9', { imagingRate: 1, agreement: 0.9 }),
    shape('agreement-0.7', 'weaker link: agreement 0.7', { agreement: 0.7 }),
    shape('two-readings', 'two flagged readings (reading, reading2)', { readings: 2 }),
    shape('categorical', 'a categorical reading (high/low)', { readingType: 'categorical' }),
    // A rare outcome, as many hospital outcomes are: outside the grid, measured to show the known gap.
    { ...shape('rare-6%', 'beyond the grid: a rare outcome, about 6% positives at the training sites (outcome offset -4)', { outcomeOffset: -4 }), kind: 'beyond' },
    { ...shape('rare-3%', 'beyond the grid: a rarer outcome, about 3% positives at the training sites (outcome offset -5)', { outcomeOffset: -5 }), kind: 'beyond' },
    { ...base, key: 'label-driven', label: 'label-driven: features caused by the outcome alone', kind: 'label-driven', knobs: { labelDriven: true }, seeds: few, specs: [DEFAULT, PLAIN] },
    size(300, few),
    size(2000, few),
    ...(quick ? [] : [size(20000, one), size(100000, one)]),
  ];
}

export interface FamilyCell {
  key: string;
  label: string;
  kind: Cell['kind'];
  seeds: number[];
  configs: string[];
  summary: Record<string, { heldOut: ReturnType<typeof spread>; heldOutBroken: ReturnType<typeof spread>; inDist: ReturnType<typeof spread>; association: ReturnType<typeof spread> }>;
}

export interface FamilyData {
  settings: SectionSettings;
  configs: ReturnType<typeof specList>;
  cells: FamilyCell[];
  runs: SynthRun[];
}

export async function runFamily(ctx: EvalContext): Promise<FamilyData> {
  const outcomes: SimOutcome[] = [];
  const list = cells(ctx.settings.quick, ctx.settings.seeds);
  const pending: Promise<SynthRun[]>[] = [];
  for (const c of list) for (const seed of c.seeds) pending.push(runCohort(ctx, c, seed, c.specs, outcomes, 's6'));
  const runs = (await Promise.all(pending)).flat();
  const out: FamilyCell[] = list.map((c) => {
    const ids = c.specs.map((s) => s.id);
    const base = summarizeSynth(runs, [c.key], ids)[c.key]!;
    const summary = Object.fromEntries(
      ids.map((id) => [id, { ...base[id]!, association: spread(runs.filter((r) => r.point === c.key && r.config === id).map((r) => r.association ?? NaN)) }]),
    );
    return { key: c.key, label: c.label, kind: c.kind, seeds: c.seeds, configs: ids, summary };
  });
  return { settings: sectionSettings(ctx.settings, outcomes), configs: specList([BACKBONE, DEFAULT, OUTCOME, ADAPTIVE, ORACLE, PLAIN]), cells: out, runs };
}

const mark = (ok: boolean) => (ok ? 'met' : '**missed**');

export function renderFamily(d: FamilyData): string {
  const label = (id: string) => d.configs.find((c) => c.id === id)?.label ?? id;
  const out: string[] = [
    'Cohorts from `fedcausal synth` beyond the default one (section 4), each a new draw per seed; held-out site and ' +
      'its broken-link twin as in section 4. "Association": the smallest weighted AUROC of a flagged reading against the ' +
      'label in the training rows at the last round (0.5 = balanced; below = reversed; with `drop` the model never sees ' +
      'the reading, so the figure describes the rows). Gap closure on the broken link: (model - backbone) / (oracle - backbone).',
    '',
  ];
  const gaps: number[] = [];
  const checks: string[] = [];
  const beyond: string[] = [];
  for (const c of d.cells) {
    const s = c.summary;
    out.push(`**${c.label}** (\`${c.key}\`, seeds ${c.seeds.join(', ')}):`, '');
    out.push(
      markdownTable(
        ['model', 'in distribution', 'held out, link reversed', 'held out, link broken', 'association'],
        c.configs.map((id) => [label(id), fmtMeanStd(s[id]!.inDist), fmtMeanStd(s[id]!.heldOut), fmtMeanStd(s[id]!.heldOutBroken), fmtMeanStd(s[id]!.association)]),
      ),
    );
    const runs = d.runs.filter((r) => r.point === c.key && r.config === 'auto');
    out.push(`Auto decided: ${decisionTally(runs.map((r) => r.debiasing))}.`, '');
    if (c.kind === 'label-driven') {
      const plain = d.runs.filter((r) => r.point === c.key && r.config === 'baseline');
      const diffs = runs.flatMap((r) => {
        const p = plain.find((x) => x.seed === r.seed);
        return p ? Object.keys(r.perSite ?? {}).map((site) => (r.perSite![site] ?? NaN) - (p.perSite![site] ?? NaN)) : [];
      });
      const worst = Math.min(...diffs);
      checks.push(`label-driven cohort: worst per-site difference debiased - baseline ${worst.toFixed(3)} (target >= -${LABEL_DRIVEN_SLACK}): ${mark(worst >= -LABEL_DRIVEN_SLACK)}`);
      continue;
    }
    const gap = gapClosure(s.auto!.heldOutBroken.mean, s.backbone!.heldOutBroken.mean, s.oracle!.heldOutBroken.mean);
    const inOk = s.auto!.inDist.mean >= s.oracle!.inDist.mean - IN_DIST_SLACK;
    if (c.kind === 'beyond') {
      beyond.push(
        `${c.key}: auto decided ${decisionTally(runs.map((r) => r.debiasing))}; gap closure (broken) ${fmtPercent(gap)}; ` +
          `in distribution ${s.auto!.inDist.mean.toFixed(3)} vs oracle ${s.oracle!.inDist.mean.toFixed(3)} (${inOk ? 'not' : '**more than**'} ${IN_DIST_SLACK} below it)`,
      );
      continue;
    }
    gaps.push(gap);
    const assocOk = !(s.auto!.association.mean < ASSOCIATION_FLOOR);
    checks.push(
      `${c.key}: gap closure (broken) ${fmtPercent(gap)} (target >= ${fmtPercent(GAP_TARGET)}): ${mark(gap >= GAP_TARGET)}; ` +
        `in distribution ${s.auto!.inDist.mean.toFixed(3)} vs oracle ${s.oracle!.inDist.mean.toFixed(3)} - ${IN_DIST_SLACK}: ${mark(inOk)}; ` +
        `association ${Number.isFinite(s.auto!.association.mean) ? s.auto!.association.mean.toFixed(3) : '-'} (>= ${ASSOCIATION_FLOOR}): ${mark(assocOk)}`,
    );
  }
  const avg = gaps.reduce((a, b) => a + b, 0) / gaps.length;
  checks.push(`average gap closure (broken) over the cells: ${fmtPercent(avg)} (target >= ${fmtPercent(GAP_TARGET)}, aim 85%): ${mark(avg >= GAP_TARGET)}`);
  out.push('**Targets** (the default, `auto`):', '', ...checks.map((c) => `- ${c}`), '');
  if (beyond.length)
    out.push('**Beyond the grid** (no target: measured to show a known gap, docs/debiasing.md "Not done"):', '', ...beyond.map((c) => `- ${c}`), '');
  return out.join('\n');
}

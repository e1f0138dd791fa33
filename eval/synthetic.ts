/**
 * Section 4: synthetic cohorts with a known cause (shared/synth). The truth's
 * held-out site is the --test-site, the others train (their 30% held-out rows give
 * the in-distribution AUROC). The ablation ladder, auto, the plain baseline and the
 * oracle (the baseline on the causal features only) run on the same cohort and
 * splits, at the default knobs and along a sweep of each knob with the other at
 * its default.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { MeanAndSpread } from '../shared/metrics/classification.ts';
import { smallMultiplesSvg, type LineChartOptions } from '../shared/report/svg-plot.ts';
import { markdownTable } from '../shared/report/table.ts';
import { defaultSynthOptions, type SynthOptions } from '../shared/synth/options.ts';
import { siteCsv, synthesizeCohort, writeCohort } from '../shared/synth/write.ts';
import { sectionSettings, specList, toRecord, type EvalContext, type RunRecord, type SectionSettings } from './context.ts';
import { simOptions, type SimOutcome } from './jobs.ts';
import { decisionTally } from './markdown.ts';
import { keepFeatures, writeSchema } from './schemas.ts';
import {
  BASELINE,
  candidateSpecs,
  CANDIDATE_ID,
  LADDER,
  modelSettings,
  ORACLE,
  SYNTH_DEFAULT_MISSING,
  SYNTH_DEFAULT_SPURIOUS,
  type ModelSpec,
} from './settings.ts';
import { atLeast, fmtMeanStd, fmtPercent, gapClosure, meanOverSites, spread, type Verdict } from './summary.ts';
import type { DebiasingReport } from '../shared/federation/debiasing-report.ts';

const PLAIN: ModelSpec = { ...BASELINE, id: 'baseline', label: 'plain baseline model (weight decay 1e-3)' };
export const GAP_TARGET = 0.6;
export const GAP_AIM = 0.8;

export interface SynthPoint {
  key: string;
  spuriousStrength: number;
  missingBias: number;
  /** Other generator knobs of the cohort (the family of section 6), and its own round count. */
  knobs?: Partial<SynthOptions>;
  rounds?: number;
}

export interface SynthRun extends RunRecord {
  point: string;
  /** AUROC at the held-out site, where the reading's link to the outcome is reversed (the generator's default). */
  heldOut: number;
  /** AUROC at the same held-out site drawn with the link broken instead (reading independent of the outcome). */
  heldOutBroken: number;
  inDist: number;
  /** The smallest weighted association of a flagged reading at the last round (debiasing health), when any. */
  association?: number;
  /** Per training site and the held-out site: AUROC (for per-site comparisons). */
  perSite?: Record<string, number>;
}

export interface SynthSummary {
  heldOut: MeanAndSpread;
  heldOutBroken: MeanAndSpread;
  inDist: MeanAndSpread;
}

/** The test-site name of the broken-link twin of the held-out site. */
export const BROKEN_SUFFIX = '-broken';

export interface SyntheticData {
  settings: SectionSettings;
  points: SynthPoint[];
  defaultPoint: string;
  configs: ReturnType<typeof specList>;
  runs: SynthRun[];
  /** point -> config -> held-out and in-distribution AUROC over seeds. */
  summary: Record<string, Record<string, SynthSummary>>;
  targets: {
    /** NaN when no candidate ran. */
    gapClosureCandidate: number;
    gapClosureAuto: number;
    /** The same on the broken-link twin of the held-out site. */
    gapClosureAutoBroken: number;
    gapClosureCandidateBroken: number;
    gapClosureBoth: number;
    gapVerdict: Verdict;
    inDistAuto: number;
    inDistOracle: number;
    inDistVerdict: Verdict;
  };
}

export function pointKey(spurious: number, missing: number): string {
  return `spurious=${spurious},missing=${missing}`;
}

/** The default point, then each knob's sweep with the other at its default; no point twice. */
export function sweepPoints(spurious: readonly number[], missing: readonly number[]): SynthPoint[] {
  const pts: SynthPoint[] = [];
  const add = (s: number, m: number) => {
    const key = pointKey(s, m);
    if (!pts.some((p) => p.key === key)) pts.push({ key, spuriousStrength: s, missingBias: m });
  };
  add(SYNTH_DEFAULT_SPURIOUS, SYNTH_DEFAULT_MISSING);
  for (const s of spurious) add(s, SYNTH_DEFAULT_MISSING);
  for (const m of missing) add(SYNTH_DEFAULT_SPURIOUS, m);
  return pts;
}

/**
 * Writes one cohort (and its oracle schema) and queues every config on it. The held-out
 * site is scored twice by the same trained model: as generated (link reversed) and as
 * drawn with --spurious-flip false (link broken). The training sites of the two draws
 * are the same rows, so a model that merely learned the reversed shortcut shows itself
 * as a gain on the reversed site that the broken one does not share.
 */
export async function runCohort(ctx: EvalContext, point: SynthPoint, seed: number, specs: readonly ModelSpec[], outcomes: SimOutcome[], tag = 's4'): Promise<SynthRun[]> {
  const s = ctx.settings;
  const dir = join(ctx.tmp, point.key.replace(/[=,]/g, '_'), `seed${seed}`);
  const options = { ...defaultSynthOptions(), seed, spuriousStrength: point.spuriousStrength, missingBias: point.missingBias, ...point.knobs, spuriousFlip: true };
  const { cohort } = await writeCohort(dir, options);
  const truth = cohort.truth;
  const broken = synthesizeCohort({ ...options, spuriousFlip: false });
  for (const site of cohort.sites.filter((x) => !x.heldOut))
    if (siteCsv(site) !== siteCsv(broken.sites.find((x) => x.name === site.name)!))
      throw new Error(`synthetic seed ${seed}: training site ${site.name} differs between the reversed and broken draws; the twin held-out site would not be comparable`);
  const brokenName = truth.heldOutSite + BROKEN_SUFFIX;
  writeFileSync(join(dir, `${brokenName}.csv`), siteCsv(broken.sites.find((x) => x.heldOut)!));
  const oracleSchema = join(dir, 'schema-oracle.json');
  writeSchema(oracleSchema, keepFeatures(cohort.schema, truth.causalFeatures));
  const sites = truth.trainSites.map((n) => ({ name: n, path: join(dir, `${n}.csv`) }));
  const test = [
    { name: truth.heldOutSite, path: join(dir, `${truth.heldOutSite}.csv`) },
    { name: brokenName, path: join(dir, `${brokenName}.csv`) },
  ];
  return Promise.all(
    specs.map(async (spec) => {
      const out = await ctx.runner.run({
        label: `${tag} synthetic ${point.key} ${spec.id} seed ${seed}`,
        options: simOptions({
          schema: spec.oracle ? oracleSchema : join(dir, 'schema.json'),
          rounds: point.rounds ?? s.rounds,
          seed,
          strategy: s.strategy,
          model: spec.model,
          modelSettings: modelSettings(spec, s),
          sites,
          testSites: test,
        }),
      });
      outcomes.push(out);
      const rec = toRecord(spec.id, seed, out);
      const association = lastAssociation(out.results.debiasing);
      return {
        ...rec,
        point: point.key,
        heldOut: rec.sites[truth.heldOutSite]!.auroc,
        heldOutBroken: rec.sites[brokenName]!.auroc,
        inDist: meanOverSites(rec.sites, 'auroc', truth.trainSites),
        ...(association === undefined ? {} : { association }),
        perSite: Object.fromEntries([...truth.trainSites, truth.heldOutSite].map((n) => [n, rec.sites[n]!.auroc])),
      };
    }),
  );
}

/** The smallest weighted association of a flagged reading in the last round's health figures. */
function lastAssociation(debiasing: DebiasingReport | undefined): number | undefined {
  const h = debiasing?.health?.at(-1);
  const v = h ? Object.values(h.weightedAssociation).filter(Number.isFinite) : [];
  return v.length ? Math.min(...v) : undefined;
}

export function summarizeSynth(runs: readonly SynthRun[], points: readonly string[], configs: readonly string[]): SyntheticData['summary'] {
  const out: SyntheticData['summary'] = {};
  for (const p of points) {
    out[p] = {};
    for (const c of configs) {
      const mine = runs.filter((r) => r.point === p && r.config === c);
      out[p][c] = {
        heldOut: spread(mine.map((r) => r.heldOut)),
        heldOutBroken: spread(mine.map((r) => r.heldOutBroken)),
        inDist: spread(mine.map((r) => r.inDist)),
      };
    }
  }
  return out;
}

export async function runSynthetic(ctx: EvalContext): Promise<SyntheticData> {
  const s = ctx.settings;
  const configs: ModelSpec[] = [...LADDER, ...(ctx.candidate ? [candidateSpecs(ctx.candidate).auto] : []), ORACLE, PLAIN];
  const points = sweepPoints(s.spuriousStrengths, s.missingBiases);
  const outcomes: SimOutcome[] = [];
  const pending: Promise<SynthRun[]>[] = [];
  for (const p of points) for (const seed of s.seeds) pending.push(runCohort(ctx, p, seed, configs, outcomes));
  const runs = (await Promise.all(pending)).flat();
  const summary = summarizeSynth(
    runs,
    points.map((p) => p.key),
    configs.map((c) => c.id),
  );
  const def = points[0]!.key;
  const at = summary[def]!;
  const closure = (id: string, k: 'heldOut' | 'heldOutBroken' = 'heldOut') =>
    at[id] ? gapClosure(at[id][k].mean, at.backbone![k].mean, at.oracle![k].mean) : NaN;
  const gapAuto = closure('auto');
  return {
    settings: sectionSettings(s, outcomes),
    points,
    defaultPoint: def,
    configs: specList(configs),
    runs,
    summary,
    targets: {
      gapClosureCandidate: closure(CANDIDATE_ID),
      gapClosureAuto: gapAuto,
      gapClosureAutoBroken: closure('auto', 'heldOutBroken'),
      gapClosureCandidateBroken: closure(CANDIDATE_ID, 'heldOutBroken'),
      gapClosureBoth: closure('both'),
      gapVerdict: atLeast(gapAuto, GAP_TARGET),
      inDistAuto: at.auto!.inDist.mean,
      inDistOracle: at.oracle!.inDist.mean,
      inDistVerdict: atLeast(at.auto!.inDist.mean, at.oracle!.inDist.mean),
    },
  };
}

const MEASURES = [
  { key: 'heldOut', title: 'Held-out site, link reversed', axis: 'held-out AUROC (link reversed)' },
  { key: 'heldOutBroken', title: 'Held-out site, link broken', axis: 'held-out AUROC (link broken)' },
  { key: 'inDist', title: 'In distribution', axis: 'in-distribution AUROC' },
] as const;

/** AUROC against each knob, one line per model: held-out site (link reversed, link broken) and in distribution. */
export function syntheticSvg(d: SyntheticData): string {
  const panels: LineChartOptions[] = [];
  const sweeps = [
    { knob: 'spurious strength', x: (p: SynthPoint) => p.spuriousStrength, on: (p: SynthPoint) => p.missingBias === SYNTH_DEFAULT_MISSING, other: `missing bias ${SYNTH_DEFAULT_MISSING}` },
    { knob: 'missing bias', x: (p: SynthPoint) => p.missingBias, on: (p: SynthPoint) => p.spuriousStrength === SYNTH_DEFAULT_SPURIOUS, other: `spurious strength ${SYNTH_DEFAULT_SPURIOUS}` },
  ];
  for (const m of MEASURES)
    for (const sw of sweeps) {
      const pts = d.points.filter(sw.on).sort((a, b) => sw.x(a) - sw.x(b));
      panels.push({
        title: `${m.title} vs ${sw.knob}`,
        xLabel: `${sw.knob} (${sw.other})`,
        yLabel: m.axis,
        yMin: 0.2,
        yMax: 1,
        width: 600,
        height: 360,
        series: d.configs.map((c) => ({ name: c.id, points: pts.map((p) => [sw.x(p), d.summary[p.key]![c.id]![m.key].mean] as [number, number]) })),
      });
    }
  return smallMultiplesSvg(panels, 2);
}

export function renderSynthetic(d: SyntheticData, svgName: string): string {
  const out: string[] = [];
  const def = d.summary[d.defaultPoint]!;
  out.push(
    "Cohorts from `fedcausal synth` (4 sites x 500 rows; the last site is held out: there the imaging reading's " +
      'link to the outcome is reversed and imaging acquisition no longer depends on the outcome). Each seed is a new ' +
      'cohort and a new split; every configuration of a seed trains on the same rows. Held-out AUROC, "reversed": the ' +
      'held-out site as generated, scored whole. "Broken": the same site drawn with `--spurious-flip false` (the reading ' +
      'independent of the outcome), scored by the same trained model (the training sites of the two draws are the same ' +
      'rows): a model that merely learned the reversed shortcut gains on "reversed" but not on "broken". In ' +
      'distribution: the mean over the three training sites of the AUROC on their 30% held-out rows. Ladder rows all ' +
      "run the debiased variant (weight decay 1e-2); the oracle is the baseline model on a schema of the truth's causal " +
      'features only (the imaging modality removed).',
    '',
  );
  out.push(`**Default knobs** (${d.defaultPoint}):`, '');
  out.push(
    markdownTable(
      ['model', 'held-out AUROC, link reversed', 'held-out AUROC, link broken', 'in-distribution AUROC'],
      d.configs.map((c) => [c.label, fmtMeanStd(def[c.id]!.heldOut), fmtMeanStd(def[c.id]!.heldOutBroken), fmtMeanStd(def[c.id]!.inDist)]),
    ),
  );
  const t = d.targets;
  const cand = Number.isFinite(t.gapClosureCandidate);
  out.push(
    `**Gap closure** at default knobs, (debiased - backbone) / (oracle - backbone) on mean held-out AUROC (link ` +
      `reversed): auto ${fmtPercent(t.gapClosureAuto)}, both parts forced on ${fmtPercent(t.gapClosureBoth)}` +
      (cand ? `, candidate ${fmtPercent(t.gapClosureCandidate)}` : '') +
      ` (target >= ${fmtPercent(GAP_TARGET)}, aim ${fmtPercent(GAP_AIM)}): **${t.gapVerdict}**. On the broken-link twin: auto ` +
      `${fmtPercent(t.gapClosureAutoBroken)}` +
      (cand ? `, candidate ${fmtPercent(t.gapClosureCandidateBroken)}` : '') +
      '.',
    '',
    `**In distribution**, debiased (auto) ${t.inDistAuto.toFixed(3)} vs oracle ${t.inDistOracle.toFixed(3)} ` +
      `(target: at or above the oracle): **${t.inDistVerdict}**.`,
    '',
  );
  out.push('**Sweep**: each knob moved with the other at its default; means over seeds.', '');
  const ids = d.configs.map((c) => c.id);
  for (const m of MEASURES) {
    out.push(`*${m.title}:*`, '');
    out.push(
      markdownTable(
        ['spurious strength', 'missing bias', ...ids, ...(m.key === 'heldOut' ? ['auto decision'] : [])],
        d.points.map((p) => [
          String(p.spuriousStrength),
          String(p.missingBias),
          ...ids.map((c) => d.summary[p.key]![c]![m.key].mean),
          ...(m.key === 'heldOut' ? [decisionTally(d.runs.filter((r) => r.point === p.key && r.config === 'auto').map((r) => r.debiasing))] : []),
        ]),
      ),
    );
  }
  out.push(`![Synthetic sweep: AUROC against each knob, one line per model](${svgName})`, '');
  return out.join('\n');
}

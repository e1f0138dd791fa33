/**
 * The debiased model's per-round figures inside the secure fit vector: its health sums
 * (shared/data/debias-health.ts) and its (pattern, label) counts for the prior's drift.
 * Every health figure is computed from sums merged by addition (weight totals, weighted
 * histograms, class moments), so the unmasked sum of the sites' parts is exactly the
 * merge the plain round makes; the coordinator never sees one site's figures.
 */
import { z } from 'zod';
import { HIST_BINS, type HealthSums, type ReadingSums } from '../data/debias-health.ts';
import type { PatternLabelCounts } from '../data/patterns.ts';
import type { SecAggConfig } from './config.ts';
import { SecAggRefusal } from './errors.ts';
import type { PartSpec } from './layout.ts';

/**
 * Bounds of one site's sums as multiples of maxExamples (larger sums are clipped and the
 * site logs it). Weights are normalised to mean 1 and scores lie in [0, 1], so their sums
 * are at most n; Σw² allows a mean squared weight of MAX_MEAN_SQUARED_WEIGHT (an effective
 * sample size down to 1%); readings are standardised, allowed a mean |v| of READING_BOUND.
 */
export const MAX_MEAN_SQUARED_WEIGHT = 100;
export const READING_BOUND = 10;
/** The task's lists are the coordinator's; capped so a task cannot ask for a huge vector. */
const MAX_READINGS = 64;
const MAX_PATTERNS = 4096;

/** What the fit task names, so both sides build one layout: the flagged readings and the published prior's patterns. */
export const secureDebiasSchema = z
  .object({
    readings: z.array(z.string().min(1).max(256)).max(MAX_READINGS),
    patterns: z.array(z.string().max(1024)).max(MAX_PATTERNS),
  })
  .strict();
export type SecureDebias = z.output<typeof secureDebiasSchema>;

/** Moment k of debias-health.ts's [n, Σs, Σv, Σs², Σv², Σsv] goes to part k; its bound per unit of maxExamples. */
const MOMENT_PARTS = [
  { name: 'health.momentN', kind: 'count', per: 1 },
  { name: 'health.momentS', kind: 'real', per: 1 },
  { name: 'health.momentV', kind: 'real', per: READING_BOUND },
  { name: 'health.momentSS', kind: 'real', per: 1 },
  { name: 'health.momentVV', kind: 'real', per: READING_BOUND ** 2 },
  { name: 'health.momentSV', kind: 'real', per: READING_BOUND },
] as const satisfies readonly { name: string; kind: 'real' | 'count'; per: number }[];
const SCALARS = [
  { name: 'health.n', kind: 'count', per: 1 },
  { name: 'health.sumW', kind: 'real', per: 1 },
  { name: 'health.sumW2', kind: 'real', per: MAX_MEAN_SQUARED_WEIGHT },
  { name: 'health.upW', kind: 'real', per: 1 },
] as const;

/** The parts secureFitLayout adds for a debiased round: per reading and class, HIST_BINS bins and each moment. */
export function debiasPartSpecs(d: SecureDebias, c: Pick<SecAggConfig, 'maxExamples'>): PartSpec[] {
  const r = d.readings.length;
  return [
    ...SCALARS.map((s) => ({ name: s.name, length: 1, kind: s.kind, bound: s.per * c.maxExamples })),
    { name: 'health.hist', length: r * 2 * HIST_BINS, kind: 'real', bound: c.maxExamples },
    ...MOMENT_PARTS.map((m) => ({ name: m.name, length: r * 2, kind: m.kind, bound: m.per * c.maxExamples })),
    { name: 'patternCounts', length: d.patterns.length * 2, kind: 'count', bound: c.maxExamples },
  ];
}

/**
 * A site's values for those parts. No health sums (no training rows) add zeros; readings
 * other than the task's are refused. Counts of patterns outside the published prior are
 * left out, as the DP counts are: a new pattern's name would reveal the site that has it.
 */
export function debiasPartValues(d: SecureDebias, health: HealthSums | undefined, counts: PatternLabelCounts): Record<string, number[]> {
  const r = d.readings.length;
  if (health && (health.readings.length !== r || health.readings.some((x, k) => x.feature !== d.readings[k]))) {
    throw new SecAggRefusal(`the task's readings [${d.readings.join(', ')}] are not this site's [${health.readings.map((x) => x.feature).join(', ')}]`, 'malformed');
  }
  const out: Record<string, number[]> = {
    'health.n': [health?.n ?? 0],
    'health.sumW': [health?.sumW ?? 0],
    'health.sumW2': [health?.sumW2 ?? 0],
    'health.upW': [health?.upW ?? 0],
    'health.hist': new Array<number>(r * 2 * HIST_BINS).fill(0),
  };
  for (const m of MOMENT_PARTS) out[m.name] = new Array<number>(r * 2).fill(0);
  health?.readings.forEach((x, k) => {
    for (const c of [0, 1] as const) {
      x.hist[c].forEach((v, b) => (out['health.hist']![(k * 2 + c) * HIST_BINS + b] = v));
      MOMENT_PARTS.forEach((m, j) => (out[m.name]![k * 2 + c] = x.moments[c][j]!));
    }
  });
  out.patternCounts = d.patterns.flatMap((p) => counts[p] ?? [0, 0]);
  return out;
}

/** The federation's health sums and pattern counts from the decoded sum of the sites' parts. */
export function debiasFromSum(d: SecureDebias, sums: Record<string, Float64Array>): { health: HealthSums; patternCounts: PatternLabelCounts } {
  const one = (name: string) => sums[name]![0]!;
  const hist = sums['health.hist']!;
  const readings: ReadingSums[] = d.readings.map((feature, k) => {
    const bins = (c: number) => Array.from(hist.subarray((k * 2 + c) * HIST_BINS, (k * 2 + c + 1) * HIST_BINS));
    const moments = (c: number) => MOMENT_PARTS.map((m) => sums[m.name]![k * 2 + c]!);
    // The column is the site's encoding detail; the figures use only the feature's name.
    return { feature, column: -1, hist: [bins(0), bins(1)], moments: [moments(0), moments(1)] };
  });
  const counts = sums.patternCounts!;
  const patternCounts: PatternLabelCounts = {};
  d.patterns.forEach((p, i) => {
    if (counts[2 * i]! + counts[2 * i + 1]! > 0) patternCounts[p] = [counts[2 * i]!, counts[2 * i + 1]!];
  });
  return { health: { n: one('health.n'), sumW: one('health.sumW'), sumW2: one('health.sumW2'), upW: one('health.upW'), readings }, patternCounts };
}


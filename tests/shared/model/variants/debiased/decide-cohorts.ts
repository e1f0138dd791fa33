import type { EncodedData } from '../../../../../shared/data/encode.ts';
import type { FeatureSpace } from '../../../../../shared/data/feature-space.ts';
import { Rng } from '../../../../../shared/rng.ts';

// Cohorts the `auto` decision is tested on: each builds encoded rows and their feature space.

/**
 * labs: a1, a2 and exam: b1 track a latent severity s (which drives y); reading: r and
 * device: flag (categorical, one-hot '0'/'1') are either label-only (planted) or track
 * s too; rare: q is label-only but observed in only 25 rows.
 */
export function cohort(planted: boolean, n: number, seed: number): { data: EncodedData; space: FeatureSpace } {
  const space: FeatureSpace = { modalities: [], columns: [] };
  const mod = (name: string, cols: [string, string?][]) => {
    const start = space.columns.length;
    for (const [feature, category] of cols)
      space.columns.push({ feature, featureIndex: 0, kind: category ? 'category' : 'numeric', category, mean: 0, std: 1 });
    space.modalities.push({ name, start, end: space.columns.length });
  };
  mod('labs', [['a1'], ['a2']]);
  mod('exam', [['b1']]);
  mod('reading', [['r']]);
  mod('device', [['flag', '0'], ['flag', '1']]);
  mod('rare', [['q']]);
  const dim = space.columns.length;
  const rng = new Rng(seed);
  const x = new Float32Array(n * dim);
  const observed = new Float32Array(n * dim);
  const y = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const s = rng.normal();
    const yi = s + 0.6 * rng.normal() > 0 ? 1 : 0;
    y[i] = yi;
    const set = (j: number, v: number) => ((x[i * dim + j] = v), (observed[i * dim + j] = 1));
    set(0, s + 0.7 * rng.normal());
    set(1, s + 0.7 * rng.normal());
    if (rng.next() < 0.7) set(2, s + 0.7 * rng.normal());
    set(3, planted ? 1.4 * yi + rng.normal() : s + 0.7 * rng.normal());
    const on = planted ? rng.next() < (yi ? 0.85 : 0.15) : s + 0.7 * rng.normal() > 0;
    set(4, on ? 0 : 1);
    set(5, on ? 1 : 0);
    if (i < 25) set(6, 2 * yi + 0.3 * rng.normal());
  }
  return { data: { n, dim, x, observed, present: new Float32Array(n * 6), y, patterns: new Array(n).fill('111111') }, space };
}

/** Features caused by the outcome alone: each depends on y, none on the others within a class. */
export function labelDriven(n: number, seed: number): { data: EncodedData; space: FeatureSpace } {
  return numericCohort([['labs', 'x0'], ['exam', 'x1'], ['imaging', 'x2']], n, seed, (rng) => {
    const y = rng.next() < 0.5 ? 1 : 0;
    return [y, [0, 1, 2].map((j) => (j + 1) * 0.4 * (2 * y - 1) + rng.normal())];
  });
}

/** A feature space of numeric columns from (modality, feature) names: consecutive names of one modality share it. */
function numericSpace(names: [string, string][]): FeatureSpace {
  const space: FeatureSpace = { modalities: [], columns: [] };
  for (const [name, feature] of names) {
    const last = space.modalities.at(-1);
    if (last?.name === name) last.end++;
    else space.modalities.push({ name, start: space.columns.length, end: space.columns.length + 1 });
    space.columns.push({ feature, featureIndex: 0, kind: 'numeric', mean: 0, std: 1 });
  }
  return space;
}

/** Fully observed rows of single-column modalities: `draw` gives one row's label and values, in column order. */
export function numericCohort(names: [string, string][], n: number, seed: number, draw: (rng: Rng) => [number, number[]]): { data: EncodedData; space: FeatureSpace } {
  const space = numericSpace(names);
  const dim = space.columns.length;
  const rng = new Rng(seed);
  const x = new Float32Array(n * dim);
  const y = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const [label, row] = draw(rng);
    y[i] = label;
    row.forEach((v, j) => (x[i * dim + j] = v));
  }
  const all = (k: number) => new Float32Array(k).fill(1);
  return { data: { n, dim, x, observed: all(n * dim), present: all(n * dim), y, patterns: new Array(n).fill('1'.repeat(dim)) }, space };
}

/**
 * Three hospitals whose devices are calibrated differently: labs and exam read `offset`
 * higher, the reading r 0.6 x `offset` lower, at each site; with `shortcut`, r tracks the
 * label alone (same device everywhere). Otherwise every feature tracks the severity s within
 * each site, and only the pooled moments see r move against the others.
 */
export function calibratedSite(offset: number, n: number, seed: number, shortcut = false): { data: EncodedData; space: FeatureSpace } {
  return numericCohort([['labs', 'a1'], ['labs2', 'a2'], ['exam', 'b1'], ['reading', 'r']], n, seed, (rng) => {
    const s = rng.normal();
    const y = s + 0.6 * rng.normal() > 0 ? 1 : 0;
    const labs = [0, 1, 2].map(() => s + 0.7 * rng.normal() + offset);
    return [y, [...labs, shortcut ? 2 * y - 1 + 1.2 * rng.normal() : s + 1.2 * rng.normal() - 0.6 * offset]];
  });
}

/**
 * Three hospitals with different case mixes (prevalence 0.5 + 0.3 x `shift`, the same
 * severity within each class everywhere) whose lab device reads 2 x `shift` higher where
 * more patients are sick; within each hospital the lab barely tracks severity. With
 * `shortcut`, the lab is replaced by a reading tied to the label at every site.
 */
export function prevalenceSite(shift: number, n: number, seed: number, shortcut = false, loading = 0.1): { data: EncodedData; space: FeatureSpace } {
  return numericCohort([['labs', 'a1'], ['exam', 'b1'], ['device', 'l']], n, seed, (rng) => {
    const y = rng.next() < 0.5 + 0.3 * shift ? 1 : 0;
    const s = 0.6 * (2 * y - 1) + rng.normal();
    return [y, [s + 0.7 * rng.normal(), s + 0.7 * rng.normal(), shortcut ? 2 * y - 1 + 1.2 * rng.normal() : loading * s + rng.normal() + 2 * shift]];
  });
}

/**
 * An outcome close to a threshold of severity (log-odds 6 x s, half the rows positive) and
 * noisy real labs (noise sd 2): each class holds a narrow slice of severity, so the labs'
 * within-class correlations are small beside their label correlations, as a label-only
 * reading's are. r is such a reading, planted.
 */
export function thresholdCohort(n: number, seed: number): { data: EncodedData; space: FeatureSpace } {
  const names: [string, string][] = [['labs', 'lab1'], ['labs2', 'lab2'], ['vitals', 'vital1'], ['vitals2', 'vital2'], ['inflammation', 'crp'], ['imaging', 'r']];
  return numericCohort(names, n, seed, (rng) => {
    const s = rng.normal();
    const y = rng.next() < 1 / (1 + Math.exp(-6 * s)) ? 1 : 0;
    return [y, [s + 2 * rng.normal(), 0.7 * s + 2 * rng.normal(), s + 2 * rng.normal(), 0.7 * s + 2 * rng.normal(), 0.25 * s + rng.normal(), 2 * y - 1 + rng.normal()]];
  });
}

/** Severity markers a1, a2, b1; a planted reading r and, in another modality, r2: r again (copy), r in four bands (band), or nothing. */
export function copiedShortcut(kind: 'copy' | 'band', n: number, seed: number): { data: EncodedData; space: FeatureSpace } {
  const names: [string, string][] = [['labs', 'a1'], ['labs2', 'a2'], ['exam', 'b1'], ['reading', 'r'], ['triage', 'r2']];
  return numericCohort(names, n, seed, (rng) => {
    const s = rng.normal();
    const y = s + 0.6 * rng.normal() > 0 ? 1 : 0;
    const r = 2 * y - 1 + 1.2 * rng.normal();
    return [y, [s + 0.7 * rng.normal(), s + 0.7 * rng.normal(), s + 0.7 * rng.normal(), r, kind === 'copy' ? r : Math.max(0, Math.min(3, Math.floor(r + 2)))]];
  });
}

/**
 * Severity markers a1, a2 (labs) and b1 (exam), and a categorical `unit` of `units` values
 * (24 by default) in one-hot columns: with `shortcut`, half of them (the "sick" units) take
 * 85% of the positives and 15% of the negatives whatever the severity (each value alone weakly tied to the label, the grouping
 * strongly); otherwise the unit is a severity band (its values sorted by s, names shuffled): a
 * real marker spread over many values.
 */
export function manyValuedCategory(shortcut: boolean, n: number, seed: number, units = 24): { data: EncodedData; space: FeatureSpace } {
  const space: FeatureSpace = { modalities: [], columns: [] };
  [['labs', 'a1'], ['labs2', 'a2'], ['exam', 'b1']].forEach(([name, feature], k) => {
    space.modalities.push({ name: name!, start: k, end: k + 1 });
    space.columns.push({ feature: feature!, featureIndex: k, kind: 'numeric', mean: 0, std: 1 });
  });
  space.modalities.push({ name: 'admin', start: 3, end: 3 + units });
  for (let u = 0; u < units; u++) space.columns.push({ feature: 'unit', featureIndex: 3, kind: 'category', category: `U${u}`, mean: 0, std: 1 });
  const dim = space.columns.length;
  const rng = new Rng(seed);
  const shuffled = Array.from({ length: units }, (_, u) => u).sort(() => rng.next() - 0.5);
  const x = new Float32Array(n * dim);
  const y = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const s = rng.normal();
    y[i] = s + 0.6 * rng.normal() > 0 ? 1 : 0;
    [s + 0.7 * rng.normal(), s + 0.7 * rng.normal(), s + 0.7 * rng.normal()].forEach((v, j) => (x[i * dim + j] = v));
    const sick = rng.next() < (y[i] ? 0.85 : 0.15);
    const band = Math.max(0, Math.min(units - 1, Math.floor(((s + 0.7 * rng.normal() + 2.5) / 5) * units)));
    const unit = shortcut ? (sick ? 0 : units / 2) + rng.int(units / 2) : shuffled[band]!;
    x[i * dim + 3 + unit] = 1;
  }
  const all = (k: number) => new Float32Array(k).fill(1);
  return { data: { n, dim, x, observed: all(n * dim), present: all(n * 4), y, patterns: new Array(n).fill('1111') }, space };
}

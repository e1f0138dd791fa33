/**
 * Turns a synthetic cohort into the files the rest of fedcausal reads:
 * DIR/<site>.csv (header row, missing = NA), DIR/schema.json (INTERFACES.md format)
 * and DIR/truth.json (which features are causal, which spurious, which site is
 * held out, and every knob). Everything but writeCohort is pure and in memory.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  LABEL_COLUMN,
  categoricalFeatures,
  causalFeatures,
  generateSites,
  spuriousFeatures,
  synthModalities,
  type SiteEffects,
  type SynthSite,
  type Value,
} from './scm.ts';
import { SYNTH_KNOBS, type KnobValue, type SynthOptions } from './options.ts';

/** The token written for a missing value; schema.missingValues also accepts "". */
export const MISSING_TOKEN = 'NA';

export interface SynthSchema {
  label: { column: string; threshold: number };
  modalities: Record<string, string[]>;
  categorical: string[];
  missingValues: string[];
}

/**
 * Which member of the cohort family: features driven by a latent severity (the
 * default), or by the outcome alone (--label-driven true).
 */
export type SynthMode = 'latent-severity' | 'label-driven';

export interface SynthTruth {
  /** Features whose link to y is the same at every site (with --label-driven, the readings too). */
  causalFeatures: string[];
  /** Shortcuts whose link to y breaks at the held-out site (empty with --label-driven). */
  spuriousFeatures: string[];
  heldOutSite: string;
  trainSites: string[];
  mode: SynthMode;
  /** Every knob's value, keyed by flag name (so a run can be reproduced from it). */
  knobs: Record<string, KnobValue>;
  /** The fixed per-site effects the knobs produced, for reading results. */
  siteEffects: Record<string, SiteEffects>;
}

export interface SynthCohort {
  options: SynthOptions;
  sites: SynthSite[];
  schema: SynthSchema;
  truth: SynthTruth;
}

/** schema.json: columns come from each CSV's header, so "columns" is omitted. */
export function synthSchema(options: SynthOptions): SynthSchema {
  return {
    label: { column: LABEL_COLUMN, threshold: 0 },
    modalities: synthModalities(options),
    categorical: categoricalFeatures(options),
    missingValues: ['', MISSING_TOKEN],
  };
}

export function synthTruth(options: SynthOptions, sites: readonly SynthSite[]): SynthTruth {
  const heldOut = sites.find((s) => s.heldOut);
  if (!heldOut) throw new Error('synthetic cohort has no held-out site');
  return {
    causalFeatures: causalFeatures(options),
    spuriousFeatures: spuriousFeatures(options),
    heldOutSite: heldOut.name,
    trainSites: sites.filter((s) => !s.heldOut).map((s) => s.name),
    mode: options.labelDriven ? 'label-driven' : 'latent-severity',
    knobs: Object.fromEntries(SYNTH_KNOBS.map((k) => [k.flag, options[k.key]])),
    siteEffects: Object.fromEntries(sites.map((s) => [s.name, s.effects])),
  };
}

/** The whole cohort in memory (rows with their latent severity, schema, truth): no files. */
export function synthesizeCohort(options: SynthOptions): SynthCohort {
  const sites = generateSites(options);
  return { options, sites, schema: synthSchema(options), truth: synthTruth(options, sites) };
}

function formatValue(v: Value): string {
  if (v === null) return MISSING_TOKEN;
  if (typeof v === 'string') return v;
  const t = v.toFixed(3);
  return t === '-0.000' ? '0.000' : t; // no "-0.000" noise in the files
}

/** One site's CSV text: header row, then one line per patient, "\n" line ends. */
export function siteCsv(site: SynthSite): string {
  const lines = [[...site.features, LABEL_COLUMN].join(',')];
  for (const row of site.rows) lines.push([...row.values.map(formatValue), String(row.y)].join(','));
  return lines.join('\n') + '\n';
}

/** File name -> text for every file `synth` writes, in a fixed order. */
export function renderCohortFiles(cohort: SynthCohort): Map<string, string> {
  const files = new Map<string, string>();
  for (const site of cohort.sites) files.set(`${site.name}.csv`, siteCsv(site));
  files.set('schema.json', JSON.stringify(cohort.schema, null, 2) + '\n');
  files.set('truth.json', JSON.stringify(cohort.truth, null, 2) + '\n');
  return files;
}

/** Generates the cohort and writes its files into `dir` (created if needed). Returns the paths written. */
export async function writeCohort(dir: string, options: SynthOptions): Promise<{ cohort: SynthCohort; paths: string[] }> {
  const cohort = synthesizeCohort(options);
  await mkdir(dir, { recursive: true });
  const paths: string[] = [];
  for (const [name, text] of renderCohortFiles(cohort)) {
    const path = join(dir, name);
    await writeFile(path, text);
    paths.push(path);
  }
  return { cohort, paths };
}

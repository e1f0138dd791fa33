/**
 * Turns a synthetic cohort into the files the rest of fedcausal reads:
 * DIR/<site>.csv (header row, missing = NA), DIR/schema.json (INTERFACES.md format)
 * and DIR/truth.json (which features are causal, which spurious, which site is
 * held out, and every knob). Everything but writeCohort is pure and in memory.
 */
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
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
import { prepareOutputDir } from '../output-path.ts';

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

/**
 * The files a cohort written earlier into `dir` left that this one will not overwrite
 * (a previous run with more sites): read from its truth.json, so nothing else is touched.
 */
export function staleCohortFiles(dir: string, next: ReadonlyMap<string, string>): string[] {
  const truthFile = join(dir, 'truth.json');
  if (!existsSync(truthFile)) return [];
  let old: Partial<SynthTruth>;
  try {
    old = JSON.parse(readFileSync(truthFile, 'utf8')) as Partial<SynthTruth>;
  } catch {
    return [];
  }
  const names = [...(Array.isArray(old.trainSites) ? old.trainSites : []), ...(typeof old.heldOutSite === 'string' ? [old.heldOutSite] : [])];
  // Only plain site names: a hand-edited truth.json must not steer a delete outside `dir`.
  return names
    .filter((n) => typeof n === 'string' && /^[\w.-]+$/.test(n) && !next.has(`${n}.csv`) && existsSync(join(dir, `${n}.csv`)))
    .map((n) => join(dir, `${n}.csv`));
}

/**
 * Generates the cohort and writes its files into `dir` (created if needed), removing the
 * site files of a larger cohort written there before. Returns the paths written and removed.
 */
export async function writeCohort(dir: string, options: SynthOptions): Promise<{ cohort: SynthCohort; paths: string[]; removed: string[] }> {
  prepareOutputDir(dir, 'cohort folder');
  const cohort = synthesizeCohort(options);
  const files = renderCohortFiles(cohort);
  const removed = staleCohortFiles(dir, files);
  for (const f of removed) rmSync(f);
  const paths: string[] = [];
  for (const [name, text] of files) {
    const path = join(dir, name);
    await writeFile(path, text);
    paths.push(path);
  }
  return { cohort, paths, removed };
}

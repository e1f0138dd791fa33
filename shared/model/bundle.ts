/**
 * The trained model as one file a hospital keeps and scores new patients with (`fedcausal
 * predict`): the federation's final weights with everything the scores depend on, the
 * schema the rows are read with, the agreed encoding (feature space), the model section
 * with its debiasing decision, the pattern prior the backdoor adjustment sums over, and,
 * from a site, that site's own recalibration. Before it, a run ended with a raw float32
 * file at the coordinator and nothing at the sites: nobody could score a patient with it.
 *
 * The weights travel as base64 float32 (little-endian); the file carries the SHA-256 of its
 * whole content (canonical JSON, less that field), so a copy cut short, damaged or edited
 * anywhere (a weight, a recalibration, a column's scale) is refused, never scored. It is a
 * check against accidents: whoever can write the file can write a new checksum.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { InputError } from '../errors.ts';
import { compileSchema, schemaFileJson, type Schema } from '../data/schema.ts';
import type { FeatureSpace } from '../data/feature-space.ts';
import type { PatternPrior } from '../data/patterns.ts';
import { validateOutcomeBalance, type OutcomeBalance } from '../data/outcome-balance.ts';
import { FeatureSpaceSchema, ModelSpecSchema, PatternPriorSchema, type ModelSpecMsg } from '../protocol/task-meta.ts';
import { describeIssues } from '../protocol/check.ts';
import { readInputFile } from '../input-file.ts';
import { canonicalJson } from '../canonical-json.ts';
import { MAX_SHIFT, MAX_SLOPE } from '../metrics/site-calibration.ts';
import { FEDCAUSAL_BUILD_VERSION } from '../version.ts';

export const BUNDLE_FORMAT = 'fedcausal-model';
/** Scoring names a value this many of the federation's SDs from its training mean (a unit or column mix-up, a typo). */
export const FAR_SDS = 6;
/** A site's modelDir when site.yaml names none: beside site.yaml. */
export const DEFAULT_MODEL_DIR = 'models';
/** Raised when the file's layout changes; a reader refuses a newer one rather than misread it. */
export const BUNDLE_FORMAT_VERSION = 1;

/** A site's Platt recalibration of the model's scores (shared/metrics/site-calibration.ts). */
export interface BundleCalibration {
  a: number;
  b: number;
  /** Training rows it was fitted on. */
  rows: number;
  /** Of them, positive (absent from older files): a fit on a handful of one class says little. */
  positives?: number;
  /** How it did on the site's held-out rows, which it was not fitted on: ECE of the score before and after (absent from older files). */
  heldOut?: { rows: number; eceBefore: number; eceAfter: number; positives?: number };
}

export interface ModelBundle {
  federation: string;
  /** The site that saved it; absent for the coordinator's copy. */
  site?: string;
  /** The final evaluation's round: the model after round - 1 training rounds. */
  round: number;
  /** fedcausal's build that trained it. */
  software: string;
  createdAt: string;
  schema: Schema;
  model: ModelSpecMsg;
  featureSpace: FeatureSpace;
  prior: PatternPrior;
  balance?: OutcomeBalance;
  temper: number;
  calibration?: BundleCalibration;
  weights: Float32Array;
}

const finite = z.number().refine(Number.isFinite, 'expected a finite number');
const positive = finite.refine((v) => v > 0, 'expected a number above 0');

const BundleFileSchema = z.object({
  format: z.literal(BUNDLE_FORMAT),
  formatVersion: z.number().int().min(1),
  federation: z.string(),
  site: z.string().optional(),
  round: z.number().int().nonnegative(),
  software: z.string(),
  createdAt: z.string(),
  schema: z.unknown(),
  model: ModelSpecSchema,
  // A column's scale divides its values: 0 or a negative would score every patient alike, or reversed.
  featureSpace: FeatureSpaceSchema.extend({ columns: z.array(FeatureSpaceSchema.shape.columns.element.extend({ mean: finite, std: positive })) }),
  prior: PatternPriorSchema,
  balance: z.unknown().optional(),
  temper: finite,
  // A recalibration never reverses the ranking (site-calibration.ts bounds its fit the same way).
  calibration: z
    .object({
      a: finite.refine((a) => a >= 0 && a <= MAX_SLOPE, `expected a slope in [0, ${MAX_SLOPE}]`),
      b: finite.refine((b) => Math.abs(b) <= MAX_SHIFT, `expected an intercept in [-${MAX_SHIFT}, ${MAX_SHIFT}]`),
      rows: z.number().int().nonnegative(),
      positives: z.number().int().nonnegative().optional(),
      heldOut: z
        .object({ rows: z.number().int().nonnegative(), eceBefore: z.number().min(0).max(1), eceAfter: z.number().min(0).max(1), positives: z.number().int().nonnegative().optional() })
        .optional(),
    })
    .optional(),
  weights: z.object({ count: z.number().int().nonnegative(), base64: z.string() }),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
});

/** The checksum of a model file's content: its canonical JSON without the checksum itself. */
function contentSha256(file: Record<string, unknown>): string {
  const { sha256: _, ...content } = file;
  return createHash('sha256').update(canonicalJson(content)).digest('hex');
}

function weightBytes(w: Float32Array): Uint8Array {
  // Float32Array's bytes are the platform's order; every platform Node runs on is little-endian.
  return new Uint8Array(w.buffer, w.byteOffset, w.byteLength);
}

/** SHA-256 of a model's weights (float32, canonical order): results.json's `modelSha256`, and what predict prints to match a model file to its run. */
export function weightsSha256(w: Float32Array): string {
  return createHash('sha256').update(weightBytes(w)).digest('hex');
}

/** What a saver knows; the build and the time are filled in when it is written. */
export type BundleInput = Omit<ModelBundle, 'software' | 'createdAt'> & Partial<Pick<ModelBundle, 'software' | 'createdAt'>>;

/** The bundle as the file's text (JSON). */
export function bundleText(b: BundleInput): string {
  const bytes = weightBytes(b.weights);
  const content = {
    format: BUNDLE_FORMAT,
    formatVersion: BUNDLE_FORMAT_VERSION,
    federation: b.federation,
    ...(b.site === undefined ? {} : { site: b.site }),
    round: b.round,
    software: b.software ?? FEDCAUSAL_BUILD_VERSION,
    createdAt: b.createdAt ?? new Date().toISOString(),
    schema: schemaFileJson(b.schema),
    model: b.model,
    featureSpace: b.featureSpace,
    prior: b.prior,
    ...(b.balance ? { balance: b.balance } : {}),
    temper: b.temper,
    ...(b.calibration ? { calibration: b.calibration } : {}),
    weights: { count: b.weights.length, base64: Buffer.from(bytes).toString('base64') },
  };
  return JSON.stringify({ ...content, sha256: contentSha256(content) }) + '\n';
}

/** Reads and checks a model file; anything wrong is bad input (exit 2) naming the file and what. */
export function parseModelBundle(text: string, file: string): ModelBundle {
  const bad = (why: string): never => {
    throw new InputError(`${file}: ${why}`);
  };
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    return bad(`not a fedcausal model file: it is not valid JSON (${(e as Error).message}); was it cut short in a copy?`);
  }
  const format = (raw as { format?: unknown } | null)?.format;
  if (format !== BUNDLE_FORMAT)
    return bad(`not a fedcausal model file (its "format" is ${format === undefined ? 'absent' : JSON.stringify(format)}, not "${BUNDLE_FORMAT}"): give the .model.json a site saves at the end of a federation, or the coordinator's run folder's model.json`);
  const version = (raw as { formatVersion?: unknown }).formatVersion;
  if (typeof version === 'number' && version > BUNDLE_FORMAT_VERSION)
    return bad(`model file format ${version} is newer than this fedcausal reads (${BUNDLE_FORMAT_VERSION}; it was saved by ${String((raw as { software?: unknown }).software)}): upgrade fedcausal to score with it`);
  const parsed = BundleFileSchema.safeParse(raw);
  if (!parsed.success) return bad(`model file is malformed: ${describeIssues(parsed.error)}`);
  const f = parsed.data;
  if (contentSha256(raw as Record<string, unknown>) !== f.sha256)
    return bad('the model file does not match its checksum: it was changed or damaged after it was saved; use the copy its site or the coordinator saved');
  const bytes = Buffer.from(f.weights.base64, 'base64');
  if (bytes.length !== f.weights.count * 4) return bad(`the model holds ${bytes.length} bytes of weights for ${f.weights.count} weights`);
  const weights = new Float32Array(f.weights.count);
  new Uint8Array(weights.buffer).set(bytes);
  if (weights.some((v) => !Number.isFinite(v))) return bad('the model holds a non-finite weight');
  const schema = onField(file, 'schema', () => compileSchema(inModalityOrder(f.schema, f.featureSpace.modalities.map((m) => m.name)), `${file}: schema`));
  const balance = f.balance === undefined ? undefined : onField(file, 'balance', () => validateOutcomeBalance(f.balance, `${file}: balance`));
  return {
    federation: f.federation,
    ...(f.site === undefined ? {} : { site: f.site }),
    round: f.round,
    software: f.software,
    createdAt: f.createdAt,
    schema,
    model: f.model,
    featureSpace: f.featureSpace,
    prior: f.prior,
    ...(balance ? { balance } : {}),
    temper: f.temper,
    ...(f.calibration ? { calibration: f.calibration } : {}),
    weights,
  };
}

/**
 * The schema with its modalities in the model's order. Their order is meaning (a row's
 * missingness pattern, the encoding), but JSON tools sort keys (`jq -S`), and the checksum,
 * over sorted keys, cannot see it: every patient scored 1 after such a re-save (an outside try).
 * The feature space lists the modalities in order, as an array no tool reorders.
 */
function inModalityOrder(schema: unknown, order: readonly string[]): unknown {
  const modalities = (schema as { modalities?: unknown } | null)?.modalities;
  if (typeof modalities !== 'object' || modalities === null || Array.isArray(modalities)) return schema;
  const names = Object.keys(modalities);
  if (names.length !== order.length || !order.every((n) => Object.hasOwn(modalities, n)))
    throw new InputError(`the schema's modalities (${names.join(', ')}) are not the model's (${order.join(', ')})`);
  return { ...(schema as object), modalities: Object.fromEntries(order.map((n) => [n, (modalities as Record<string, unknown>)[n]])) };
}

/** A nested check's failure (a schema, the balance table) as bad input naming the model file. */
function onField<T>(file: string, field: string, f: () => T): T {
  try {
    return f();
  } catch (e) {
    // One line: a schema's own message may run over several.
    const why = (e as Error).message.replace(/\s*\n\s*/g, '; ');
    throw new InputError(e instanceof InputError && why.startsWith(file) ? why : `${file}: model file's ${field} is malformed: ${why}`);
  }
}

export function loadModelBundle(file: string): ModelBundle {
  return parseModelBundle(readInputFile(file, 'model file'), file);
}

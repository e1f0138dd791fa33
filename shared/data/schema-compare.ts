/**
 * Whether a site's schema is the federation's, and if not, what differs, in words. A site
 * sends its schema (schemaJoinForm) when it joins; the coordinator refuses one that differs,
 * since its rows would be read and labelled otherwise: an outside try changed one hospital's
 * label threshold (another outcome definition) and it trained through a run that ended
 * "complete", its accuracy falling to 0.378 with no word of why.
 *
 * Parts that are sets or maps (categorical, missingValues, missingCodes, categories, ranges)
 * are compared without their order, which means nothing there (a re-try found key order alone
 * refused); `columns` (a file's positions) and `modalities` (the missingness pattern's order)
 * keep theirs. A schema too large to send whole travels as its digest only.
 */
import { createHash } from 'node:crypto';
import { schemaFileJson, type Schema } from './schema.ts';

/** The parts of a schema, as schemaFileJson writes them, each compared on its own. */
const PARTS = ['columns', 'label', 'modalities', 'categorical', 'missingValues', 'missingCodes', 'categories', 'ranges'] as const;

/** Longest text quoted of either side of a difference. */
const SHOWN_CHARS = 160;

/** Above this, a join carries the schema's digest alone: a join is one gRPC message (about 1 MiB at most). */
export const MAX_JOIN_SCHEMA_BYTES = 256 * 1024;

/** Deepest nesting of a site's schema compared (a schema's is 3); deeper is not a schema (a hostile site's 5,000 levels overflowed the stack). */
const MAX_DEPTH = 6;

function shown(v: unknown): string {
  const t = v === undefined ? 'absent' : JSON.stringify(v);
  return t.length > SHOWN_CHARS ? `${t.slice(0, SHOWN_CHARS - 3)}...` : t;
}

/** How deeply `v` nests, counted no further than `limit` levels (Infinity past them). */
function depth(v: unknown, limit: number): number {
  if (typeof v !== 'object' || v === null) return 0;
  if (limit <= 0) return Infinity;
  let d = 0;
  for (const x of Object.values(v)) d = Math.max(d, depth(x, limit - 1));
  return d + 1;
}

/** Sorted copies of the order-free parts; the rest as given. */
function canonical(part: string, v: unknown): unknown {
  const sortedList = (x: unknown) => (Array.isArray(x) ? (x as unknown[]).map(String).sort() : x);
  const sortedMap = (x: unknown, each: (y: unknown) => unknown) =>
    typeof x === 'object' && x !== null && !Array.isArray(x)
      ? Object.fromEntries(Object.entries(x).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([k, y]) => [k, each(y)]))
      : x;
  switch (part) {
    case 'categorical':
    case 'missingValues':
      return sortedList(v);
    case 'missingCodes':
    case 'categories':
      return sortedMap(v, sortedList);
    case 'ranges':
      return sortedMap(v, (y) => y);
    case 'label':
      // A label's tokens or values are sets too.
      return sortedMap(v, sortedList);
    default:
      return v;
  }
}

/** The schema as a site sends it when it joins: whole where small, else its digest alone. */
export function schemaJoinForm(schema: Schema): { schema: unknown } | { schemaDigest: string } {
  const whole = schemaFileJson(schema);
  return JSON.stringify(whole).length <= MAX_JOIN_SCHEMA_BYTES ? { schema: whole } : { schemaDigest: schemaDigest(whole) };
}

/** A digest of a schema's canonical form: equal for schemas equal in meaning. */
export function schemaDigest(json: unknown): string {
  const o = json as Record<string, unknown>;
  const canon = Object.fromEntries(PARTS.map((p) => [p, canonical(p, o[p]) ?? null]));
  return createHash('sha256').update(JSON.stringify(canon)).digest('hex');
}

/** The modalities' difference by feature where both are mappings: which features moved, came or went, or only their order. */
function modalityDifference(site: unknown, ours: Record<string, string[]>): string | undefined {
  if (typeof site !== 'object' || site === null || Array.isArray(site)) return undefined;
  const where = (m: Record<string, unknown>) =>
    new Map(Object.entries(m).flatMap(([mod, fs]) => (Array.isArray(fs) ? fs.map((f) => [String(f), mod] as const) : [])));
  const a = where(site as Record<string, unknown>);
  const b = where(ours);
  const notes = [
    ...[...a].filter(([f]) => !b.has(f)).map(([f, m]) => `${f} (in ${m}) is not the federation's`),
    ...[...b].filter(([f]) => !a.has(f)).map(([f, m]) => `${f} (${m}) is missing`),
    ...[...a].filter(([f, m]) => b.has(f) && b.get(f) !== m).map(([f, m]) => `${f} is in ${m}, the federation's in ${b.get(f)}`),
  ];
  if (notes.length) return notes.slice(0, 6).join('; ') + (notes.length > 6 ? `; and ${notes.length - 6} more` : '');
  // The same features in the same modalities: only an order differs, which sets the missingness pattern's (or the columns') order.
  const siteOrder = Object.keys(site);
  const ourOrder = Object.keys(ours);
  if (siteOrder.join() !== ourOrder.join()) return `the same modalities in another order (the site's ${siteOrder.join(', ')}; the federation's ${ourOrder.join(', ')})`;
  const reordered = ourOrder.filter((m) => JSON.stringify((site as Record<string, unknown>)[m]) !== JSON.stringify(ours[m]));
  return reordered.length ? `the same features in another order within ${reordered.join(', ')}` : undefined;
}

/**
 * What differs between a site's schema (as it sent it, schemaJoinForm) and the federation's,
 * part by part; undefined where they are the same in meaning. `site` is untrusted: anything
 * that is not a schema's JSON is said to be unreadable rather than compared.
 */
export function schemaDifference(site: unknown, federation: Schema): string | undefined {
  if (typeof site !== 'object' || site === null || Array.isArray(site) || depth(site, MAX_DEPTH) > MAX_DEPTH) return "the site's schema is not readable";
  const s = site as Record<string, unknown>;
  const ours = schemaFileJson(federation) as Record<string, unknown>;
  const diffs: string[] = [];
  for (const part of PARTS) {
    if (JSON.stringify(canonical(part, s[part])) === JSON.stringify(canonical(part, ours[part]))) continue;
    const byFeature = part === 'modalities' ? modalityDifference(s[part], ours[part] as Record<string, string[]>) : undefined;
    diffs.push(`${part}: ${byFeature ?? `the site's ${shown(s[part])}, the federation's ${shown(ours[part])}`}`);
  }
  const unknown = Object.keys(s).filter((k) => !(PARTS as readonly string[]).includes(k));
  if (unknown.length) diffs.push(`the site's schema has parts this coordinator does not know: ${unknown.slice(0, 5).map((k) => shown(k)).join(', ')}`);
  return diffs.length ? diffs.join('; ') : undefined;
}

/** The same, for a site that sent its schema's digest alone (a large schema): whether it differs, not where. */
export function digestDifference(digest: unknown, federation: Schema): string | undefined {
  const ours = schemaDigest(schemaFileJson(federation));
  if (typeof digest === 'string' && digest === ours) return undefined;
  return `its schema's digest ${typeof digest === 'string' ? digest.slice(0, 12) : '(unreadable)'} is not the federation's ${ours.slice(0, 12)} (the schema is too large to send whole, so where they differ is not said)`;
}

/**
 * Whether a site's schema is the federation's, and if not, what differs, in words. A site
 * sends its schema (schemaToJson) when it joins; the coordinator refuses one that differs,
 * since its rows would be read and labelled otherwise: an outside try changed one hospital's
 * label threshold (another outcome definition) and it trained through a run that ended
 * "complete", its accuracy falling to 0.378 with no word of why.
 */
import { schemaToJson, type Schema } from './schema.ts';

/** The parts of a schema, as schemaToJson writes them, each compared on its own. */
const PARTS = ['columns', 'label', 'modalities', 'categorical', 'missingValues', 'missingCodes', 'categories', 'ranges'] as const;

/** Longest text quoted of either side of a difference. */
const SHOWN_CHARS = 160;

function shown(v: unknown): string {
  const t = v === undefined ? 'absent' : JSON.stringify(v);
  return t.length > SHOWN_CHARS ? `${t.slice(0, SHOWN_CHARS - 3)}...` : t;
}

/** The modalities' difference by feature where both are mappings: which features moved, came or went. */
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
  return notes.length ? notes.slice(0, 6).join('; ') + (notes.length > 6 ? `; and ${notes.length - 6} more` : '') : undefined;
}

/**
 * What differs between a site's schema (as it sent it) and the federation's, part by part;
 * undefined where they are the same. `site` is untrusted: anything not a schema's JSON is
 * said to be unreadable rather than compared.
 */
export function schemaDifference(site: unknown, federation: Schema): string | undefined {
  if (typeof site !== 'object' || site === null || Array.isArray(site)) return "the site's schema is not readable";
  const s = site as Record<string, unknown>;
  const ours = schemaToJson(federation) as Record<string, unknown>;
  const diffs: string[] = [];
  for (const part of PARTS) {
    if (JSON.stringify(s[part]) === JSON.stringify(ours[part])) continue;
    // Modalities by feature where one moved, came or went; otherwise (the same features in another order: another column order) both whole.
    const byFeature = part === 'modalities' ? modalityDifference(s[part], ours[part] as Record<string, string[]>) : undefined;
    diffs.push(`${part}: ${byFeature ?? `the site's ${shown(s[part])}, the federation's ${shown(ours[part])}`}`);
  }
  const unknown = Object.keys(s).filter((k) => !(PARTS as readonly string[]).includes(k));
  if (unknown.length) diffs.push(`the site's schema has parts this coordinator does not know: ${unknown.slice(0, 5).join(', ')}`);
  return diffs.length ? diffs.join('; ') : undefined;
}

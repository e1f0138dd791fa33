/**
 * JSON with object keys sorted at every level and no whitespace: the same value always
 * gives the same text, so a signature over it (envelope headers, federation manifests)
 * verifies wherever the value is re-serialised. Undefined members are left out, as
 * JSON.stringify leaves them out.
 */
export function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (typeof v === 'object' && v !== null) {
    const entries = Object.keys(v)
      .sort()
      .filter((k) => (v as Record<string, unknown>)[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${canonicalJson((v as Record<string, unknown>)[k])}`);
    return `{${entries.join(',')}}`;
  }
  return JSON.stringify(v);
}

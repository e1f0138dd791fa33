/**
 * The one message format for bad input: `FILE: field.path: what is wrong (got VALUE)`.
 * Every schema in the product is parsed through `parseInput`, so a user sees the same
 * shape of message for a YAML field, a schema.json entry or a command-line flag.
 */
import type { z } from 'zod';
import { InputError } from '../errors.ts';

/** Where the input came from: `file` names the source, `at` the field path it sits under. */
export interface InputSource {
  file?: string;
  at?: string;
  /** Command-line flags: the field is written `--name`. */
  flags?: boolean;
}

/** `sites[0].name`: dots between fields, brackets around list indices. */
export function fieldPath(path: readonly PropertyKey[]): string {
  return path.reduce<string>((acc, k) => (typeof k === 'number' ? `${acc}[${k}]` : acc ? `${acc}.${String(k)}` : String(k)), '');
}

/** The value as the user wrote it, short enough for one line. */
function shown(v: unknown): string {
  // JSON.stringify gives undefined for undefined, functions and symbols (its type says string).
  const s = typeof v === 'number' && !Number.isFinite(v) ? String(v) : (JSON.stringify(v) as string | undefined);
  return s === undefined ? String(v) : s.length > 80 ? `${s.slice(0, 77)}...` : s;
}

/** The field a path names, as the user wrote it: under `source.at`, `--name` for flags. */
function fieldName(path: readonly PropertyKey[], source: InputSource): string {
  return (source.flags && path.length ? '--' : '') + [source.at, fieldPath(path)].filter((p) => p).join(path.length && typeof path[0] === 'number' ? '' : '.');
}

/** One issue in the shared format; issue messages come from the field builders (fields.ts). */
export function formatIssue(issue: z.core.$ZodIssue, source: InputSource = {}): string {
  const path: PropertyKey[] = [...issue.path];
  let message = issue.message;
  const input = (issue as { input?: unknown }).input;
  if (issue.code === 'unrecognized_keys') path.push(issue.keys[0]!);
  else if (input === undefined) message = 'is required';
  else message += ` (got ${shown(input)})`;
  return [source.file, fieldName(path, source), message].filter((p) => p).join(': ');
}

/** Edit distance (insertions, deletions, substitutions, swaps of neighbours), for the "did you mean" of an unknown field: a few lines, no dependency. */
function editDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++)
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i]![j] = Math.min(d[i]![j]!, d[i - 2]![j - 2]! + 1);
    }
  return d[a.length]![b.length]!;
}

/** The known field an unknown one was most likely meant to be: within a third of its length in edits, or the same but for case and _ or -. */
export function closestField(unknown: string, known: readonly string[]): string | undefined {
  const plain = (t: string) => t.toLowerCase().replace(/[_-]/g, '');
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const k of known) {
    const d = plain(k) === plain(unknown) ? 0 : editDistance(unknown.toLowerCase(), k.toLowerCase());
    if (d < bestDistance) [best, bestDistance] = [k, d];
  }
  // A name of one or two letters is too short to guess from.
  if (unknown.length >= 3 && bestDistance <= Math.max(1, Math.floor(unknown.length / 3))) return best;
  // A cut-short name (--conf for --config) is a guess when only one known name starts with it.
  const starts = unknown.length >= 3 ? known.filter((k) => k.toLowerCase().startsWith(unknown.toLowerCase())) : [];
  return starts.length === 1 ? starts[0] : undefined;
}

/**
 * One section's unknown fields in one line: each named, a "did you mean" where one is close,
 * the known fields once (strict's message, fields.ts: "is not a known field; expected one of: ...").
 */
function unknownFieldsLine(issue: z.core.$ZodIssue & { code: 'unrecognized_keys' }, source: InputSource): string {
  const expected = issue.message.replace(/^is not a known field; /, '');
  const known = /expected one of: (.*)$/.exec(expected)?.[1]?.split(', ') ?? [];
  const one = issue.keys.length === 1;
  const name = (f: string) => (source.flags ? `--${f}` : `"${f}"`);
  const guesses = issue.keys.flatMap((k) => {
    const g = closestField(k, known);
    return !g ? [] : one ? [`did you mean ${name(g)}?`] : [`${name(k)}: did you mean ${name(g)}?`];
  });
  const fields = issue.keys.map((k) => fieldName([...issue.path, k], source)).join(', ');
  const what = `${one ? 'is not a known field' : 'are not known fields'}${guesses.length ? ` (${guesses.join('; ')})` : ''}; ${expected}`;
  return [source.file, fields, what].filter((p) => p).join(': ');
}

/** The most faults one message lists; the rest are counted, so a file full of typos stays readable. */
export const MAX_LISTED_ISSUES = 8;

/**
 * A ZodError as an InputError (exit code 2), one fault a line, so a file with several
 * faults is fixed in one pass: each section's unknown fields first, in one line (a misspelt
 * field also shows up as a missing one, which then follows it), then the rest in the
 * schema's order.
 */
export function inputErrorFrom(error: z.ZodError, source: InputSource = {}): InputError {
  const unknown = error.issues.filter((i) => i.code === 'unrecognized_keys');
  const lines = [
    ...unknown.map((i) => unknownFieldsLine(i, source)),
    ...error.issues.filter((i) => i.code !== 'unrecognized_keys').map((i) => formatIssue(i, source)),
  ];
  return listedError(lines, error);
}

/** Fault lines as one InputError: each once, the first MAX_LISTED_ISSUES listed and the rest counted. */
function listedError(lines: readonly string[], cause: unknown): InputError {
  const faults = lines.filter((line, k) => lines.indexOf(line) === k);
  const more = faults.length - MAX_LISTED_ISSUES;
  const listed = more > 0 ? [...faults.slice(0, MAX_LISTED_ISSUES), `... and ${more} more`] : faults;
  return new InputError(listed.join('\n'), { cause, faults });
}

/**
 * Runs checks of one input that do not depend on each other and throws their faults
 * together, so a file with faults in several sections is fixed in one pass (a later check
 * that needs an earlier one's result still runs after it). Errors other than InputError
 * are thrown as they are.
 */
export function allFaults<T extends readonly unknown[]>(checks: { [K in keyof T]: () => T[K] }): T {
  const results: unknown[] = [];
  const errors: InputError[] = [];
  for (const check of checks as readonly (() => unknown)[]) {
    try {
      results.push(check());
    } catch (e) {
      if (!(e instanceof InputError)) throw e;
      errors.push(e);
    }
  }
  if (errors.length === 1) throw errors[0]!;
  if (errors.length) throw listedError(errors.flatMap((e) => e.faults), errors[0]);
  return results as unknown as T;
}

/** Parses `raw` with `schema`, throwing an InputError in the shared format. */
export function parseInput<S extends z.ZodType>(schema: S, raw: unknown, source: InputSource = {}): z.output<S> {
  const r = schema.safeParse(raw, { reportInput: true });
  if (!r.success) throw inputErrorFrom(r.error, source);
  return r.data;
}

/** A cross-field fault found after parsing, in the same format. */
export function fieldError(source: InputSource, path: string, message: string): InputError {
  return new InputError([source.file, [source.at, path].filter((p) => p).join('.'), message].filter((p) => p).join(': '));
}

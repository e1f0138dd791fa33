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

/** One issue in the shared format; issue messages come from the field builders (fields.ts). */
export function formatIssue(issue: z.core.$ZodIssue, source: InputSource = {}): string {
  const path: PropertyKey[] = [...issue.path];
  let message = issue.message;
  const input = (issue as { input?: unknown }).input;
  if (issue.code === 'unrecognized_keys') path.push(issue.keys[0]!);
  else if (input === undefined) message = 'is required';
  else message += ` (got ${shown(input)})`;
  const field = (source.flags && path.length ? '--' : '') + [source.at, fieldPath(path)].filter((p) => p).join(path.length && typeof path[0] === 'number' ? '' : '.');
  return [source.file, field, message].filter((p) => p).join(': ');
}

/**
 * One issue of a ZodError as an InputError (exit code 2); one fault is fixed at a time.
 * An unknown field comes first: a misspelt field also shows up as a missing one.
 */
export function inputErrorFrom(error: z.ZodError, source: InputSource = {}): InputError {
  const issue = error.issues.find((i) => i.code === 'unrecognized_keys') ?? error.issues[0]!;
  return new InputError(formatIssue(issue, source), { cause: error });
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

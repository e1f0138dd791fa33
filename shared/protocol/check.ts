import type { z } from 'zod';
import { oneLine } from '../text/one-line.ts';
import { ProtocolError } from '../errors.ts';

/** Longest excerpt of what was wrong that a refusal carries: a peer's text is never echoed whole. */
export const MAX_EXCERPT_CHARS = 300;
const MAX_ISSUES = 3;
const MAX_PATH_SEGMENT = 40;

const clip = (s: string, n: number) => (s.length > n ? `${s.slice(0, n - 1)}…` : s);

/** A bounded, single-line account of a failed parse: the first few issues, each with its field path. */
export function describeIssues(error: z.ZodError): string {
  const parts = error.issues.slice(0, MAX_ISSUES).map((issue) => {
    const path = issue.path
      .map((p) => (typeof p === 'number' ? `[${p}]` : `.${clip(String(p), MAX_PATH_SEGMENT)}`))
      .join('')
      .replace(/^\./, '');
    return `${path || '(top level)'}: ${issue.message}`;
  });
  if (error.issues.length > MAX_ISSUES) parts.push(`and ${error.issues.length - MAX_ISSUES} more`);
  // One line (one-line.ts): an excerpt lands in logs and gRPC details.
  return clip(oneLine(parts.join('; ')), MAX_EXCERPT_CHARS);
}

/**
 * Checks a decoded message against its schema before any of it is used; a message
 * that fails is refused like any malformed input (ProtocolError 'malformed', which
 * the gRPC layer sends as INVALID_ARGUMENT).
 */
export function checkShape<S extends z.ZodType>(schema: S, value: unknown, what: string): z.output<S> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  throw new ProtocolError(`${what} is malformed: ${describeIssues(parsed.error)}`, 'malformed');
}

import { parseArgs } from 'node:util';
import { z } from 'zod';
import { parseInput } from './issues.ts';
import { InputError } from '../errors.ts';

/** A command's flags, declared once as zod fields keyed by flag name: booleans are switches, arrays repeat. */
export type FlagShape = Record<string, z.ZodType>;

/** The parseArgs type of a flag, read off its schema (optional and default wrappers looked through). */
function optionOf(s: z.ZodType): { type: 'string' | 'boolean'; multiple?: boolean } {
  let inner: z.ZodType = s;
  while (inner instanceof z.ZodOptional || inner instanceof z.ZodDefault) inner = inner.unwrap() as z.ZodType;
  if (inner instanceof z.ZodBoolean) return { type: 'boolean' };
  if (inner instanceof z.ZodArray) return { type: 'string', multiple: true };
  return { type: 'string' };
}

/**
 * Parses argv against `shape`: parseArgs splits the tokens, the schema checks the values.
 * Bad usage is an InputError (exit 2) naming the flag; `help` when -h/--help is given.
 */
export function parseFlags<S extends FlagShape>(argv: string[], shape: S): z.output<z.ZodObject<S>> | 'help' {
  const options = Object.fromEntries(Object.entries(shape).map(([k, s]) => [k, optionOf(s)]));
  let values: Record<string, unknown>;
  try {
    ({ values } = parseArgs({ args: argv, options: { ...options, help: { type: 'boolean', short: 'h' } }, allowPositionals: false, strict: true }));
  } catch (e) {
    // The CLI prefixes 'fedcausal <command>:' itself.
    throw new InputError(`${(e as Error).message} (see --help)`);
  }
  if (values.help) return 'help';
  return parseInput(z.object(shape), values, { flags: true });
}

/** Flags of the form NAME=PATH, repeatable. */
export const namedPaths = () =>
  z.array(
    z.string().transform((v, ctx) => {
      const i = v.indexOf('=');
      if (i > 0 && i < v.length - 1) return { name: v.slice(0, i), path: v.slice(i + 1) };
      ctx.addIssue({ code: 'custom', message: 'expects NAME=PATH', input: v });
      return z.NEVER;
    }),
  ).default([]);

import { parseArgs } from 'node:util';
import { z } from 'zod';
import { numberOrText } from './fields.ts';
import { closestField, parseInput } from './issues.ts';
import { InputError } from '../errors.ts';

/** A token of parseArgs' `tokens` output (its option tokens carry the flag's name, however it was written). */
type Token = NonNullable<ReturnType<typeof parseArgs>['tokens']>[number];

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
  let tokens: Token[];
  try {
    ({ values, tokens } = parseArgs({ args: attachNegativeNumbers(argv, options), options: { ...options, help: { type: 'boolean', short: 'h' } }, allowPositionals: false, strict: true, tokens: true }));
  } catch (e) {
    // The CLI prefixes 'fedcausal <command>:' itself.
    const unknown = /^Unknown option '--([^']+)'/.exec((e as Error).message)?.[1];
    const guess = unknown === undefined ? undefined : closestField(unknown, Object.keys(options));
    // One line, as every refusal: parseArgs says some things over three.
    const said = (e as Error).message.trim().replace(/\s*\n\s*/g, ' ');
    throw new InputError(`${said}${guess ? ` (did you mean --${guess}?)` : ''} (see --help)`);
  }
  if (values.help) return 'help';
  refuseRepeated(tokens, options);
  return parseInput(z.object(shape), values, { flags: true });
}

/** parseArgs keeps the last of a repeated single-valued flag: `--strategy scaffold ... --strategy fedavg` must not quietly mean fedavg. */
function refuseRepeated(tokens: Token[], options: Record<string, { multiple?: boolean }>): void {
  const seen = new Set<string>();
  for (const t of tokens) {
    if (t.kind !== 'option' || !(t.name in options) || options[t.name]!.multiple) continue;
    if (seen.has(t.name)) throw new InputError(`--${t.name} given twice; give it once (see --help)`);
    seen.add(t.name);
  }
}

/** A token that is a negative number ("-5", "-0.5", "-1e3"), never a flag: no flag name starts with a digit or dot. */
const NEGATIVE_NUMBER = /^-(\d|\.\d)/;

/**
 * `--rows -5` as `--rows=-5`: parseArgs would take "-5" for an option and refuse the
 * pair as ambiguous; joined, the value reaches the flag's schema, whose message names
 * the accepted range.
 */
function attachNegativeNumbers(argv: string[], options: Record<string, { type: string }>): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const next = argv[i + 1];
    const takesValue = a.startsWith('--') && !a.includes('=') && options[a.slice(2)]?.type === 'string';
    if (takesValue && next !== undefined && NEGATIVE_NUMBER.test(next)) {
      out.push(`${a}=${next}`);
      i++;
    } else out.push(a);
  }
  return out;
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

/**
 * Flags of the form KEY=VALUE, repeatable (`--strategy-option proximalMu=0.1`): a plain
 * decimal VALUE is a number, any other stays text. The caller checks keys and values
 * against its own schema.
 */
export const keyValues = () =>
  z.array(
    z.string().transform((v, ctx) => {
      const i = v.indexOf('=');
      if (i > 0 && i < v.length - 1) return { key: v.slice(0, i), value: numberOrText(v.slice(i + 1)) };
      ctx.addIssue({ code: 'custom', message: 'expects KEY=VALUE', input: v });
      return z.NEVER;
    }),
  ).default([]);

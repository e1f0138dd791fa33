/**
 * Field builders: every schema states its ranges and choices through these, so each
 * message says what is allowed the same way ("must be an integer in [1, 1000]"), and
 * formatIssue (issues.ts) adds the field path and the value received.
 */
import { z } from 'zod';

/** Bounds of a number; an open end excludes its value, an absent end is unbounded. */
export interface Bounds {
  min?: number;
  max?: number;
  minOpen?: boolean;
  maxOpen?: boolean;
  int?: boolean;
}

/** "an integer in [1, 1000]", "a number in (0, 1)", "a finite number >= 0". */
export function describeBounds(b: Bounds): string {
  const kind = b.int ? 'an integer' : 'a number';
  if (b.min !== undefined && b.max !== undefined)
    return `${kind} in ${b.minOpen ? '(' : '['}${b.min}, ${b.max}${b.maxOpen ? ')' : ']'}`;
  if (b.min !== undefined) return `${b.int ? kind : 'a finite number'} ${b.minOpen ? '>' : '>='} ${b.min}`;
  if (b.max !== undefined) return `${b.int ? kind : 'a finite number'} ${b.maxOpen ? '<' : '<='} ${b.max}`;
  return `${b.int ? kind : 'a finite number'}`;
}

/** A finite number within `b`; every fault reads "must be <bounds>". */
export function num(b: Bounds) {
  const error = `must be ${describeBounds(b)}`;
  let s = z.number({ error });
  if (b.int) s = s.int({ error });
  if (b.min !== undefined) s = b.minOpen ? s.gt(b.min, { error }) : s.gte(b.min, { error });
  if (b.max !== undefined) s = b.maxOpen ? s.lt(b.max, { error }) : s.lte(b.max, { error });
  return s;
}

/** An integer in [min, max]. */
export const int = (min: number, max: number) => num({ min, max, int: true });
/** A number in [min, max]. */
export const real = (min: number, max: number) => num({ min, max });

/** One of a fixed set of strings. */
export function choice<const T extends readonly [string, ...string[]]>(values: T) {
  return z.enum(values, { error: `must be one of ${values.join(', ')}` });
}

export const bool = () => z.boolean({ error: 'must be true or false' });

/** A non-empty string. */
export const text = () => z.string({ error: 'must be a non-empty string' }).min(1, { error: 'must be a non-empty string' });

/** A list of non-empty strings. */
export const names = (what = 'names') => z.array(text(), { error: `must be a list of ${what}` });

/** A mapping that refuses fields it does not know (a typo must not pass silently). */
export function strict<T extends z.core.$ZodLooseShape>(shape: T, what = 'a mapping') {
  const known = Object.keys(shape).join(', ');
  return z.strictObject(shape, {
    error: (iss) => (iss.code === 'unrecognized_keys' ? `is not a known field; expected one of: ${known}` : `must be ${what}`),
  });
}

/** A mapping whose fields are checked elsewhere (a record of name -> value). */
export const mapping = <V extends z.ZodType>(value: V, what = 'a mapping') =>
  z.record(z.string(), value, { error: `must be ${what}` });

/** A plain decimal as flags and knobs accept it: sign, digits, fraction, exponent; no hex, no Infinity. */
const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i;

/** A command-line value as a number where it is a plain decimal (surrounding blanks allowed); the text as typed otherwise. */
export const numberOrText = (t: string): number | string => (DECIMAL.test(t.trim()) ? Number(t) : t);

/**
 * A command-line value checked by `inner` after conversion; the message quotes the text
 * as typed. `convert` returns undefined for text that is not of the type at all.
 */
function fromText<S extends z.ZodType>(inner: S, convert: (t: string) => unknown) {
  return z.string().transform((s, ctx): z.output<S> => {
    const v = convert(s.trim());
    const r = inner.safeParse(v === undefined ? s : v);
    if (r.success) return r.data;
    ctx.addIssue({ code: 'custom', message: r.error.issues[0]!.message, input: s });
    return z.NEVER;
  });
}

/** A numeric flag: `--rounds 20`. */
export const numberFlag = (b: Bounds) => fromText(num(b), (t) => (DECIMAL.test(t) ? Number(t) : undefined));
/** A true|false flag value (synth knobs). */
export const boolFlag = () => fromText(bool(), (t) => (t === 'true' ? true : t === 'false' ? false : undefined));
/** A flag with a fixed set of values. */
export const choiceFlag = <const T extends readonly [string, ...string[]]>(values: T) => fromText(choice(values), (t) => t);

/** The largest seed: a 31-bit integer, what every seeded component accepts. */
export const SEED_MAX = 2 ** 31 - 1;
export const seed = () => int(0, SEED_MAX);
/** Share of a site's rows held out for testing: both parts must keep rows. */
export const TEST_FRACTION: Bounds = { min: 0.01, max: 0.99 };
export const DEFAULT_TEST_FRACTION = 0.3;
/** A TCP port; 0 asks the system for a free one where a listener allows it. */
export const port = (min = 0) => int(min, 65535);

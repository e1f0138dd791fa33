import { parseArgs, type ParseArgsConfig } from 'node:util';
import { InputError } from '../shared/errors.ts';

/** parseArgs with our error style: bad usage is an InputError (exit 2) naming the flag. */
export function parseFlags<T extends NonNullable<ParseArgsConfig['options']>>(argv: string[], options: T, _command: string) {
  try {
    return parseArgs({ args: argv, options: { ...options, help: { type: 'boolean', short: 'h' } }, allowPositionals: false, strict: true });
  } catch (e) {
    // The CLI prefixes 'fedcausal <command>:' itself.
    throw new InputError(`${(e as Error).message} (see --help)`);
  }
}

/** "NAME=PATH" pairs from a repeated flag. */
export function namedPaths(values: string[] | undefined, flag: string): { name: string; path: string }[] {
  return (values ?? []).map((v) => {
    const i = v.indexOf('=');
    if (i <= 0 || i === v.length - 1) throw new InputError(`${flag} expects NAME=PATH, got "${v}"`);
    return { name: v.slice(0, i), path: v.slice(i + 1) };
  });
}

export function intFlag(v: string | undefined, flag: string, def: number, min: number, max: number): number {
  if (v === undefined) return def;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max) throw new InputError(`${flag} must be an integer in [${min}, ${max}], got "${v}"`);
  return n;
}

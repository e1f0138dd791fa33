import { dirname, isAbsolute, resolve } from 'node:path';
import YAML from 'yaml';
import { InputError } from '../errors.ts';
import { readInputFile } from '../input-file.ts';

/** Reads a YAML or JSON config file; returns the object and the folder relative paths resolve against. */
export function readConfigFile(path: string): { raw: Record<string, unknown>; baseDir: string } {
  const text = readInputFile(path, 'config');
  let raw: unknown;
  try {
    raw = YAML.parse(text);
  } catch (e) {
    throw new InputError(`${path}: not valid YAML/JSON (${(e as Error).message.split('\n')[0]})`);
  }
  if (raw === null || raw === undefined) throw new InputError(`${path}: the config file is empty`);
  if (typeof raw !== 'object' || Array.isArray(raw))
    throw new InputError(`${path}: config must be a mapping of fields (got ${Array.isArray(raw) ? 'a list' : `a ${typeof raw}`})`);
  return { raw: raw as Record<string, unknown>, baseDir: dirname(resolve(path)) };
}

/** A path from a config file, resolved against the file's folder when relative. */
export function resolveFrom(baseDir: string, p: string): string {
  return isAbsolute(p) ? p : resolve(baseDir, p);
}

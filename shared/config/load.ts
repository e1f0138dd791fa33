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
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    throw new InputError(`${path}: config must be a mapping of fields`);
  return { raw: raw as Record<string, unknown>, baseDir: dirname(resolve(path)) };
}

/** Field readers that name the file and field in every error. */
export class FieldReader {
  constructor(
    readonly where: string,
    readonly baseDir: string,
  ) {}

  fail(field: string, msg: string): never {
    throw new InputError(`${this.where}: field "${field}" ${msg}`);
  }
  obj(raw: Record<string, unknown>, field: string, optional = false): Record<string, unknown> {
    const v = raw[field.split('.').pop()!];
    if (v === undefined && optional) return {};
    if (typeof v !== 'object' || v === null || Array.isArray(v)) this.fail(field, 'must be a mapping');
    return v as Record<string, unknown>;
  }
  str(raw: Record<string, unknown>, field: string, def?: string): string {
    const v = raw[field.split('.').pop()!];
    if (v === undefined && def !== undefined) return def;
    if (typeof v !== 'string' || v === '') this.fail(field, v === undefined ? 'is required' : 'must be a non-empty string');
    return v;
  }
  num(raw: Record<string, unknown>, field: string, def: number | undefined, min: number, max: number, int = false): number {
    const v = raw[field.split('.').pop()!];
    if (v === undefined && def !== undefined) return def;
    if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max || (int && !Number.isInteger(v)))
      this.fail(field, `must be ${int ? 'an integer' : 'a number'} in [${min}, ${max}], got ${JSON.stringify(v)}`);
    return v;
  }
  bool(raw: Record<string, unknown>, field: string, def: boolean): boolean {
    const v = raw[field.split('.').pop()!];
    if (v === undefined) return def;
    if (typeof v !== 'boolean') this.fail(field, `must be true or false, got ${JSON.stringify(v)}`);
    return v;
  }
  /** A path, resolved against the config file's folder when relative. */
  path(raw: Record<string, unknown>, field: string, def?: string): string {
    const p = this.str(raw, field, def);
    return isAbsolute(p) ? p : resolve(this.baseDir, p);
  }
  /** Rejects fields this section does not know (typos must not pass silently). */
  only(raw: Record<string, unknown>, section: string, known: string[]): void {
    for (const k of Object.keys(raw))
      if (!known.includes(k))
        throw new InputError(`${this.where}: unknown field "${section ? section + '.' : ''}${k}" (known: ${known.join(', ')})`);
  }
}

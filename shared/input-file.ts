import { readFileSync } from 'node:fs';
import { InputError } from './errors.ts';

/** Reads a user-supplied text file; a failure is bad input (exit 2) naming the file and what it was for. */
export function readInputFile(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    throw new InputError(`${path}: cannot read ${what} (${(e as Error).message})`);
  }
}

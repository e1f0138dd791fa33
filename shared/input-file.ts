import { readFileSync, statSync } from 'node:fs';
import { InputError } from './errors.ts';
import { accessHint } from './access-hint.ts';

/**
 * Reads a user-supplied text file; a failure is bad input (exit 2) naming the file and what
 * it was for. A UTF-8 byte-order mark (what Windows editors often write) is dropped: JSON.parse
 * refuses it with an invisible character in the message. UTF-16 (what Windows PowerShell 5
 * writes with `>`) and binary files are refused with what to do; their bytes were read as
 * garbage ("config must be a mapping of fields") or printed raw.
 */
export function readInputFile(path: string, what: string): string {
  return readInput(path, path, what);
}

/** readInputFile of standard input (`--data -`), named as such in messages. */
export function readStandardInput(what: string): string {
  return readInput(0, 'standard input', what);
}

function readInput(source: string | 0, path: string, what: string): string {
  let bytes: Buffer;
  let text: string;
  try {
    // A device (/dev/zero, a disk) is read without end: refused by name (a re-try's schema.json linked there reached 6.5 GB).
    // A pipe or FIFO (a process substitution) is read as given.
    if (typeof source === 'string') {
      const st = statSync(source);
      if (st.isCharacterDevice() || st.isBlockDevice()) throw new InputError(`${path}: is a device, not a file: give the ${what} itself`);
    }
    bytes = readFileSync(source);
    text = bytes.toString('utf8'); // inside: a file past Node's longest string is bad input too
  } catch (e) {
    if (e instanceof InputError) throw e;
    throw new InputError(`${path}: cannot read ${what} (${(e as Error).message})${typeof source === 'string' ? accessHint(source, e) : ''}`);
  }
  const utf16 = (bytes[0] === 0xff && bytes[1] === 0xfe) || (bytes[0] === 0xfe && bytes[1] === 0xff);
  if (utf16) throw new InputError(`${path}: the ${what} is UTF-16 encoded; save it as UTF-8 text (in PowerShell: Out-File -Encoding utf8)`);
  if (bytes.subarray(0, 8192).includes(0)) throw new InputError(`${path}: the ${what} is not a text file (it holds NUL bytes): give the ${what} itself, as UTF-8 text`);
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

/** A failed read of `path` as bad input (exit 2): the file, what it was for, and what keeps this process from it where it was refused. */
export function cannotRead(path: string, err: unknown, what?: string): InputError {
  return new InputError(`cannot read ${what ? `${what} ` : ''}${path}: ${(err as Error).message}${accessHint(path, err)}`, { cause: err });
}

/** A kit file's text (a certificate, a revocation list, a key), as it is; a failure is cannotRead's. */
export function readKitText(path: string, what?: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw cannotRead(path, err, what);
  }
}

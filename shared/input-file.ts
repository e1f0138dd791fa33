import { createReadStream, readFileSync, statSync } from 'node:fs';
import { StringDecoder } from 'node:string_decoder';
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
    refuseDevice(source, path, what);
    bytes = readFileSync(source);
    text = bytes.toString('utf8'); // inside: a file past Node's longest string is bad input too
  } catch (e) {
    throw readFailure(e, source, path, what);
  }
  checkTextHead(bytes, path, what);
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

/**
 * A file (`-`: standard input) read as UTF-8 text in pieces, for files larger than one
 * string holds (Node's longest is 512 MiB) or than memory should: the same checks and
 * messages as readInputFile. A piece may end inside a record or a byte-order mark is kept
 * (CsvReader drops it).
 */
export async function* readInputPieces(path: string, what: string): AsyncGenerator<string> {
  const source = path === '-' ? 0 : path;
  const name = path === '-' ? 'standard input' : path;
  const decoder = new StringDecoder('utf8');
  let head: Buffer | undefined = Buffer.alloc(0);
  try {
    refuseDevice(source, name, what);
    const stream = source === 0 ? process.stdin : createReadStream(source, { highWaterMark: PIECE_BYTES });
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      if (head) {
        // The checks read the first bytes: held back until there are enough of them.
        head = Buffer.concat([head, chunk]);
        if (head.length < TEXT_CHECK_BYTES) continue;
        checkTextHead(head, name, what);
        yield decoder.write(head);
        head = undefined;
      } else yield decoder.write(chunk);
    }
  } catch (e) {
    throw readFailure(e, source, name, what);
  }
  if (head) {
    checkTextHead(head, name, what);
    yield decoder.write(head);
  }
  yield decoder.end();
}

/** How much is read at a time by readInputPieces. */
const PIECE_BYTES = 1 << 20;
/** The first bytes looked at for NUL bytes (a binary file given as text). */
const TEXT_CHECK_BYTES = 8192;

/** A device (/dev/zero, a disk) is read without end: refused by name (a re-try's schema.json linked there reached 6.5 GB). A pipe or FIFO (a process substitution) is read as given. */
function refuseDevice(source: string | 0, path: string, what: string): void {
  if (typeof source !== 'string') return;
  const st = statSync(source);
  if (st.isCharacterDevice() || st.isBlockDevice()) throw new InputError(`${path}: is a device, not a file: give the ${what} itself`);
}

function readFailure(e: unknown, source: string | 0, path: string, what: string): InputError {
  if (e instanceof InputError) return e;
  return new InputError(`${path}: cannot read ${what} (${(e as Error).message})${typeof source === 'string' ? accessHint(source, e) : ''}`);
}

/** UTF-16 (what Windows PowerShell 5 writes with `>`) and binary files, refused with what to do. */
function checkTextHead(bytes: Buffer, path: string, what: string): void {
  const utf16 = (bytes[0] === 0xff && bytes[1] === 0xfe) || (bytes[0] === 0xfe && bytes[1] === 0xff);
  if (utf16) throw new InputError(`${path}: the ${what} is UTF-16 encoded; save it as UTF-8 text (in PowerShell: Out-File -Encoding utf8)`);
  if (bytes.subarray(0, TEXT_CHECK_BYTES).includes(0)) throw new InputError(`${path}: the ${what} is not a text file (it holds NUL bytes): give the ${what} itself, as UTF-8 text`);
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

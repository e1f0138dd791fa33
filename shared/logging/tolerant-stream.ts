import { writeSync } from 'node:fs';
import { Writable } from 'node:stream';

/**
 * A log destination that never takes the process down. Logging to a file on a full disk killed
 * the coordinator with exit 7 and no word anywhere, again at its first line after a restart; a
 * site died mid-run the same way (an outside try). Lines that cannot be written are counted and
 * dropped; the first line that can be written after them says how many were lost and why.
 *
 * stderr is written with fs.writeSync on its descriptor, not through process.stderr: that
 * stream reports a failed write once, asynchronously, drops every line of the same tick without
 * a word, and is destroyed after it, so no line would be written again once the disk had room.
 */
export function tolerantStream(target: NodeJS.WritableStream): Writable {
  let dropped = 0;
  let why = '';
  // A line cut off by the failure (part of it written): the next line starts on a line of its own.
  let cut = false;
  const lost = (e: Error | null | undefined) => {
    if (!e) return;
    dropped++;
    why = e.message;
  };
  const put: (text: string | Buffer) => void =
    target === process.stderr
      ? (text) => {
          const bytes = typeof text === 'string' ? Buffer.from(text) : text;
          let off = 0;
          try {
            while (off < bytes.length) off += writeSync(2, bytes, off, bytes.length - off);
          } catch (e) {
            if (off > 0) cut = true;
            throw e;
          }
        }
      : (text) => void target.write(text, lost);
  // A pipe's failure may come as an event; unheard, it is an uncaught exception.
  if (target !== process.stderr) target.on('error', lost);
  return new Writable({
    write(chunk: Buffer | string, _encoding, done) {
      try {
        if (dropped > 0) {
          put(`${cut ? '\n' : ''}${JSON.stringify({ level: 'warn', message: `${dropped} log lines were not written`, error: why, timestamp: new Date().toISOString() })}\n`);
          dropped = 0;
          cut = false;
        }
        put(chunk);
      } catch (e) {
        lost(e as Error);
      }
      done();
    },
  });
}

import { Writable } from 'node:stream';

/**
 * A log destination that never takes the process down. Logging to a file on a full disk made
 * stderr's synchronous write throw inside winston, and the coordinator died with exit 7 and
 * no word anywhere, again at its first line after a restart; a site died mid-run the same way
 * (an outside try). Lines that cannot be written are counted and dropped; the first line that
 * can be written after them says how many were lost and why.
 */
export function tolerantStream(target: NodeJS.WritableStream): Writable {
  let dropped = 0;
  let why = '';
  const lost = (e: Error) => {
    dropped++;
    why = e.message;
  };
  // A pipe's failure (EPIPE) comes as an event; unheard, it is an uncaught exception.
  target.on('error', lost);
  return new Writable({
    write(chunk: Buffer | string, _encoding, done) {
      try {
        if (dropped > 0) {
          target.write(`${JSON.stringify({ level: 'warn', message: `${dropped} log lines were not written`, error: why, timestamp: new Date().toISOString() })}\n`);
          dropped = 0;
        }
        target.write(chunk);
      } catch (e) {
        lost(e as Error);
      }
      done();
    },
  });
}

// A log destination that cannot be written (a full disk, a closed pipe) never takes the process down.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { tolerantStream } from '../../../shared/logging/tolerant-stream.ts';
import { createWinstonLogger } from '../../../shared/logging/winston.ts';

/** A stream whose writes throw while `full` (as stderr's synchronous file write does on a full disk). */
function disk() {
  const lines: string[] = [];
  const target = Object.assign(new EventEmitter(), {
    full: false,
    write(chunk: string | Buffer) {
      if (target.full) throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
      lines.push(String(chunk));
      return true;
    },
  });
  return { target, lines };
}

const flushed = () => new Promise((r) => setImmediate(r));

test('lines that cannot be written are dropped, and the next line written says how many and why', async () => {
  const { target, lines } = disk();
  const s = tolerantStream(target as unknown as NodeJS.WritableStream);
  s.write('one\n');
  target.full = true;
  s.write('two\n');
  s.write('three\n');
  target.emit('error', new Error('EPIPE: broken pipe'));
  await flushed();
  target.full = false;
  s.write('four\n');
  await flushed();
  assert.equal(lines[0], 'one\n');
  const notice = JSON.parse(lines[1]!) as { level: string; message: string; error: string };
  assert.deepEqual([notice.level, notice.message, notice.error], ['warn', '3 log lines were not written', 'EPIPE: broken pipe']);
  assert.equal(lines[2], 'four\n');
  assert.equal(lines.length, 3);
});

test('the process logger keeps running on a destination that throws', async () => {
  const { target, lines } = disk();
  target.full = true;
  const log = createWinstonLogger({ stream: target as unknown as NodeJS.WritableStream });
  log.info('lost');
  log.error('lost too');
  await flushed();
  target.full = false;
  log.info('kept');
  await flushed();
  assert.equal(lines.length, 2);
  assert.match(lines[0]!, /2 log lines were not written/);
  assert.equal((JSON.parse(lines[1]!) as { message: string }).message, 'kept');
});

// A long transfer's progress in words, at most every interval; a short one says nothing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TransferProgress, resultWords, sizeText, taskWords, type ProgressLine } from '../../../shared/transport/transfer-progress.ts';

test('said once per interval while it lasts, with bytes, share and speed; nothing within the first interval or at the end', () => {
  let now = 0;
  const lines: ProgressLine[] = [];
  const p = new TransferProgress("sending round 3's fit-result to the coordinator", 2_600_000, (l) => lines.push(l), 15_000, () => now);
  now = 14_999;
  p.add(100_000);
  assert.equal(lines.length, 0, 'within the first interval');
  now = 20_000;
  p.add(900_000);
  assert.deepEqual(lines, [{ text: "sending round 3's fit-result to the coordinator: 1.0 MB of 2.6 MB (38%) in 20 s, about 400 kbit/s", doneBytes: 1_000_000, totalBytes: 2_600_000, seconds: 20, kbitPerSecond: 400 }]);
  now = 30_000;
  p.add(500_000);
  assert.equal(lines.length, 1, 'not again before another interval has passed');
  now = 35_000;
  p.add(100_000);
  assert.equal(lines.length, 2);
  assert.match(lines[1]!.text, /: 1\.6 MB of 2\.6 MB \(61%\) in 35 s, about 366 kbit\/s$/);
  now = 60_000;
  p.add(1_000_000);
  assert.equal(lines.length, 2, 'the last bytes: the transfer is over, nothing to say');
});

test('sizes in kB below 0.1 MB, else MB to one decimal', () => {
  assert.equal(sizeText(0), '0 kB');
  assert.equal(sizeText(65_536), '66 kB');
  assert.equal(sizeText(2_621_440), '2.6 MB');
});

test('a result kind in words: no envelope jargon in a line an IT person reads', () => {
  assert.deepEqual(
    ['fit-result', 'eval-result', 'stats-result-2', 'secagg-result-93', 'end-ack', 'something-new'].map(resultWords),
    ['training update', 'final evaluation', 'statistics (stage 2)', 'secure-sum share', 'end acknowledgement', 'something-new'],
  );
  assert.deepEqual(['task-fit', 'task-evaluate', 'task-stats-3', 'task-secagg-91', 'task-end', 'other'].map(taskWords), ['training task', 'final evaluation task', 'statistics task (stage 3)', 'secure-sum task', 'end', 'other']);
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AsyncQueue } from '../../../shared/transport/async-queue.ts';

async function drain<T>(q: AsyncQueue<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const v of q) out.push(v);
  return out;
}

test('items pushed before and while a consumer waits arrive in order; close ends the iteration', async () => {
  const q = new AsyncQueue<number>();
  q.push(1);
  const got = drain(q);
  q.push(2);
  await Promise.resolve();
  q.push(3);
  q.close();
  q.push(4); // after close: dropped
  assert.deepEqual(await got, [1, 2, 3]);
});

test('close with an error reaches a consumer that is already waiting', async () => {
  const q = new AsyncQueue<number>();
  const got = drain(q);
  await Promise.resolve();
  q.close(new Error('stream broke'));
  await assert.rejects(got, /stream broke/);
});

test('close with an error after queued items: the items first, then the error', async () => {
  const q = new AsyncQueue<number>();
  q.push(1);
  q.push(2);
  q.close(new Error('stream broke'));
  const seen: number[] = [];
  await assert.rejects(async () => {
    for await (const v of q) seen.push(v);
  }, /stream broke/);
  assert.deepEqual(seen, [1, 2]);
});

test('a consumer that stops early closes the queue cleanly', async () => {
  const q = new AsyncQueue<number>();
  q.push(1);
  q.push(2);
  for await (const v of q) if (v === 1) break;
  q.push(3);
  assert.deepEqual(await drain(q), [2]);
});

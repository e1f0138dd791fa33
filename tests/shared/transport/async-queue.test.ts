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

test('close while empty ends a waiting consumer, and one that arrives later, cleanly', async () => {
  const q = new AsyncQueue<number>();
  const waiting = drain(q);
  await Promise.resolve();
  q.close();
  assert.deepEqual(await waiting, []);
  assert.deepEqual(await drain(q), [], 'a consumer arriving after close sees the end at once');
});

test('the first close wins: a later close with an error does not turn a clean end into a failure', async () => {
  const q = new AsyncQueue<number>();
  q.push(1);
  q.close();
  q.close(new Error('too late'));
  assert.deepEqual(await drain(q), [1]);
});

test('an error close is sticky: every later next() rejects with the same error', async () => {
  const q = new AsyncQueue<number>();
  const broke = new Error('stream broke');
  q.close(broke);
  const it = q[Symbol.asyncIterator]();
  await assert.rejects(it.next(), (e) => e === broke);
  await assert.rejects(it.next(), (e) => e === broke);
});

test('no backpressure: push never waits, and everything pushed before the consumer arrives is kept in order', async () => {
  const q = new AsyncQueue<number>();
  const n = 10_000;
  // push is synchronous and returns nothing to await: a producer is never held back.
  for (let i = 0; i < n; i++) assert.equal(q.push(i), undefined);
  q.close();
  const got = await drain(q);
  assert.equal(got.length, n);
  assert.ok(got.every((v, i) => v === i));
});

test('items pushed one at a time to a waiting consumer each wake it, in order', async () => {
  const q = new AsyncQueue<string>();
  const it = q[Symbol.asyncIterator]();
  const first = it.next();
  q.push('a');
  assert.deepEqual(await first, { value: 'a', done: false });
  const second = it.next();
  q.push('b');
  q.push('c');
  assert.deepEqual(await second, { value: 'b', done: false });
  assert.deepEqual(await it.next(), { value: 'c', done: false });
  q.close();
  assert.deepEqual(await it.next(), { value: undefined, done: true });
});

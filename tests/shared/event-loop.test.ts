import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LoopYielder } from '../../shared/event-loop.ts';

test('a yielder is due at once and then once its interval passed; a yield lets pending callbacks run first', async () => {
  assert.equal(new LoopYielder(Infinity).due, false, 'Infinity never yields');
  assert.equal(new LoopYielder(0).due, true);
  const y = new LoopYielder(60_000);
  assert.equal(y.due, true, 'the first check is due: the caller may have held the loop already');
  let ran = false;
  setImmediate(() => (ran = true));
  await y.yield();
  assert.equal(ran, true, 'a callback queued before the yield ran during it');
  assert.equal(y.due, false, 'the clock restarts at each yield');
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { acceptByQuorum } from '../../../coordinator/strategy/acceptance.ts';
import { createStrategy, strategyNames } from '../../../coordinator/strategy/registry.ts';

const results = (n: number) => Array.from({ length: n }, (_, i) => ({ site: `s${i}`, numExamples: 10, metrics: {} }));
const failures = [{ site: 'va', reason: 'site went offline during the round' }, { site: 'hungary', reason: 'no answer within the 60s round deadline' }];

test('quorum: accepted at minSitesToAccept answers, whatever failed', () => {
  assert.deepEqual(acceptByQuorum(results(2), failures, { minSitesToAccept: 2 }), { accepted: true });
  assert.deepEqual(acceptByQuorum(3, [], { minSitesToAccept: 2 }), { accepted: true });
});

test('quorum: refused below it, naming every failure (the wording of the run\'s problems)', () => {
  assert.deepEqual(acceptByQuorum(results(1), failures, { minSitesToAccept: 2 }), {
    accepted: false,
    reason: '1 sites answered, 2 needed (va: site went offline during the round; hungary: no answer within the 60s round deadline)',
  });
  assert.deepEqual(acceptByQuorum(0, [], { minSitesToAccept: 1 }), { accepted: false, reason: '0 sites answered, 1 needed (no failures)' });
});

test('every registered strategy applies the quorum by default', () => {
  for (const name of strategyNames) {
    const s = createStrategy(name);
    for (const [n, need] of [[1, 2], [2, 2], [3, 2], [0, 1]] as const)
      assert.deepEqual(s.acceptFit(1, results(n), failures.slice(0, 1), { minSitesToAccept: need }), acceptByQuorum(n, failures.slice(0, 1), { minSitesToAccept: need }), `${name} ${n}/${need}`);
  }
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  FEDERATION_STATES,
  FederationStateMachine,
  IllegalTransitionError,
  isTerminal,
  TRANSITIONS,
  type FederationState,
  type Transition,
} from '../../../shared/federation/state.ts';

/** A machine driven into `state` along legal moves (the shortest path from the start). */
function machineIn(state: FederationState, seen?: Transition[]): FederationStateMachine {
  const m = new FederationStateMachine((t) => seen?.push(t));
  const path: Record<FederationState, FederationState[]> = {
    'waiting-for-sites': [],
    stats: ['stats'],
    training: ['stats', 'training'],
    aggregating: ['stats', 'training', 'aggregating'],
    committed: ['stats', 'training', 'aggregating', 'committed'],
    evaluating: ['stats', 'evaluating'],
    finished: ['stats', 'evaluating', 'finished'],
    failed: ['failed'],
    stopped: ['stopped'],
  };
  for (const s of path[state]) m.transition(s, 0, `to ${s}`);
  assert.equal(m.current, state);
  return m;
}

test('every legal transition is taken and recorded with its round and reason', () => {
  let moves = 0;
  for (const from of FEDERATION_STATES)
    for (const to of TRANSITIONS[from]) {
      const seen: Transition[] = [];
      const m = machineIn(from, seen);
      const before = seen.length;
      const t = m.transition(to, 7, `why ${from} -> ${to}`);
      assert.equal(m.current, to);
      assert.deepEqual({ from: t.from, to: t.to, round: t.round, reason: t.reason }, { from, to, round: 7, reason: `why ${from} -> ${to}` });
      assert.ok(!Number.isNaN(Date.parse(t.at)), t.at);
      assert.equal(m.last, t);
      assert.equal(seen.length, before + 1, 'the listener hears each transition once');
      assert.equal(seen.at(-1), t);
      moves++;
    }
  // The table as designed: 5 + 5 + 3 + 3 + 5 + 3 moves out of the live states (stats and committed
  // may wait for a training round's quorum).
  assert.equal(moves, 24);
});

test('an illegal transition is refused and changes nothing', () => {
  const seen: Transition[] = [];
  const m = machineIn('training', seen);
  const before = seen.length;
  assert.throws(() => m.transition('committed', 1, 'skipping aggregation'), (e: unknown) => {
    assert.ok(e instanceof IllegalTransitionError);
    assert.equal(e.message, 'illegal federation state transition training -> committed (allowed from training: aggregating, failed, stopped)');
    assert.deepEqual([e.from, e.to], ['training', 'committed']);
    return true;
  });
  assert.equal(m.current, 'training');
  assert.equal(seen.length, before, 'the listener did not hear it');
  // Every move the table leaves out is refused, from every state.
  for (const from of FEDERATION_STATES)
    for (const to of FEDERATION_STATES)
      if (!TRANSITIONS[from].includes(to)) assert.throws(() => machineIn(from).transition(to, 0, 'x'), IllegalTransitionError, `${from} -> ${to}`);
});

test('terminal states are exactly those with no way out', () => {
  for (const s of FEDERATION_STATES) assert.equal(isTerminal(s), TRANSITIONS[s].length === 0, s);
  assert.deepEqual(FEDERATION_STATES.filter(isTerminal), ['finished', 'failed', 'stopped']);
  const m = machineIn('failed');
  assert.equal(m.terminal, true);
  assert.throws(() => m.transition('failed', 0, 'again'), /illegal federation state transition failed -> failed \(allowed from failed: none\)/);
});

test('a new machine waits for sites; the kept transitions are bounded for long runs', () => {
  const m = new FederationStateMachine();
  assert.equal(m.current, 'waiting-for-sites');
  assert.equal(m.last, undefined);
  m.transition('stats', 0, 'statistics rounds');
  m.transition('training', 1, 'round 1');
  for (let r = 1; r <= 100; r++) {
    m.transition('aggregating', r, 'a');
    m.transition('committed', r, 'c');
    m.transition('training', r + 1, 't');
  }
  assert.equal(m.recent.length, 32);
  assert.equal(m.recent.at(-1)!.round, 101);
});

test('explain gives the current state its reason without moving it or running the callback', () => {
  const seen: string[] = [];
  const m = new FederationStateMachine((t) => seen.push(t.to));
  const t = m.explain(3, 'waiting for b');
  assert.equal(m.current, 'waiting-for-sites');
  assert.deepEqual([t.from, t.to, t.round, t.reason], ['waiting-for-sites', 'waiting-for-sites', 3, 'waiting for b']);
  assert.equal(m.last, t);
  assert.deepEqual(seen, []);
  m.transition('training', 3, 'round 3');
  assert.deepEqual(seen, ['training']);
});

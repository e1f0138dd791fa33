import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DebiasMonitor, temperAfter, type DebiasHooks } from '../../coordinator/debias-monitor.ts';
import { HIST_BINS, type HealthSums } from '../../shared/data/debias-health.ts';
import { ProtocolError } from '../../shared/errors.ts';
import { silentLogger } from '../../shared/logger.ts';

test('the guard: a weighted association below the tolerance halves the weights from the next round', () => {
  assert.deepEqual(temperAfter({ reading: 0.41, other: 0.6 }, 0.45, 1), { tempered: true, next: 0.5, reversed: [['reading', 0.41]] });
  assert.deepEqual(temperAfter({ reading: 0.5 }, 0.45, 0.5), { tempered: false, next: 0.5, reversed: [] });
  assert.equal(temperAfter({ reading: NaN }, 0.45, 1).tempered, false, 'no figure, no tempering');
});

test("a fit result's health sums are checked on arrival: a bad one is the site's refusal, named by the site", () => {
  const hooks = { readings: () => ['r'] } as unknown as DebiasHooks;
  const monitor = new DebiasMonitor(hooks, { kind: 'debiased', raw: {}, seed: 1 }, { version: 1, patterns: [] } as never, 5, silentLogger);
  const bins = () => new Array<number>(HIST_BINS).fill(1);
  const six = () => [1, 1, 1, 1, 1, 1];
  const health: HealthSums = { n: 80, sumW: 80, sumW2: 80, upW: 0, readings: [{ feature: 'r', column: 0, hist: [bins(), bins()], moments: [six(), six()] }] };
  monitor.checkHealth('va', { numExamples: 80, health });
  // A site without training rows sends none.
  monitor.checkHealth('va', { numExamples: 0 });
  const refused = (m: object, re: RegExp) => assert.throws(() => monitor.checkHealth('va', m as never), (e: unknown) => e instanceof ProtocolError && re.test(e.message));
  // 1e999 on the wire parses as Infinity: it passed on receipt and ended the run when the round's figures were computed.
  refused({ numExamples: 80, health: Infinity }, /^fit from site "va": health: health sums must be an object$/);
  refused({ numExamples: 80, health: { ...health, sumW: Infinity } }, /^fit from site "va": health: sumW must be a finite number >= 0$/);
  refused({ numExamples: 80 }, /health sums must be an object/);
  refused({ numExamples: 80, health: { ...health, readings: [] } }, /readings must list 1 entries/);
});

test('each reversal halves the weights again (1, 0.5, 0.25), a round reports the strength it trained with, and the drift is the total variation distance', () => {
  // An audit's mutants left the second tempering at 0.5 and reported the drift doubled, and every test passed.
  const hooks = { readings: () => ['r'], health: () => ({ tolerance: 0.45, weightedAssociation: { r: 0.41 } }) } as unknown as DebiasHooks;
  const published = { version: 1, patterns: [{ pattern: '11', p: 1 }] } as never;
  const monitor = new DebiasMonitor(hooks, { kind: 'debiased', raw: {}, seed: 1 }, published, 1, silentLogger);
  const answers = [{ patternCounts: { '11': [10, 10], '10': [10, 10] } as Record<string, [number, number]>, health: {} as HealthSums }];
  const first = monitor.observe(1, answers, ['va']);
  assert.deepEqual([first.tempered, first.temper, monitor.temper], [true, 1, 0.5]);
  // From {11: 1} to {11: 0.5, 10: 0.5}: half the mass moved.
  assert.equal(first.priorDrift, 0.5);
  const second = monitor.observe(2, answers, ['va']);
  assert.deepEqual([second.tempered, second.temper, monitor.temper], [true, 0.5, 0.25]);
  assert.equal(second.priorDrift, 0, 'the same prior again');
  // Restored from a state file, it goes on from where it was.
  const restored = new DebiasMonitor(hooks, { kind: 'debiased', raw: {}, seed: 1 }, published, 1, silentLogger);
  restored.restore(monitor.save());
  assert.equal(restored.temper, 0.25);
  assert.equal(restored.observe(3, answers, ['va']).temper, 0.25);
  assert.equal(restored.temper, 0.125);
});

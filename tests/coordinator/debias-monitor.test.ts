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

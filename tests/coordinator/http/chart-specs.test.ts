// What the dashboard's charts draw (coordinator/http/dashboard/src/panels/chart-specs.ts), without a browser.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chartSpecs } from '../../../coordinator/http/dashboard/src/panels/chart-specs.ts';
import type { FederationStatus, RoundSummary } from '../../../shared/federation/status.ts';

const round = (r: number, participants: number): RoundSummary => ({
  round: r,
  participants,
  failures: 3 - participants,
  metrics: { eval_auroc: 0.7 + r / 100, train_loss: 0.6 - r / 100 },
  durationMs: 10,
});

const status = (history: RoundSummary[], final?: FederationStatus['final']): FederationStatus => ({
  federation: 'f', round: history.length, rounds: 5, state: 'training', strategy: 'fedavg', model: 'baseline', sites: [], history, ...(final ? { final } : {}),
});

const byLabel = (s: FederationStatus, id: string) => Object.fromEntries(chartSpecs(s).find((c) => c.id === id)!.series.map((x) => [x.label, x]));

test('rounds with fewer sites than the most any round had are marked on the federation curves, at their own figures', () => {
  const s = status([round(1, 3), round(2, 2), round(3, 3), round(4, 1)]);
  const auroc = byLabel(s, 'chart-auroc');
  const marked = auroc['federation: a round with fewer than 3 sites'];
  assert.ok(marked?.marks, Object.keys(auroc).join(', '));
  assert.deepEqual(marked.values, [null, 0.72, null, 0.74]);
  assert.deepEqual(auroc['federation']!.values, [0.71, 0.72, 0.73, 0.74], 'the line itself is unchanged');
  const loss = byLabel(s, 'chart-loss')['federation: a round with fewer than 3 sites'];
  assert.deepEqual(loss?.values.map((v) => v && +v.toFixed(2)), [null, 0.58, null, 0.56]);
});

test('no mark where every round had as many sites; the final evaluation point is never marked', () => {
  assert.deepEqual(Object.keys(byLabel(status([round(1, 3), round(2, 3)]), 'chart-auroc')), ['federation']);
  const final = { trainingRounds: 2, auroc: 0.8, sites: {}, testSites: {} } as unknown as FederationStatus['final'];
  const spec = chartSpecs(status([round(1, 3), round(2, 2)], final)).find((c) => c.id === 'chart-auroc')!;
  assert.deepEqual(spec.rounds, [0, 1, 2]);
  const marked = spec.series.find((x) => x.marks)!;
  assert.deepEqual(marked.values, [null, 0.72, null], 'one value per x, the final point not marked');
  for (const x of spec.series) assert.equal(x.values.length, spec.rounds.length, x.label);
});

// `simulate --secure-aggregation`: the real coordinator and site agents, fit rounds by
// secure aggregation; the run ends where the plain run ends, up to quantization error.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runSimulation } from '../../cli/simulate.ts';
import { DEFAULT_RESULT_BOUNDS } from '../../coordinator/result-bounds.ts';
import { simOptions } from '../../eval/jobs.ts';
import { InputError } from '../../shared/errors.ts';
import { REPORT_DECIMALS } from '../../shared/secagg/eval-parts.ts';
import type { DebiasHealth } from '../../shared/federation/debiasing-report.ts';
import { silentLogger } from '../../shared/logger.ts';
import { HEART_FILES, HEART_SCHEMA } from '../e2e/helpers/federation.ts';

const SITES = ['cleveland', 'hungary', 'switzerland', 'va'];
/** A site's own report in a secure run is rounded (secureAggregation.reportDecimals, 2): half a step, plus the quantization. */
const REPORT_TOLERANCE = 0.5 * 10 ** -REPORT_DECIMALS + 1e-3;

const options = (secureAggregation: boolean, strategy = 'fedavg', model = 'logreg', modelSettings: Record<string, unknown> = { localEpochs: 1 }) =>
  simOptions({
    schema: HEART_SCHEMA,
    sites: SITES.map((name) => ({ name, path: HEART_FILES[name]! })),
    model,
    rounds: 2,
    seed: 3,
    strategy,
    secureAggregation,
    modelSettings,
    // The plain round's relative update clipping needs each site's update; secure rounds have only
    // the sum (their bound is clipBound per weight), so it is off here for a like-for-like comparison.
    bounds: { ...DEFAULT_RESULT_BOUNDS, updateNormMultiple: 1e9 },
  });

test('a secure run ends at the plain run within quantization error, and says it was secure', { timeout: 120_000 }, async () => {
  const plain = await runSimulation(options(false), silentLogger);
  const secure = await runSimulation(options(true), silentLogger);
  assert.equal(plain.results.secureAggregation, undefined);
  assert.equal(secure.results.secureAggregation?.enabled, true);
  assert.equal(secure.results.secureAggregation?.threshold, 3, 'floor(2*4/3)+1 of 4 sites');
  assert.equal(secure.results.complete, true, String(secure.results.problems));
  for (const site of SITES) {
    const a = plain.results.sites[site]!.auroc;
    const b = secure.results.sites[site]!.auroc;
    assert.ok(Math.abs(a - b) <= REPORT_TOLERANCE, `${site}: AUROC ${b} vs plain ${a}`);
    assert.equal(b, Number(b.toFixed(REPORT_DECIMALS)), 'rounded');
    // simulate holds every file: its results keep each site's held-out count (a deployment's do not).
    assert.equal(secure.results.sites[site]!.n, plain.results.sites[site]!.n);
  }
  const scoreGap = Math.max(...plain.predictions.map((p, i) => Math.abs(p.score - secure.predictions[i]!.score)));
  assert.ok(scoreGap < 1e-3, `largest score difference ${scoreGap}`);
  for (const [i, h] of secure.results.history.entries()) {
    assert.equal(h.accepted, true);
    assert.equal(h.participants, SITES.length);
    // Federation means from the secure sums, as the plain run reports them.
    for (const k of ['train_loss', 'eval_auroc', 'eval_accuracy', 'eval_ece']) assert.ok(Math.abs(h.metrics[k]! - plain.results.history[i]!.metrics[k]!) < 1e-4, `${k}: ${h.metrics[k]} vs ${plain.results.history[i]!.metrics[k]}`);
  }
});

test('--model debiased --secure-aggregation: the plain run\'s health figures and AUROC, round by round', { timeout: 180_000 }, async () => {
  const settings = { localEpochs: 1, debiasing: { suspect: ['oldpeak'], weighting: 'outcome' } };
  const plain = await runSimulation(options(false, 'fedavg', 'debiased', settings), silentLogger);
  const secure = await runSimulation(options(true, 'fedavg', 'debiased', settings), silentLogger);
  assert.equal(secure.results.complete, true, String(secure.results.problems));
  for (const site of SITES) assert.ok(Math.abs(plain.results.sites[site]!.auroc - secure.results.sites[site]!.auroc) <= REPORT_TOLERANCE, site);
  // The results file's `debiasing.health`: one entry per round.
  const health = (r: typeof plain) => (r.results.debiasing as { health: DebiasHealth[] }).health;
  assert.equal(health(secure).length, 2);
  for (const [i, s] of health(secure).entries()) {
    const p = health(plain)[i]!;
    assert.deepEqual(Object.keys(s.weightedAssociation), ['oldpeak']);
    for (const k of ['conflictingShare', 'effectiveSampleSize', 'priorDrift'] as const) assert.ok(Math.abs(s[k] - p[k]) < 1e-4, `round ${i + 1} ${k}: ${s[k]} vs ${p[k]}`);
    assert.ok(Math.abs(s.weightedAssociation.oldpeak! - p.weightedAssociation.oldpeak!) < 1e-4, `round ${i + 1} weightedAssociation`);
    assert.ok(Math.abs(s.reliance.oldpeak! - p.reliance.oldpeak!) < 1e-3, `round ${i + 1} reliance`);
    assert.equal(s.tempered, p.tempered);
  }
});

test('secure aggregation with a strategy that needs per-site updates is refused, naming both', async () => {
  for (const s of ['fedmedian', 'trimmed-mean']) {
    await assert.rejects(runSimulation(options(true, s), silentLogger), (e: Error) => e instanceof InputError && e.message.startsWith(`--secure-aggregation: cannot be true with strategy ${s}`));
  }
});

test('secure aggregation with fewer than 3 training sites is refused', async () => {
  const o = { ...options(true), sites: options(true).sites.slice(0, 2) };
  await assert.rejects(runSimulation(o, silentLogger), (e: Error) => e instanceof InputError && e.message.startsWith('--secure-aggregation: needs at least 3 training sites, the federation has 2'));
});

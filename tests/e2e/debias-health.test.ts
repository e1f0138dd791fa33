// The debiasing health figures of a real federation (separate processes on loopback):
// they reach the results file, /api/status and /metrics, round by round. A heart-disease
// feature is named `suspect`, so a reading is flagged whatever the rule says, and the
// outcome weighting keeps it in the model, so the model's reliance on it moves.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { DebiasHealth as Health } from '../../coordinator/debias-monitor.ts';
import type { ResultsFile } from '../../cli/results.ts';
import { until, withFederation } from './helpers/federation.ts';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

/** The production /metrics passes promtool, and every fedcausal_ metric the alert rules read is emitted. */
function checkScrape(metrics: string): void {
  const alerts = readFileSync('deploy/prometheus/alerts.yml', 'utf8');
  for (const name of new Set(alerts.match(/fedcausal_[a-z_]+/g)))
    assert.match(metrics, new RegExp(`^# TYPE ${name} `, 'm'), `${name}, read by deploy/prometheus/alerts.yml, is declared in the scrape`);
  const promtool = spawnSync('promtool', ['check', 'metrics'], { input: metrics, encoding: 'utf8' });
  if (promtool.error) return void console.log('# promtool not installed: /metrics not linted');
  assert.equal(promtool.status, 0, `promtool check metrics:\n${promtool.stdout}${promtool.stderr}`);
}

const SITES = ['cleveland', 'hungary', 'va'];
const ROUNDS = 4;


test('health figures per round in the results, /api/status and /metrics', { timeout: 120_000 }, async () => {
  const model = { kind: 'debiased', localEpochs: 1, debiasing: { suspect: ['oldpeak'], weighting: 'outcome' } };
  await withFederation({ sites: SITES, rounds: ROUNDS, model, hardTimeoutMs: 110_000 }, async (fed) => {
    const coordinator = await fed.startCoordinator();
    const sites = SITES.map((s) => fed.startSite(s));

    // Mid-run: the status endpoint carries the decision and the health of committed rounds.
    const live = await until(
      async () => {
        const st = (await fed.status()) as unknown as { debiasing?: { health?: Health[]; flagged?: { feature: string; source: string }[] } };
        return (st.debiasing?.health?.length ?? 0) >= 1 ? st.debiasing! : undefined;
      },
      60_000,
      'a health figure on /api/status',
    );
    assert.deepEqual(live.flagged?.map((f) => [f.feature, f.source]), [['oldpeak', 'suspect']]);
    const metrics = await fed.getText('/metrics');
    assert.match(metrics, /fedcausal_debias_weighted_association\{feature="oldpeak"\} 0\.\d+/);
    assert.match(metrics, /fedcausal_debias_effective_sample_size_ratio 0\.\d+/);
    assert.match(metrics, /fedcausal_debias_reliance\{feature="oldpeak"\} -?\d/);
    checkScrape(metrics);
    // Counters move with rounds.
    const committed = (text: string) => Number(/^fedcausal_rounds_total\{outcome="accepted"\} (\d+)$/m.exec(text)?.[1] ?? 0);
    const before = committed(metrics);
    assert.ok(before >= 1, 'a committed round is counted');
    await until(async () => (committed(await fed.getText('/metrics')) > before ? true : undefined), 60_000, 'the rounds counter to move');

    assert.equal(await coordinator.exitCode(90_000), 0, 'coordinator exit code');
    for (const s of sites) assert.equal(await s.exitCode(10_000), 0, `${s.name} exit code`);
    const r = fed.results<ResultsFile>(coordinator);
    const health = (r.debiasing as { health: Health[] }).health;
    assert.deepEqual(health.map((h) => h.round), [1, 2, 3, 4]);
    for (const h of health) {
      assert.ok(h.weightedAssociation.oldpeak! > 0.3 && h.weightedAssociation.oldpeak! < 0.7, `outcome weights balance oldpeak: ${h.weightedAssociation.oldpeak}`);
      assert.ok(h.effectiveSampleSize > 0 && h.effectiveSampleSize <= 1);
      assert.equal(h.priorDrift, 0);
    }
    const reliance = health.map((h) => h.reliance.oldpeak!);
    assert.ok(new Set(reliance.map((v) => v.toFixed(6))).size > 1, `reliance moves with rounds: ${reliance}`);
    assert.ok(coordinator.logs.some((l) => l.message === 'debiasing health'), 'the coordinator logs the figures');
  });
});

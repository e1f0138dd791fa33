// deploy/prometheus: the scrape config and alert rules pass promtool, and the rules'
// unit tests (alerts.test.yml) pass: each alert fires on a series that should raise it.
// Skipped, with the reason, where promtool (Debian's prometheus package) is not installed.
// The unit tests' series carry the label sets of the coordinator's real /metrics (checked
// without promtool): a rule tested on made-up labels passed here and matched nothing live.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import YAML from 'yaml';
import { CoordinatorMetrics, reasonLabel } from '../../coordinator/metrics/coordinator-metrics.ts';
import { FEDERATION_STATES } from '../../shared/federation/state.ts';

const DIR = join('deploy', 'prometheus');
const skip = spawnSync('promtool', ['--version']).status === 0 ? false : 'promtool is not installed here (apt-get install prometheus)';

function promtool(...args: string[]): { status: number | null; out: string } {
  const r = spawnSync('promtool', args, { cwd: DIR, encoding: 'utf8' });
  return { status: r.status, out: r.stdout + r.stderr };
}

test('alert rules and scrape config pass promtool check', { skip }, () => {
  const rules = promtool('check', 'rules', 'alerts.yml');
  assert.equal(rules.status, 0, rules.out);
  assert.match(rules.out, /SUCCESS: 9 rules found/);
  // The scrape config reads the coordinator's token from a file beside it: check it with one there.
  const dir = mkdtempSync(join(tmpdir(), 'fedcausal-prometheus-'));
  try {
    cpSync(DIR, dir, { recursive: true });
    writeFileSync(join(dir, 'fedcausal-http-token'), 'token\n', { mode: 0o600 });
    const config = spawnSync('promtool', ['check', 'config', 'prometheus.yml'], { cwd: dir, encoding: 'utf8' });
    assert.equal(config.status, 0, config.stdout + config.stderr);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('alert rules fire on the series that should raise them (promtool test rules)', { skip }, () => {
  const r = promtool('test', 'rules', 'alerts.test.yml');
  assert.equal(r.status, 0, r.out);
});

/** `name{a="x", b="y"}` as promtool's input_series write it. */
function parseSeries(series: string): { name: string; labels: Record<string, string> } {
  const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?$/.exec(series.trim());
  assert.ok(m, `cannot read series ${series}`);
  const labels: Record<string, string> = {};
  for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*"((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!;
  return { name: m[1]!, labels };
}

test("alerts.test.yml's series carry the label names the coordinator's metrics declare", async () => {
  // The registry /metrics serves, with every kind of sample present (as in server.test.ts).
  const metrics = new CoordinatorMetrics(
    { round: () => 3, roundsPlanned: () => 20, state: () => 'finished', outcome: () => 'complete', sites: () => [{ name: 'cleveland', online: true }, { name: 'va', online: false, leftOut: 'joined after the statistics rounds' }] },
    FEDERATION_STATES,
  );
  metrics.roundCommitted({ accepted: false, durationSeconds: 3, participants: 1, metrics: { eval_auroc: 0.7 }, failed: [{ site: 'va', reason: 'no answer within the 60s round deadline' }] });
  metrics.refused('replayed', undefined);
  const rendered = await metrics.registry.getMetricsAsJSON();
  const declared = new Map<string, { type: string; labels: readonly string[] }>();
  for (const m of metrics.registry.getMetricsAsArray()) {
    const labels = (m as unknown as { labelNames?: readonly string[] }).labelNames;
    assert.ok(Array.isArray(labels), `prom-client exposes ${m.name}'s labelNames`);
    declared.set(m.name, { type: String(rendered.find((r) => r.name === m.name)?.type), labels });
  }
  // Label values that are a closed set: the ones the live render has.
  const values = new Map<string, Set<string>>();
  for (const m of rendered)
    for (const v of m.values) for (const [k, x] of Object.entries(v.labels)) values.set(`${m.name}/${k}`, (values.get(`${m.name}/${k}`) ?? new Set()).add(String(x)));
  const file = YAML.parse(readFileSync(join(DIR, 'alerts.test.yml'), 'utf8')) as { tests: { input_series: { series: string }[] }[] };
  let checked = 0;
  for (const t of file.tests)
    for (const { series } of t.input_series) {
      const { name, labels } = parseSeries(series);
      // Prometheus adds both to every scraped series; the rules match on(instance, job).
      assert.deepEqual([labels.job, typeof labels.instance], ['fedcausal', 'string'], `${series}: job="fedcausal" and an instance, as a scrape has`);
      const own = Object.keys(labels).filter((k) => k !== 'instance' && k !== 'job').sort();
      if (name === 'up') {
        assert.deepEqual(own, [], series);
        continue;
      }
      const base = /^(.*)_(bucket|sum|count)$/.exec(name);
      const metric = declared.get(name) ?? (base && declared.get(base[1]!)?.type === 'histogram' ? declared.get(base[1]!) : undefined);
      assert.ok(metric, `${series}: no metric ${name} in the coordinator's registry`);
      const expected = [...metric.labels, ...(base?.[2] === 'bucket' ? ['le'] : [])].sort();
      assert.deepEqual(own, expected, `${series}: the real ${name} has labels {${expected.join(', ')}}`);
      for (const k of ['state', 'outcome']) {
        const real = values.get(`${name}/${k}`);
        if (labels[k] !== undefined) assert.ok(real?.has(labels[k]), `${series}: ${k}="${labels[k]}" is none of ${[...(real ?? [])].join(', ')}`);
      }
      if (labels.reason !== undefined && name === 'fedcausal_site_failures_total') assert.equal(reasonLabel(labels.reason), labels.reason, `${series}: a reason as reasonLabel writes it`);
      checked++;
    }
  assert.ok(checked >= 20, `${checked} series checked`);
});

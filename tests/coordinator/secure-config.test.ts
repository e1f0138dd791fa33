// coordinator.yaml `secureAggregation`: its settings, and what it cannot go with, refused at load.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compileSecureAggregation } from '../../coordinator/secure-config.ts';
import { loadCoordinatorConfig } from '../../coordinator/config.ts';
import { coordinatorYaml } from './coordinator-yaml.ts';


const logreg = (d: Record<string, any>) => (d.model = { kind: 'logreg' });

test('secureAggregation loads with its defaults; off, or absent, it is undefined', async (t) => {
  const on = loadCoordinatorConfig(await coordinatorYaml(t, (d) => (logreg(d), (d.secureAggregation = { enabled: true, clipBound: 5 }))));
  assert.deepEqual(on.secureAggregation, { minSites: 3, clipBound: 5, maxExamples: 100_000 });
  const off = loadCoordinatorConfig(await coordinatorYaml(t, (d) => (d.secureAggregation = { enabled: false, threshold: 3 })));
  assert.equal(off.secureAggregation, undefined);
  assert.equal(loadCoordinatorConfig(await coordinatorYaml(t, () => {})).secureAggregation, undefined);
});

test('secure aggregation with FedMedian or trimmed mean is refused with the reason', async (t) => {
  const cases: [(d: Record<string, any>) => void, string][] = [
    [(d) => (logreg(d), (d.strategy = 'fedmedian')), "secureAggregation.enabled: cannot be true with strategy fedmedian: it needs each site's update (or, for scaffold, each site's gradient), and secure aggregation reveals only their sum (use one of fedavg, fedprox, fedadam, fedyogi, fedadagrad)"],
    [(d) => (logreg(d), (d.strategy = { name: 'trimmed-mean', trimFraction: 0.2 })), 'secureAggregation.enabled: cannot be true with strategy trimmed-mean'],
    [(d) => (logreg(d), (d.limits = { maxUpdateNorm: 5 })), 'limits.maxUpdateNorm: cannot be set with secureAggregation.enabled'],
  ];
  for (const [edit, message] of cases) {
    const path = await coordinatorYaml(t, (d) => (edit(d), (d.secureAggregation = { enabled: true })));
    assert.throws(() => loadCoordinatorConfig(path), (e: Error) => e.message.startsWith(`${path}: ${message}`));
  }
});

test('secure aggregation goes with the debiased model (the provisioned default): its health is summed in the secure vector', async (t) => {
  const cfg = loadCoordinatorConfig(await coordinatorYaml(t, (d) => (d.secureAggregation = { enabled: true })));
  assert.equal(cfg.model.kind, 'debiased');
  assert.deepEqual(cfg.secureAggregation, { minSites: 3, clipBound: 10, maxExamples: 100_000 });
});

test('secure aggregation with a schema of more modalities than secure statistics hold is refused at load', () => {
  assert.throws(() => compileSecureAggregation({ enabled: true }, { strategy: 'fedavg', model: 'debiased', trainingSites: 3, modalities: 15 }), /enabled: cannot be true with a schema of 15 modalities: secure statistics hold at most 14/);
  assert.ok(compileSecureAggregation({ enabled: true }, { strategy: 'fedavg', model: 'debiased', trainingSites: 3, modalities: 14 }));
});

test('bad secureAggregation fields name the field', async (t) => {
  const cases: [Record<string, unknown>, string][] = [
    [{ enabled: true, threshold: 1 }, 'secureAggregation.threshold: Too small: expected number to be >=2 (got 1)'],
    [{ enabled: true, threshold: 4 }, 'secureAggregation.threshold: must be more than half of and at most the 3 sites of a neighbourhood (got 4)'],
    [{ enabled: true, minSites: 4 }, 'secureAggregation.minSites: needs at least 4 training sites, the federation has 3'],
    [{ enabled: true, neighbours: 3 }, 'secureAggregation.neighbours: must be even'],
    [{ enabled: 'yes' }, 'secureAggregation.enabled: must be true or false (got "yes")'],
    [{ enabled: true, clip: 1 }, 'secureAggregation.clip: is not a known field'],
  ];
  for (const [section, message] of cases) {
    const path = await coordinatorYaml(t, (d) => (logreg(d), (d.secureAggregation = section)));
    assert.throws(() => loadCoordinatorConfig(path), (e: Error) => e.message.startsWith(`${path}: ${message}`), message);
  }
});

// coordinator.yaml is validated whole at start-up, the model section included, so a bad
// nested setting stops the coordinator before anything listens or any site joins.
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { loadCoordinatorConfig, type CoordinatorConfig } from '../../coordinator/config.ts';
import { configFingerprint, startCoordinator, startWarnings } from '../../coordinator/main.ts';
import { InputError } from '../../shared/errors.ts';
import { silentLogger } from '../../shared/logger.ts';
import { assertInputError } from '../cli/provision-helpers.ts';
import { coordinatorYaml } from './coordinator-yaml.ts';
import { freePort } from '../e2e/helpers/free-port.ts';



test('a provisioned coordinator.yaml loads, with the documented defaults', async (t) => {
  const cfg = loadCoordinatorConfig(await coordinatorYaml(t, () => {}));
  assert.deepEqual(cfg.model, { kind: 'debiased', raw: {} });
  assert.deepEqual(cfg.strategy, { name: 'fedavg', options: {} });
  assert.deepEqual(cfg.limits, { maxPayloadBytes: 2048 * 1024 * 1024, maxChunkSize: 1024 * 1024, maxMessageAgeMs: 600_000 });
  assert.equal(cfg.minCellCount, 5);
  assert.equal(cfg.quorum.waitForAllMs, 60_000);
  // Three sites: two connections each, and 16 more.
  assert.deepEqual(cfg.connections, { maxConnections: 22, maxStreamsPerConnection: 16, frameTimeoutMs: 30_000 });
  assert.deepEqual(cfg.bounds, { maxExamplesPerSite: 1_000_000, updateNormMultiple: 1.5, resultMetaBytes: 4096 * 1024 });
  assert.equal(cfg.refusalLogPerMinute, 20);
});

test('bad fields fail with the file and the field path', async (t) => {
  const cases: [(d: Record<string, any>) => void, string][] = [
    [(d) => (d.model.debiasing = { maxWeight: 'x' }), 'model.debiasing.maxWeight: must be a number in [1, 1000] (got "x")'],
    [(d) => (d.model.debiasing = { decide: { minMarkers: 0 } }), 'model.debiasing.decide.minMarkers: must be an integer in [1, 1000] (got 0)'],
    [(d) => (d.model.kind = 'forest'), 'model.kind: must be one of debiased, baseline, logreg (got "forest")'],
    [(d) => (d.model.learningRate = 0), 'model.learningRate: must be a number in [0.000001, 10] (got 0)'],
    [(d) => (d.strategy = { name: 'fedadam', beta1: 1 }), 'strategy.beta1: must be a number in [0, 1) (got 1)'],
    [(d) => (d.quorum.minSitesToAccept = 7), 'quorum.minSitesToAccept: must be an integer in [1, 3] (got 7)'],
    [(d) => (d.limits = { chunkKiB: 8 }), 'limits.chunkKiB: must be an integer in [16, 3072] (got 8)'],
    [(d) => (d.limits = { updateNormMultiple: 0.5 }), 'limits.updateNormMultiple: must be a number in [1, 1000000] (got 0.5)'],
    [(d) => (d.limits = { maxConnections: 2 }), 'limits.maxConnections: must be at least the 3 enrolled sites (got 2)'],
    [(d) => (d.listen.port = 1), 'listen.port: is not a known field; expected one of: host, grpcPort, httpPort, httpLingerSeconds, httpHost, httpAllowedHosts'],
    [(d) => delete d.federation, 'federation: is required'],
  ];
  for (const [edit, message] of cases) {
    const path = await coordinatorYaml(t, edit);
    assertInputError(() => loadCoordinatorConfig(path), `${path}: ${message}`);
  }
});

test('privacy.minCategoryCount: 5 by default, set as written, and nothing below 1 or unknown under privacy', async (t) => {
  assert.equal(loadCoordinatorConfig(await coordinatorYaml(t, () => {})).minCategoryCount, 5);
  assert.equal(loadCoordinatorConfig(await coordinatorYaml(t, (d) => (d.privacy = { minCategoryCount: 11 }))).minCategoryCount, 11);
  for (const [edit, message] of [
    [(d: Record<string, any>) => (d.privacy = { minCategoryCount: 0 }), 'privacy.minCategoryCount: must be an integer in [1, 1000000] (got 0)'],
    [(d: Record<string, any>) => (d.privacy = { minCategoryCount: 2.5 }), 'privacy.minCategoryCount: must be an integer in [1, 1000000] (got 2.5)'],
    [(d: Record<string, any>) => (d.privacy = { minCategoryCnt: 3 }), 'privacy.minCategoryCnt: is not a known field (did you mean "minCategoryCount"?); expected one of: minCategoryCount, dp'],
  ] as const) {
    const path = await coordinatorYaml(t, edit);
    assertInputError(() => loadCoordinatorConfig(path), `${path}: ${message}`);
  }
});

test('privacy.dp: off by default; enabled, its defaults; a delta above 0.01 or an unknown field is refused', async (t) => {
  assert.equal(loadCoordinatorConfig(await coordinatorYaml(t, () => {})).dp, undefined);
  assert.equal(loadCoordinatorConfig(await coordinatorYaml(t, (d) => (d.privacy = { dp: { clipNorm: 2 } }))).dp, undefined, 'settings without enabled: true stay off');
  assert.deepEqual(loadCoordinatorConfig(await coordinatorYaml(t, (d) => (d.privacy = { dp: { enabled: true } }))).dp, { clipNorm: 1, noiseMultiplier: 1, delta: 1e-5 });
  const bad = await coordinatorYaml(t, (d) => (d.privacy = { dp: { enabled: true, delta: 0.5 } }));
  assertInputError(() => loadCoordinatorConfig(bad), `${bad}: privacy.dp.delta: must be a number in (0, 0.01] (got 0.5)`);
  const unknown = await coordinatorYaml(t, (d) => (d.privacy = { dp: { epsilon: 1 } }));
  assertInputError(() => loadCoordinatorConfig(unknown), `${unknown}: privacy.dp.epsilon: is not a known field; expected one of: enabled, clipNorm, noiseMultiplier, delta, maxEpsilon`);
});

test('privacy.dp.maxEpsilon: a run that would spend more over its rounds is refused at start, naming ε, the rounds, the noise and what would fit', async (t) => {
  const over = await coordinatorYaml(t, (d) => ((d.rounds = 20), (d.privacy = { dp: { enabled: true, maxEpsilon: 50 } })));
  assertInputError(
    () => loadCoordinatorConfig(over),
    `${over}: privacy.dp.maxEpsilon: is 50, but this run would spend ε = 96.04 at δ = 1e-5 over its 20 fit rounds at privacy.dp.noiseMultiplier 1; ` +
      'within 50: rounds 8 or fewer at privacy.dp.noiseMultiplier 1, or privacy.dp.noiseMultiplier 1.56 or more for 20 rounds',
  );
  // What it said would fit does: 8 rounds, or 20 at noise 1.56.
  const eight = loadCoordinatorConfig(await coordinatorYaml(t, (d) => ((d.rounds = 8), (d.privacy = { dp: { enabled: true, maxEpsilon: 50 } }))));
  assert.deepEqual(eight.dp, { clipNorm: 1, noiseMultiplier: 1, delta: 1e-5, maxEpsilon: 50 });
  assert.equal(loadCoordinatorConfig(await coordinatorYaml(t, (d) => ((d.rounds = 20), (d.privacy = { dp: { enabled: true, noiseMultiplier: 1.56, maxEpsilon: 50 } })))).dp?.maxEpsilon, 50);
  // A budget on a run that is not differentially private would read as a bound it does not have.
  const off = await coordinatorYaml(t, (d) => (d.privacy = { dp: { maxEpsilon: 8 } }));
  assertInputError(() => loadCoordinatorConfig(off), `${off}: privacy.dp.maxEpsilon: has no effect without privacy.dp.enabled: true (this run would not be differentially private)`);
  const zero = await coordinatorYaml(t, (d) => (d.privacy = { dp: { enabled: true, maxEpsilon: 0 } }));
  assertInputError(() => loadCoordinatorConfig(zero), `${zero}: privacy.dp.maxEpsilon: must be a number in (0, 1000000] (got 0)`);
  // The budget bounds the run, not its model: a restart may set or change it and still resume.
  assert.equal(configFingerprint(eight), configFingerprint({ ...eight, dp: { clipNorm: 1, noiseMultiplier: 1, delta: 1e-5 } }));
});

test('the coordinator warns at start of a run planned past ε 10 with no budget, naming ε and how to bound it; not under 10, nor with a budget', async (t) => {
  const warnings = (cfg: CoordinatorConfig) => {
    const lines: { message: string; fields?: Record<string, unknown> }[] = [];
    startWarnings(cfg, { ...silentLogger, warn: (message, fields) => lines.push({ message, ...(fields ? { fields } : {}) }) });
    return lines.filter((l) => l.fields?.setting === 'privacy.dp');
  };
  const defaults = loadCoordinatorConfig(await coordinatorYaml(t, (d) => ((d.rounds = 20), (d.privacy = { dp: { enabled: true } }))));
  assert.deepEqual(warnings(defaults), [
    {
      message: 'differential privacy: this run would spend ε = 96.04 at δ = 1e-5 over its 20 fit rounds at privacy.dp.noiseMultiplier 1, above 10: little formal protection of a patient',
      fields: {
        setting: 'privacy.dp',
        remedy: 'privacy.dp.maxEpsilon sets the most ε a run may spend (a run planned past it does not start); within 10: not one round at privacy.dp.noiseMultiplier 1, or privacy.dp.noiseMultiplier 5.3 or more for 20 rounds',
      },
    },
  ]);
  // 20 rounds at noise 5.3 spend under 10; 20 at the defaults within a budget of 100 were chosen.
  assert.deepEqual(warnings({ ...defaults, dp: { ...defaults.dp!, noiseMultiplier: 5.3 } }), []);
  assert.deepEqual(warnings({ ...defaults, dp: { ...defaults.dp!, maxEpsilon: 100 } }), []);
  assert.deepEqual(warnings({ ...defaults, dp: undefined }), []);
});

test('privacy.dp with strategy scaffold is refused: its control variates are un-noised gradients', async (t) => {
  const path = await coordinatorYaml(t, (d) => ((d.privacy = { dp: { enabled: true } }), (d.strategy = 'scaffold')));
  assertInputError(() => loadCoordinatorConfig(path), `${path}: privacy.dp.enabled: cannot be true with strategy scaffold: its sites send an un-noised gradient of their rows (the control variate) that DP would not cover`);
  assert.equal(loadCoordinatorConfig(await coordinatorYaml(t, (d) => (d.strategy = { name: 'scaffold', controlNormMultiple: 5 }))).strategy.name, 'scaffold');
});

test('a debiasing suspect or trusted name the kit schema lacks is refused at start, as provision refuses it', async (t) => {
  const path = await coordinatorYaml(t, (d) => (d.model = { kind: 'debiased', debiasing: { trusted: ['age'], suspect: ['thal', 'bogus'] } }));
  assertInputError(
    () => loadCoordinatorConfig(path),
    `${path}: model.debiasing.suspect[1]: "bogus" is not a feature of the schema ${join(dirname(path), 'schema.json')} ` +
      '(its features: age, sex, cp, trestbps, restecg, chol, fbs, thalach, exang, oldpeak, slope, ca, thal)',
  );
});

test('the coordinator refuses a bad nested model setting at start, before it listens', async (t) => {
  const grpcPort = await freePort();
  const path = await coordinatorYaml(t, (d) => Object.assign(d, { listen: { ...d.listen, grpcPort }, model: { kind: 'debiased', debiasing: { weighting: 'balanced' } } }));
  await assert.rejects(
    startCoordinator(path, silentLogger, () => ({})),
    (e: unknown) =>
      e instanceof InputError &&
      e.message === `${path}: model.debiasing.weighting: must be one of outcome, drop, adaptive, group-balanced, lff (got "balanced")`,
  );
  // Nothing was left listening on the configured gRPC port.
  const probe = createServer();
  await new Promise<void>((resolve, reject) => probe.once('error', reject).listen(grpcPort, '127.0.0.1', resolve));
  await new Promise((r) => probe.close(r));
});

test('listen may be left out: the documented defaults (loopback, 7443, 8080)', async (t) => {
  const cfg = loadCoordinatorConfig(await coordinatorYaml(t, (d) => delete d.listen));
  assert.deepEqual(
    { host: cfg.listen.host, grpcPort: cfg.listen.grpcPort, httpPort: cfg.listen.httpPort, httpHost: cfg.listen.httpHost },
    { host: '127.0.0.1', grpcPort: 7443, httpPort: 8080, httpHost: '127.0.0.1' },
  );
});

test('faults in the model section are listed with the rest of the file, in one message', async (t) => {
  const path = await coordinatorYaml(t, (d) => {
    d.rouns = 3;
    d.model = { knd: 'debiased', debiasing: { mod: 'auto', weighting: 'balanced' } };
  });
  assertInputError(
    () => loadCoordinatorConfig(path),
    [
      `${path}: rouns: is not a known field (did you mean "rounds"?); expected one of: federation, listen, rounds, seed, model, strategy, quorum, priors, privacy, schema, identity, manifest, root, runDir, stateDir, localBaseline, limits, allowNonLoopback, secureAggregation`,
      // The debiasing list offers only what a file may set (active, flagged and reason are the run's).
      `${path}: model.debiasing.mod: is not a known field (did you mean "mode"?); expected one of: mode, suspect, trusted, maxWeight, reversalTolerance, share, weighting, biasInputs, deconfound, adjustment, balancing, confounderDim, headHidden, gceQ, lambdaBias, lambdaSwap, lambdaInd, swapWarmupEpochs, emaDecay, decide`,
      `${path}: model.knd: is not a known field (did you mean "kind"?); expected one of: kind, modalityDim, hiddenDim, localEpochs, batchSize, learningRate, weightDecay, debiasing`,
      `${path}: model.debiasing.weighting: must be one of outcome, drop, adaptive, group-balanced, lff (got "balanced")`,
      `${path}: model.kind: is required`,
    ].join('\n'),
  );
});

test('a site.yaml or a federation file handed to the coordinator is named as such', async (t) => {
  const path = await coordinatorYaml(t, (d) => {
    for (const k of Object.keys(d)) delete d[k];
    Object.assign(d, { site: 'cleveland', federation: 'f', coordinator: {}, data: 'x.csv' });
  });
  assertInputError(
    () => loadCoordinatorConfig(path),
    `${path}: this looks like a site.yaml (it has "site" and "data"), not a coordinator.yaml; a site.yaml is read by \`fedcausal site start --config FILE\`, and this command needs a coordinator.yaml`,
  );
});

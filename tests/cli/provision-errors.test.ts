import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import YAML from 'yaml';
import { InputError } from '../../shared/errors.ts';
import { provisionFederation, readFederationFile } from '../../cli/provision.ts';
import { DATA, SITES, tempDir, federationYaml, assertInputError } from './provision-helpers.ts';

function variant(dir: string, edit: (doc: Record<string, any>) => void): string {
  const doc: Record<string, any> = {
    name: 'heart',
    coordinator: { host: '127.0.0.1', grpcPort: 7443, httpPort: 8080 },
    rounds: 20,
    model: 'debiased',
    schema: join(DATA, 'schema.json'),
    sites: SITES.map((s) => ({ name: s.name, data: join(DATA, s.file) })),
  };
  edit(doc);
  const file = join(dir, `fed-${Math.random().toString(36).slice(2)}.yaml`);
  writeFileSync(file, YAML.stringify(doc));
  return file;
}

/** The heart-disease schema's features, in modality order (the label, num, is not one). */
const HEART_FEATURES = 'age, sex, cp, trestbps, restecg, chol, fbs, thalach, exang, oldpeak, slope, ca, thal';

test('invalid federation files fail with exact messages naming the file and field', (t) => {
  const dir = tempDir(t);
  const cases: [(d: Record<string, any>) => void, string][] = [
    [(d) => (d.sites[2].name = 'cleveland'), 'sites[2].name: duplicates sites[0].name "cleveland"; site names must be unique'],
    [(d) => delete d.rounds, 'rounds: is required'],
    [(d) => delete d.name, 'name: is required'],
    [(d) => delete d.sites[1].data, 'sites[1].data: is required'],
    // Left out, a port takes coordinator.yaml's default (7443 gRPC, 8080 HTTP), which may then clash.
    [(d) => (delete d.coordinator.httpPort, (d.coordinator.grpcPort = 8080)), 'coordinator.httpPort: must differ from coordinator.grpcPort (both are 8080)'],
    [(d) => delete d.coordinator, 'coordinator: is required'],
    [(d) => (d.coordinator = 'localhost'), 'coordinator: must be a mapping (got "localhost")'],
    [(d) => (d.coordinator.grpcPort = 70000), 'coordinator.grpcPort: must be an integer in [1, 65535] (got 70000)'],
    [(d) => (d.coordinator.httpPort = 0), 'coordinator.httpPort: must be an integer in [1, 65535] (got 0)'],
    // What coordinator.yaml would refuse at start, said at provisioning with this file's field.
    [(d) => Object.assign(d, { secureAggregation: true, sites: d.sites.slice(0, 2) }), 'secureAggregation: needs at least 3 training sites, the federation has 2: with fewer, a site could read the others\' values off the sum'],
    [(d) => Object.assign(d, { secureAggregation: true, strategy: 'scaffold' }), 'secureAggregation: cannot be true with strategy scaffold: it needs each site\'s update (or, for scaffold, each site\'s gradient), and secure aggregation reveals only their sum (use one of fedavg, fedprox, fedadam, fedyogi, fedadagrad)'],
    [(d) => (d.secureAggregation = 'yes'), 'secureAggregation: must be true or false (got "yes")'],
    [(d) => (d.coordinator.httpPort = '8080'), 'coordinator.httpPort: must be an integer in [1, 65535] (got "8080")'],
    [(d) => (d.coordinator.httpPort = 7443), 'coordinator.httpPort: must differ from coordinator.grpcPort (both are 7443)'],
    [
      (d) => (d.coordinator.host = '0.0.0.0'),
      'coordinator.host: is "0.0.0.0", which is not a loopback address (127.0.0.1, ::1, localhost); set allowNonLoopback: true to serve other machines',
    ],
    [(d) => (d.coordinator.host = 'bad host!'), 'coordinator.host: must be an IP address or host name (got "bad host!")'],
    [
      (d) => (d.sites[0].name = 'Cleveland'),
      'sites[0].name: must match /^[a-z0-9][a-z0-9_-]{0,62}$/ (lowercase letters, digits, "_" and "-") (got "Cleveland")',
    ],
    [(d) => (d.sites = []), 'sites: must be a non-empty list of { name, data } (got [])'],
    [(d) => (d.sites[1] = 'hungary'), 'sites[1]: must be a mapping { name, data } (got "hungary")'],
    [(d) => (d.sites[0].path = 'x'), 'sites[0].path: is not a known field; expected one of: name, data'],
    [
      (d) => (d.round = 3),
      'round: is not a known field (did you mean "rounds"?); expected one of: name, coordinator, rounds, model, schema, sites, strategy, seed, minSites, roundDeadlineSeconds, allowNonLoopback, secureAggregation',
    ],
    [(d) => (d.model = 'forest'), 'model.kind: must be one of debiased, baseline, logreg (got "forest")'],
    [(d) => (d.model = { localEpochs: 2 }), 'model.kind: is required'],
    [(d) => (d.model = { kind: 'debiased', localEpochs: 0 }), 'model.localEpochs: must be an integer in [1, 1000] (got 0)'],
    [(d) => (d.model = { kind: 'debiased', debiasing: { maxWeight: 'x' } }), 'model.debiasing.maxWeight: must be a number in [1, 1000] (got "x")'],
    [(d) => (d.model = { kind: 'debiased', debiasing: { suspect: ['a'], trusted: ['a'] } }), 'model.debiasing: "a" is listed as both suspect and trusted'],
    [
      (d) => (d.model = { kind: 'debiased', debiasing: { suspect: ['chol', 'cholesterol'] } }),
      `model.debiasing.suspect[1]: "cholesterol" is not a feature of the schema ${join(DATA, 'schema.json')} (its features: ${HEART_FEATURES})`,
    ],
    [
      (d) => (d.model = { kind: 'baseline', debiasing: { trusted: ['num'] } }),
      `model.debiasing.trusted[0]: "num" is not a feature of the schema ${join(DATA, 'schema.json')} (its features: ${HEART_FEATURES})`,
    ],
    [
      (d) => (d.model = { kind: 'logreg', debias: {} }),
      'model.debias: is not a known field (did you mean "debiasing"?); expected one of: kind, modalityDim, hiddenDim, localEpochs, batchSize, learningRate, weightDecay, debiasing',
    ],
    [(d) => (d.strategy = 'fedsgd'), 'strategy.name: must be one of fedavg, fedprox, fedadam, fedyogi, fedadagrad, scaffold, fedmedian, trimmed-mean (got "fedsgd")'],
    [(d) => (d.strategy = { name: 'fedprox', proximalMu: -1 }), 'strategy.proximalMu: must be a number in [0, 100] (got -1)'],
    [(d) => (d.rounds = 2.5), 'rounds: must be an integer in [1, 100000] (got 2.5)'],
    [(d) => (d.minSites = 0), 'minSites: must be an integer in [1, 100000] (got 0)'],
    [(d) => (d.seed = 2 ** 31), 'seed: must be an integer in [0, 2147483647] (got 2147483648)'],
    [(d) => (d.roundDeadlineSeconds = 0), 'roundDeadlineSeconds: must be a number in [1, 86400] (got 0)'],
  ];
  for (const [edit, message] of cases) {
    const file = variant(dir, edit);
    assertInputError(() => readFederationFile(file), `${file}: ${message}`);
  }
  // The schema is validated too, with its own path in the message.
  const badSchema = join(dir, 'schema.json');
  writeFileSync(badSchema, JSON.stringify({ modalities: {} }));
  const file = variant(dir, (d) => (d.schema = 'schema.json')); // relative to the federation file
  assertInputError(() => readFederationFile(file), `${badSchema}: label: is required\n${badSchema}: modalities: must name at least one modality (got {})`);
  // Non-loopback is allowed when asked for, beside the host or at the top level.
  const open = variant(dir, (d) => Object.assign(d.coordinator, { host: '10.1.2.3', allowNonLoopback: true }));
  assert.equal(readFederationFile(open).coordinator.host, '10.1.2.3');
  const openTop = variant(dir, (d) => Object.assign(d, { allowNonLoopback: true }, { coordinator: { ...d.coordinator, host: 'hospital.example.org' } }));
  assert.equal(readFederationFile(openTop).coordinator.allowNonLoopback, true);
});

test('provision refuses a non-empty output folder and writes nothing on error', async (t) => {
  const dir = tempDir(t);
  const fed = federationYaml(dir);
  const out = join(dir, 'out');
  mkdirSync(out);
  writeFileSync(join(out, 'keep.txt'), 'x');
  await assert.rejects(() => provisionFederation(fed, out), (err: unknown) => {
    assert.ok(err instanceof InputError, `expected InputError, got ${String(err)}`);
    assert.equal(err.message, `--out ${out}: folder is not empty; refusing to write a federation over existing files (and keys)`);
    return true;
  });
  assert.deepEqual(readdirSync(out), ['keep.txt']);
  // An empty folder is fine.
  const empty = join(dir, 'empty');
  mkdirSync(empty);
  await provisionFederation(fed, empty);
  assert.ok(existsSync(join(empty, 'coordinator', 'start.sh')));
  // A bad federation file leaves no output and no temporary folder.
  const bad = variant(dir, (d) => (d.rounds = 0));
  const before = readdirSync(dir).sort();
  await assert.rejects(() => provisionFederation(bad, join(dir, 'never')), InputError);
  assert.deepEqual(readdirSync(dir).sort(), before);
});

test('a federation file: faults of the model section are listed with the rest, and a site.yaml is named as one', (t) => {
  const dir = tempDir(t);
  const both = variant(dir, (d) => {
    delete d.rounds;
    d.model = { kind: 'debiased', learningRate: 0 };
  });
  assertInputError(() => readFederationFile(both), `${both}: rounds: is required\n${both}: model.learningRate: must be a number in [0.000001, 10] (got 0)`);
  const site = variant(dir, (d) => {
    for (const k of Object.keys(d)) delete d[k];
    Object.assign(d, { site: 'cleveland', federation: 'heart', coordinator: {}, data: 'x.csv' });
  });
  assertInputError(
    () => readFederationFile(site),
    `${site}: this looks like a site.yaml (it has "site" and "data"), not a federation file; a site.yaml is read by \`fedcausal site start --config FILE\`, and this command needs a federation file`,
  );
});

test("the federation file's ports may be left out: coordinator.yaml's defaults, 7443 and 8080", (t) => {
  const dir = tempDir(t);
  const spec = readFederationFile(variant(dir, (d) => (delete d.coordinator.grpcPort, delete d.coordinator.httpPort)));
  assert.deepEqual([spec.coordinator.grpcPort, spec.coordinator.httpPort], [7443, 8080]);
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import YAML from 'yaml';
import { InputError } from '../../shared/errors.ts';
import { encodeKey, generateIdentity, readIdentityFile } from '../../shared/crypto/keys.ts';
import { isLoopbackHost, provisionFederation, secureAggregationLine } from '../../cli/provision.ts';
import { loadCoordinatorConfig } from '../../coordinator/config.ts';
import { loadManifest, loadRootPublicKey, signManifest, verifyManifest } from '../../shared/federation/manifest.ts';
import { DATA, SITES, tempDir, federationYaml, mode, assertInputError } from './provision-helpers.ts';

test('provision writes a complete kit for the coordinator and each site', async (t) => {
  const dir = tempDir(t);
  const fed = federationYaml(dir);
  const out = join(dir, 'out');
  const res = await provisionFederation(fed, out);

  assert.equal(res.federation, 'heart');
  assert.equal(res.outDir, out);
  assert.deepEqual(
    res.siteKits.map((k) => k.name),
    SITES.map((s) => s.name),
  );

  assert.deepEqual(readdirSync(out).sort(), ['ca', 'coordinator', 'sites']);
  assert.deepEqual(readdirSync(join(out, 'ca')).sort(), ['ca.key.pem', 'ca.pem', 'crl.pem', 'issued', 'manifest.json', 'root.identity.json', 'root.json']);
  assert.equal(readdirSync(join(out, 'ca', 'issued')).length, 1 + SITES.length, 'one certificate per site and the server');
  assert.equal(mode(join(out, 'ca', 'root.identity.json')), 0o600);
  assert.deepEqual(readdirSync(join(out, 'coordinator')).sort(), [
    'coordinator.yaml',
    'http-token',
    'identity.json',
    'manifest.json',
    'root.json',
    'schema.json',
    'start.sh',
    'tls',
  ]);
  assert.deepEqual(readdirSync(join(out, 'coordinator', 'tls')).sort(), ['ca.pem', 'crl.pem', 'server.key.pem', 'server.pem']);
  assert.equal(mode(join(out, 'coordinator', 'http-token')), 0o600, 'the HTTP token is a secret of the coordinator kit');
  assert.deepEqual(readdirSync(join(out, 'sites')).sort(), SITES.map((s) => s.name).sort());
  for (const s of SITES) {
    assert.deepEqual(readdirSync(join(out, 'sites', s.name)).sort(), [
      'identity.json',
      'manifest.json',
      'root.json',
      'schema.json',
      'site.yaml',
      'start.sh',
      'tls',
    ]);
    assert.deepEqual(readdirSync(join(out, 'sites', s.name, 'tls')).sort(), ['ca.pem', 'client.key.pem', 'client.pem']);
  }

  const schema = readFileSync(join(DATA, 'schema.json'));
  for (const kit of [res.coordinatorKit, ...res.siteKits.map((k) => k.dir)]) {
    assert.equal(mode(join(kit, 'identity.json')), 0o600, `${kit}/identity.json`);
    assert.equal(mode(join(kit, 'start.sh')), 0o700, `${kit}/start.sh`);
    assert.deepEqual(readFileSync(join(kit, 'schema.json')), schema);
    // Kits are handed out; their files must be readable/writable by the owner at least.
    assert.ok((mode(join(kit, 'schema.json')) & 0o600) === 0o600);
  }
  // No temporary folder left beside DIR.
  assert.deepEqual(readdirSync(dir).sort(), ['federation.yaml', 'out']);
});

test('start.sh runs the installed fedcausal from the kit folder, and says so when none is installed', async (t) => {
  const dir = tempDir(t);
  const res = await provisionFederation(federationYaml(dir), join(dir, 'out'));
  const coord = readFileSync(join(res.coordinatorKit, 'start.sh'), 'utf8');
  assert.ok(coord.startsWith('#!/usr/bin/env bash\n'));
  assert.ok(!coord.includes(process.cwd()), 'no path of the provisioning machine');
  assert.ok(!/\bnpx\b/.test(coord.replace(/^#.*$/gm, '')), 'no npx: nothing fetched from a registry');
  // A stand-in for the installed bin records where it ran and with what.
  const fake = join(dir, 'fake-fedcausal');
  writeFileSync(fake, '#!/usr/bin/env bash\necho "$PWD|$*"\n', { mode: 0o755 });
  const siteKit = res.siteKits[0]!.dir;
  const ran = spawnSync('bash', [join(siteKit, 'start.sh')], { env: { ...process.env, FEDCAUSAL_BIN: fake }, encoding: 'utf8' });
  assert.equal(ran.status, 0, ran.stderr);
  assert.equal(ran.stdout.trim(), `${siteKit}|site start --config site.yaml`);
  const ranCoord = spawnSync('bash', [join(res.coordinatorKit, 'start.sh')], { env: { ...process.env, FEDCAUSAL_BIN: fake }, encoding: 'utf8' });
  assert.equal(ranCoord.stdout.trim(), `${res.coordinatorKit}|coordinator start --config coordinator.yaml`);
  // No fedcausal on PATH and none named: a clear message, exit 127, nothing started.
  const none = spawnSync('bash', [join(siteKit, 'start.sh')], { env: { PATH: '/usr/bin:/bin' }, encoding: 'utf8' });
  assert.equal(none.status, 127);
  assert.match(none.stderr, /fedcausal is not installed on this host \(install the release tarball/);
});

test('coordinator.yaml and site.yaml carry the documented fields', async (t) => {
  const dir = tempDir(t);
  const res = await provisionFederation(
    federationYaml(dir, 'seed: 7\nminSites: 2\nroundDeadlineSeconds: 120\nstrategy: { name: fedprox, proximalMu: 0.01 }\n'),
    join(dir, 'out'),
  );
  const c = YAML.parse(readFileSync(join(res.coordinatorKit, 'coordinator.yaml'), 'utf8'));
  assert.deepEqual(c, {
    federation: 'heart',
    listen: { host: '127.0.0.1', grpcPort: 7443, httpPort: 8080, httpLingerSeconds: 60 },
    rounds: 20,
    seed: 7,
    model: { kind: 'debiased' },
    strategy: { name: 'fedprox', proximalMu: 0.01 },
    quorum: { minSitesToStart: 2, minSitesToAccept: 2, roundDeadlineSeconds: 120 },
    schema: 'schema.json',
    identity: 'identity.json',
    manifest: 'manifest.json',
    root: 'root.json',
    runDir: 'runs',
    // Written out when off too, so the operator reading the file sees it.
    secureAggregation: { enabled: false },
  });
  for (const [i, s] of SITES.entries()) {
    const y = YAML.parse(readFileSync(join(res.siteKits[i]!.dir, 'site.yaml'), 'utf8'));
    assert.deepEqual(y, {
      site: s.name,
      federation: 'heart',
      coordinator: { address: '127.0.0.1:7443' },
      data: join(DATA, s.file), // the relative path, resolved against the federation file
      schema: 'schema.json',
      identity: 'identity.json',
      manifest: 'manifest.json',
      root: 'root.json',
      testFraction: 0.3,
      seed: 7,
    });
  }
});

test('defaults: fedavg, seed 1, every site to start, a lost site tolerated (max(2, half)) to accept, 600 s deadline; minSites above the site count is clamped', async (t) => {
  const dir = tempDir(t);
  const res = await provisionFederation(federationYaml(dir, 'minSites: 10\n'), join(dir, 'out'));
  const c = YAML.parse(readFileSync(join(res.coordinatorKit, 'coordinator.yaml'), 'utf8'));
  assert.deepEqual(c.strategy, { name: 'fedavg' });
  assert.equal(c.seed, 1);
  assert.deepEqual(c.quorum, { minSitesToStart: 3, minSitesToAccept: 2, roundDeadlineSeconds: 600 });
});

test('model as a mapping keeps its settings', async (t) => {
  const dir = tempDir(t);
  const fed = federationYaml(dir);
  writeFileSync(
    fed,
    readFileSync(fed, 'utf8').replace('model: debiased', 'model: { kind: baseline, localEpochs: 3, debiasing: { mode: auto } }'),
  );
  const res = await provisionFederation(fed, join(dir, 'out'));
  const c = YAML.parse(readFileSync(join(res.coordinatorKit, 'coordinator.yaml'), 'utf8'));
  assert.deepEqual(c.model, { kind: 'baseline', localEpochs: 3, debiasing: { mode: 'auto' } });
});

test('a site kit holds only its own secrets and never the root secret', async (t) => {
  const dir = tempDir(t);
  const out = join(dir, 'out');
  const res = await provisionFederation(federationYaml(dir), out);
  const root = readIdentityFile(join(out, 'ca', 'root.identity.json'));
  const coordinator = readIdentityFile(join(res.coordinatorKit, 'identity.json'));
  const sites = res.siteKits.map((k) => ({ ...k, id: readIdentityFile(join(k.dir, 'identity.json')) }));
  const secrets = (id: ReturnType<typeof readIdentityFile>) => [encodeKey(id.signing.secretKey), encodeKey(id.box.secretKey)];

  const manifest = loadManifest(join(res.coordinatorKit, 'manifest.json'));
  for (const s of sites) {
    const entry = manifest.sites.find((m) => m.name === s.name)!;
    assert.equal(entry.signingPublicKey, encodeKey(s.id.signing.publicKey), `${s.name}'s identity matches its manifest entry`);
    assert.equal(entry.boxPublicKey, encodeKey(s.id.box.publicKey));
    const everything = kitText(s.dir);
    for (const k of secrets(s.id)) assert.ok(everything.includes(k), 'its own secret is there');
    const forbidden = [
      ...secrets(root),
      ...secrets(coordinator),
      ...sites.filter((o) => o.name !== s.name).flatMap((o) => secrets(o.id)),
    ];
    for (const k of forbidden) assert.ok(!everything.includes(k), `${s.name}'s kit must not contain a foreign secret`);
  }
  // The coordinator kit holds no site's or root's secret either.
  const coordFiles = kitText(res.coordinatorKit);
  for (const k of [...secrets(root), ...sites.flatMap((s) => secrets(s.id))]) assert.ok(!coordFiles.includes(k));
  // The TLS CA key is in no kit; each TLS private key is in its own kit only.
  const caKey = pemBody(readFileSync(join(out, 'ca', 'ca.key.pem'), 'utf8'));
  const tlsKeys = [join(res.coordinatorKit, 'tls', 'server.key.pem'), ...res.siteKits.map((k) => join(k.dir, 'tls', 'client.key.pem'))].map((p) => ({
    kit: dirname(dirname(p)),
    key: pemBody(readFileSync(p, 'utf8')),
  }));
  for (const kit of [res.coordinatorKit, ...res.siteKits.map((k) => k.dir)]) {
    const text = kitText(kit).replace(/\s/g, '');
    assert.ok(!text.includes(caKey), `${kit} must not hold the CA key`);
    for (const k of tlsKeys) assert.equal(text.includes(k.key), k.kit === kit, `${kit}: TLS key of ${k.kit}`);
  }
  // Distinct identities everywhere.
  const publics = new Set([root, coordinator, ...sites.map((s) => s.id)].map((id) => encodeKey(id.signing.publicKey)));
  assert.equal(publics.size, 2 + sites.length);
});

test('the manifest verifies against root.json and fails when a byte changes', async (t) => {
  const dir = tempDir(t);
  const res = await provisionFederation(federationYaml(dir), join(dir, 'out'));
  const kit = res.siteKits[1]!.dir;
  const { federation, publicKey } = loadRootPublicKey(join(kit, 'root.json'));
  assert.equal(federation, 'heart');
  assert.equal(encodeKey(publicKey), res.rootPublicKey);

  const path = join(kit, 'manifest.json');
  const m = loadManifest(path, publicKey);
  assert.equal(m.federation, 'heart');
  assert.equal(m.version, 1);
  assert.equal(m.coordinator.grpcAddress, '127.0.0.1:7443');
  assert.equal(m.coordinator.httpAddress, 'http://127.0.0.1:8080');
  assert.deepEqual(
    m.sites.map((s) => s.name),
    SITES.map((s) => s.name),
  );
  const coord = readIdentityFile(join(res.coordinatorKit, 'identity.json'));
  assert.equal(m.coordinator.signingPublicKey, encodeKey(coord.signing.publicKey));
  assert.equal(m.coordinator.boxPublicKey, encodeKey(coord.box.publicKey));
  // base64 root key works too; re-indenting keeps it valid (canonical form is signed).
  const original = readFileSync(path, 'utf8');
  writeFileSync(path, JSON.stringify(JSON.parse(original)));
  assert.deepEqual(loadManifest(path, res.rootPublicKey), m);

  const badSig = `manifest ${path}: signature does not verify against the federation root key (the manifest was altered or belongs to another federation)`;
  // One byte of the federation name.
  writeFileSync(path, original.replace('"federation": "heart"', '"federation": "heary"'));
  assertInputError(() => loadManifest(path, publicKey), badSig);
  // Without a root key only the shape is checked.
  assert.equal(loadManifest(path).federation, 'heary');
  // One byte of a site name.
  writeFileSync(path, original.replace('"name": "hungary"', '"name": "hungarx"'));
  assertInputError(() => loadManifest(path, publicKey), badSig);
  // One byte of the signature.
  const doc = JSON.parse(original);
  const sig = Buffer.from(doc.signature, 'base64');
  sig[10] = sig[10]! ^ 1;
  writeFileSync(path, JSON.stringify({ ...doc, signature: sig.toString('base64') }));
  assertInputError(() => loadManifest(path, publicKey), badSig);
  // The right manifest under another federation's root key.
  writeFileSync(path, original);
  assertInputError(() => loadManifest(path, generateIdentity().signing.publicKey), badSig);
});

test('signManifest / verifyManifest round trip', async () => {
  const root = generateIdentity();
  const id = generateIdentity();
  const manifest = {
    federation: 'x',
    version: 1 as const,
    coordinator: { signingPublicKey: encodeKey(id.signing.publicKey), boxPublicKey: encodeKey(id.box.publicKey), grpcAddress: 'a:1', httpAddress: 'http://a:2' },
    sites: [],
  };
  const signed = signManifest(manifest, root.signing.secretKey);
  assert.ok(verifyManifest(signed, root.signing.publicKey));
  assert.ok(!verifyManifest({ ...signed, manifest: { ...manifest, federation: 'y' } }, root.signing.publicKey));
  assert.ok(!verifyManifest({ ...signed, signature: 'not base64!' }, root.signing.publicKey));
});

test('loadManifest rejects malformed files, naming the path and field', async (t) => {
  const dir = tempDir(t);
  const path = join(dir, 'manifest.json');
  writeFileSync(path, '{ nope');
  assert.throws(() => loadManifest(path), (e: unknown) => e instanceof InputError && e.message.startsWith(`manifest ${path} is not valid JSON`));
  writeFileSync(path, JSON.stringify({ manifest: { federation: 'x', version: 2 }, signature: '' }));
  assertInputError(() => loadManifest(path), `manifest ${path}: field "manifest.version" must be 1, got 2`);
  const id = generateIdentity();
  const good = {
    federation: 'x',
    version: 1,
    coordinator: { signingPublicKey: encodeKey(id.signing.publicKey), boxPublicKey: encodeKey(id.box.publicKey), grpcAddress: 'a:1', httpAddress: 'http://a:2' },
    sites: [{ name: 'a', signingPublicKey: 'AAAA', boxPublicKey: encodeKey(id.box.publicKey) }],
  };
  writeFileSync(path, JSON.stringify({ manifest: good, signature: '' }));
  assertInputError(
    () => loadManifest(path),
    `manifest ${path}: field "manifest.sites[0].signingPublicKey" decodes to 3 bytes, expected 32`,
  );
  assertInputError(
    () => loadManifest(join(dir, 'absent.json')),
    `manifest ${join(dir, 'absent.json')} is missing: put it back beside the config, from a backup or the kit as delivered, or ask the federation operator for the copy under ca/ in the provisioning folder`,
  );
});

test('a JSON federation file works the same', async (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'federation.json');
  writeFileSync(
    file,
    JSON.stringify({
      name: 'heart',
      coordinator: { host: 'localhost', grpcPort: 7000, httpPort: 7001 },
      rounds: 3,
      model: 'logreg',
      schema: join(DATA, 'schema.json'),
      sites: [{ name: 'cleveland', data: join(DATA, 'processed.cleveland.data') }],
    }),
  );
  const res = await provisionFederation(file, join(dir, 'kits'));
  const y = YAML.parse(readFileSync(join(res.siteKits[0]!.dir, 'site.yaml'), 'utf8'));
  assert.equal(y.coordinator.address, 'localhost:7000');
});

test('an IPv6 loopback host is bracketed in addresses', async (t) => {
  const dir = tempDir(t);
  const fed = federationYaml(dir);
  writeFileSync(fed, readFileSync(fed, 'utf8').replace('host: 127.0.0.1', 'host: "::1"'));
  const res = await provisionFederation(fed, join(dir, 'out'));
  const m = loadManifest(join(res.coordinatorKit, 'manifest.json'), res.rootPublicKey);
  assert.equal(m.coordinator.grpcAddress, '[::1]:7443');
  assert.equal(m.coordinator.httpAddress, 'http://[::1]:8080');
  const c = YAML.parse(readFileSync(join(res.coordinatorKit, 'coordinator.yaml'), 'utf8'));
  assert.equal(c.listen.host, '::1');
  assert.equal(c.allowNonLoopback, undefined);
});

test('secureAggregation: true in the federation file turns it on in coordinator.yaml, and the kit loads', async (t) => {
  const dir = tempDir(t);
  const res = await provisionFederation(federationYaml(dir, 'secureAggregation: true\n'), join(dir, 'out'));
  assert.equal(res.secureAggregation, true);
  const c = YAML.parse(readFileSync(join(res.coordinatorKit, 'coordinator.yaml'), 'utf8'));
  assert.deepEqual(c.secureAggregation, { enabled: true });
  assert.equal(loadCoordinatorConfig(join(res.coordinatorKit, 'coordinator.yaml')).secureAggregation?.minSites, 3);
  assert.match(secureAggregationLine(true), /^secure aggregation: on /);
  assert.match(secureAggregationLine(false), /^secure aggregation: off: the coordinator will read each site's model update and statistics\. .*set secureAggregation: true in the federation file/);
});

test('a non-loopback coordinator carries allowNonLoopback into coordinator.yaml', async (t) => {
  const dir = tempDir(t);
  const fed = federationYaml(dir);
  writeFileSync(fed, readFileSync(fed, 'utf8').replace('host: 127.0.0.1', 'host: 10.0.0.5, allowNonLoopback: true'));
  const res = await provisionFederation(fed, join(dir, 'out'));
  const c = YAML.parse(readFileSync(join(res.coordinatorKit, 'coordinator.yaml'), 'utf8'));
  assert.equal(c.allowNonLoopback, true);
  assert.equal(c.listen.host, '10.0.0.5');
  const y = YAML.parse(readFileSync(join(res.siteKits[0]!.dir, 'site.yaml'), 'utf8'));
  assert.equal(y.coordinator.address, '10.0.0.5:7443');
});

test('isLoopbackHost', async () => {
  for (const h of ['127.0.0.1', '127.1.2.3', 'localhost', 'LOCALHOST', '::1', '[::1]', '0:0:0:0:0:0:0:1', '::ffff:127.0.0.1'])
    assert.ok(isLoopbackHost(h), h);
  for (const h of ['0.0.0.0', '10.0.0.1', '::', 'example.org', '128.0.0.1', 'localhost.evil.com']) assert.ok(!isLoopbackHost(h), h);
});

/** Writes a federation file with `edit` applied to a valid document; returns its path. */

/** Every file of a kit, its tls/ folder included, as one text. */
function kitText(kit: string): string {
  return readdirSync(kit, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => readFileSync(join(e.parentPath, e.name), 'utf8'))
    .join('\n');
}

function pemBody(pem: string): string {
  return pem.replace(/-----[^-]+-----/g, '').replace(/\s/g, '');
}

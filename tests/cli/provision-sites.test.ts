// `provision add-site` and `revoke-site`: one site in or out, with the federation's existing
// root key and CA, and nobody else's kit touched.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import YAML from 'yaml';
import { loadCoordinatorConfig } from '../../coordinator/config.ts';
import { loadSiteConfig } from '../../site-agent/config.ts';
import { provisionFederation } from '../../cli/provision.ts';
import { addSite, revokeSite } from '../../cli/provision-sites.ts';
import { loadManifest } from '../../shared/federation/manifest.ts';
import { loadCaCertificate } from '../../shared/pki/ca.ts';
import { checkPeer } from '../../shared/pki/check-peer.ts';
import { loadCrl } from '../../shared/pki/crl.ts';
import { DATA, SITES, mode, tempDir } from './provision-helpers.ts';

const BIN = new URL('../../bin/fedcausal.js', import.meta.url).pathname;

/** A federation file listing the first `n` of SITES. */
function federationFile(dir: string, n: number, name = 'heart'): string {
  const rel = (p: string) => relative(dir, p);
  const file = join(dir, `federation-${name}-${n}.yaml`);
  writeFileSync(
    file,
    `name: ${name}\ncoordinator: { host: 127.0.0.1, grpcPort: 7443, httpPort: 8080 }\nrounds: 2\nmodel: baseline\nschema: ${rel(join(DATA, 'schema.json'))}\nsites:\n` +
      SITES.slice(0, n).map((s) => `  - { name: ${s.name}, data: ${rel(join(DATA, s.file))} }`).join('\n') + '\n',
  );
  return file;
}

/** Every file under `dir` with its SHA-256: a kit that changed in any byte shows. */
function digest(dir: string): Record<string, string> {
  return Object.fromEntries(
    readdirSync(dir, { recursive: true, withFileTypes: true })
      .filter((e) => e.isFile())
      .map((e) => [relative(dir, join(e.parentPath, e.name)), createHash('sha256').update(readFileSync(join(e.parentPath, e.name))).digest('hex')]),
  );
}

async function provisioned(t: { after(fn: () => void): void }) {
  const dir = tempDir(t);
  const out = join(dir, 'out');
  await provisionFederation(federationFile(dir, 2), out);
  return { dir, out, three: federationFile(dir, 3) };
}

async function peerCheck(out: string, kit: string) {
  const caCert = loadCaCertificate(readFileSync(join(out, 'coordinator', 'tls', 'ca.pem'), 'utf8'));
  const crl = await loadCrl(readFileSync(join(out, 'coordinator', 'tls', 'crl.pem'), 'utf8'), caCert);
  return checkPeer(readFileSync(join(kit, 'tls', 'client.pem'), 'utf8'), { caCert, crl });
}

test('add-site issues one kit with the existing CA and root key; the other kits are untouched', async (t) => {
  const { out, three } = await provisioned(t);
  const before = Object.fromEntries(SITES.slice(0, 2).map((s) => [s.name, digest(join(out, 'sites', s.name))]));
  const r = await addSite({ federationFile: three, dir: out, site: 'va-long_beach' });
  assert.equal(r.kit, join(out, 'sites', 'va-long_beach'));
  for (const s of SITES.slice(0, 2)) assert.deepEqual(digest(join(out, 'sites', s.name)), before[s.name], `${s.name}'s kit is byte for byte the same`);
  assert.deepEqual(readdirSync(r.kit).sort(), ['identity.json', 'manifest.json', 'root.json', 'schema.json', 'site.yaml', 'start.sh', 'tls']);
  assert.equal(mode(join(r.kit, 'identity.json')), 0o600);
  assert.equal(mode(join(r.kit, 'tls', 'client.key.pem')), 0o600);
  assert.equal(mode(r.kit), 0o700);
  assert.deepEqual(readdirSync(join(out, 'sites')).sort(), ['cleveland', 'hungary', 'va-long_beach'], 'no temporary folder left');

  // The manifest, re-signed by the same root, names the three sites; the old sites' copies still verify.
  const root = JSON.parse(readFileSync(join(out, 'ca', 'root.json'), 'utf8')).signingPublicKey as string;
  for (const m of [join(out, 'ca', 'manifest.json'), join(out, 'coordinator', 'manifest.json'), join(r.kit, 'manifest.json')])
    assert.deepEqual(loadManifest(m, root).sites.map((s) => s.name), ['cleveland', 'hungary', 'va-long_beach'], m);
  assert.equal(loadManifest(join(out, 'sites', 'cleveland', 'manifest.json'), root).sites.length, 2);

  assert.equal(loadCoordinatorConfig(join(out, 'coordinator', 'coordinator.yaml')).sites.length, 3);
  for (const s of SITES) assert.equal(loadSiteConfig(join(out, 'sites', s.name, 'site.yaml')).site, s.name);
  const check = await peerCheck(out, r.kit);
  assert.ok(check.ok, JSON.stringify(check));
  assert.equal(check.site, 'va-long_beach');
  assert.equal(check.serialNumber, r.serialNumber);
});

test('add-site refuses what would mix or overwrite keys', async (t) => {
  const { dir, out, three } = await provisioned(t);
  const manifestBefore = readFileSync(join(out, 'ca', 'manifest.json'), 'utf8');
  await assert.rejects(addSite({ federationFile: three, dir: out, site: 'hungary' }), /--site hungary: already enrolled in the federation; to give it new keys \(a lost kit\), revoke-site it first, then add-site --replace/);
  await assert.rejects(addSite({ federationFile: federationFile(dir, 2), dir: out, site: 'va-long_beach' }), /--site va-long_beach: not in the sites of .*; add \{ name: va-long_beach, data: \.\.\. \} there first/);
  await assert.rejects(addSite({ federationFile: federationFile(dir, 3, 'other'), dir: out, site: 'va-long_beach' }), /federation "other", but --dir .* holds federation "heart"/);
  await assert.rejects(addSite({ federationFile: three, dir: dir, site: 'va-long_beach' }), /no ca\/root\.json; expected the folder `fedcausal provision --out` wrote/);
  await assert.rejects(addSite({ federationFile: three, dir: out, site: 'hungary', replace: true }), /--site hungary: its certificate [0-9a-f]+ is still valid; run `fedcausal provision revoke-site --site hungary` first/);
  const otherSchema = join(dir, 'schema-other.json');
  writeFileSync(otherSchema, readFileSync(join(DATA, 'schema.json'), 'utf8').replace(/\s+$/, '') + '\n\n');
  writeFileSync(three, readFileSync(three, 'utf8').replace(/^schema: .*$/m, 'schema: schema-other.json'));
  await assert.rejects(addSite({ federationFile: three, dir: out, site: 'va-long_beach' }), /schema .*schema-other\.json differs from the federation's \(.*coordinator\/schema\.json\); a site must use the coordinator's schema/);
  assert.equal(readFileSync(join(out, 'ca', 'manifest.json'), 'utf8'), manifestBefore, 'nothing was re-signed');
  assert.deepEqual(readdirSync(join(out, 'sites')).sort(), ['cleveland', 'hungary'], 'no kit and no temporary folder left');
});

test('revoke-site revokes only that site, in ca/ and the coordinator kit; a lost kit is then replaced with --replace', async (t) => {
  const { out, three } = await provisioned(t);
  const r = await revokeSite({ dir: out, site: 'hungary', reason: 'keyCompromise' });
  assert.equal(r.revoked.length, 1);
  assert.deepEqual(r.crls, [join(out, 'ca', 'crl.pem'), join(out, 'coordinator', 'tls', 'crl.pem')]);
  assert.equal(readFileSync(r.crls[0]!, 'utf8'), readFileSync(r.crls[1]!, 'utf8'));
  assert.equal(mode(r.crls[1]!), 0o600);
  const hungary = await peerCheck(out, join(out, 'sites', 'hungary'));
  assert.equal(hungary.ok ? 'ok' : hungary.code, 'revoked');
  assert.ok((await peerCheck(out, join(out, 'sites', 'cleveland'))).ok, 'cleveland is not affected');
  assert.deepEqual((await revokeSite({ dir: out, site: 'hungary' })).revoked, [], 'a second revocation writes nothing');
  await assert.rejects(revokeSite({ dir: out, site: 'nobody' }), /--site nobody: no certificate was issued to "nobody"/);

  // The lost kit: new keys under the same name, once the old kit is moved away.
  await assert.rejects(addSite({ federationFile: three, dir: out, site: 'hungary', replace: true }), /sites\/hungary: already exists; move the old kit away first/);
  renameSync(join(out, 'sites', 'hungary'), join(out, 'hungary.lost'));
  const again = await addSite({ federationFile: three, dir: out, site: 'hungary', replace: true });
  const check = await peerCheck(out, again.kit);
  assert.ok(check.ok, 'the new certificate is accepted');
  const old = JSON.parse(readFileSync(join(out, 'hungary.lost', 'identity.json'), 'utf8')).signing.publicKey as string;
  const root = JSON.parse(readFileSync(join(out, 'ca', 'root.json'), 'utf8')).signingPublicKey as string;
  const entries = loadManifest(join(out, 'ca', 'manifest.json'), root).sites.filter((s) => s.name === 'hungary');
  assert.equal(entries.length, 1);
  assert.notEqual(entries[0]!.signingPublicKey, old, 'the manifest holds the new key, not the lost one');
});

test('the CLI: --help for each verb, and revoke-site from the command line', async (t) => {
  const { out } = await provisioned(t);
  for (const verb of ['add-site', 'revoke-site']) {
    const h = spawnSync(process.execPath, [BIN, 'provision', verb, '--help'], { encoding: 'utf8' });
    assert.equal(h.status, 0, h.stderr);
    assert.match(h.stdout, new RegExp(`^usage: fedcausal provision ${verb} `));
  }
  const bad = spawnSync(process.execPath, [BIN, 'provision', 'revoke-site', '--dir', out, '--site', 'hungary', '--reason', 'boredom'], { encoding: 'utf8' });
  assert.equal(bad.status, 2, bad.stderr);
  assert.match(bad.stderr, /--reason: must be one of unspecified, keyCompromise/);
  const twice = spawnSync(process.execPath, [BIN, 'provision', 'revoke-site', '--dir', out, '--site', 'cleveland', '--site=hungary'], { encoding: 'utf8' });
  assert.equal(twice.status, 2, twice.stderr);
  assert.match(twice.stderr, /--site given twice; give it once/);
  const r = spawnSync(process.execPath, [BIN, 'provision', 'revoke-site', '--dir', out, '--site', 'hungary'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^site "hungary" revoked \(serials [0-9a-f]+\)/);
});

test("a kit's site.yaml: the coordinator section may be left out (the manifest's address); a site name not enrolled lists the enrolled ones", async (t) => {
  const { out } = await provisioned(t);
  const file = join(out, 'sites', 'cleveland', 'site.yaml');
  const kit = loadSiteConfig(file);
  const doc = YAML.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  delete doc.coordinator;
  writeFileSync(file, YAML.stringify(doc));
  assert.equal(loadSiteConfig(file).coordinatorAddress, kit.coordinatorAddress);
  writeFileSync(file, YAML.stringify({ ...doc, site: 'clevland' }));
  assert.throws(() => loadSiteConfig(file), /site: "clevland" is not enrolled in the federation manifest \(enrolled: cleveland, hungary\)/);
  // A federation name typed in another case names the field and says so.
  const name = String(doc.federation);
  writeFileSync(file, YAML.stringify({ ...doc, federation: name.toUpperCase() }));
  assert.throws(() => loadSiteConfig(file), new RegExp(`root: belongs to federation "${name}", not "${name.toUpperCase()}" \\(this file's federation field\\): the names differ only in case`));
});

// deploy/federation.example.yaml is the shipped docs' federation file (README, deploy/README,
// docs/configuration.md point to it): `provision` must accept it as it is, with the schema
// beside it, and the kits must carry what its comments say.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import YAML from 'yaml';
import { provisionFederation, readFederationFile } from '../../cli/provision.ts';

const EXAMPLE = join(import.meta.dirname, '..', '..', 'deploy', 'federation.example.yaml');

test('deploy/federation.example.yaml provisions a federation as its comments say', async (t) => {
  const spec = readFederationFile(EXAMPLE);
  assert.equal(spec.schema, join(import.meta.dirname, '..', '..', 'deploy', 'schema.example.json'), 'schema beside the example');
  const dir = mkdtempSync(join(tmpdir(), 'fedcausal-example-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const out = join(dir, 'kits');
  const result = await provisionFederation(EXAMPLE, out);
  assert.deepEqual(result.siteKits.map((k) => k.name), spec.sites.map((s) => s.name));
  assert.deepEqual(readdirSync(join(out, 'sites')).sort(), spec.sites.map((s) => s.name).sort());

  const coordinator = YAML.parse(readFileSync(join(out, 'coordinator', 'coordinator.yaml'), 'utf8'));
  assert.equal(coordinator.listen.host, spec.coordinator.host);
  assert.equal(coordinator.allowNonLoopback, true, 'a host other than loopback is allowed explicitly');
  assert.deepEqual(coordinator.model, spec.model, 'the model section is copied into coordinator.yaml');
  assert.equal(coordinator.quorum.minSitesToStart, spec.minSites);
  const site = YAML.parse(readFileSync(join(out, 'sites', spec.sites[0]!.name, 'site.yaml'), 'utf8'));
  assert.equal(site.coordinator.address, `${spec.coordinator.host}:${spec.coordinator.grpcPort}`, 'the sites dial coordinator.host');
  assert.equal(site.data, spec.sites[0]!.data, 'data is the path on the hospital\'s host, as written');
  assert.equal(readFileSync(join(out, 'sites', spec.sites[0]!.name, 'schema.json'), 'utf8'), readFileSync(spec.schema, 'utf8'));
});

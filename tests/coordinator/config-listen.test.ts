// listen.httpHost and listen.httpAllowedHosts: HTTP binds apart from gRPC, loopback unless allowed.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import YAML from 'yaml';
import { loadCoordinatorConfig } from '../../coordinator/config.ts';
import { provisionFederation } from '../../cli/provision.ts';
import { assertInputError, federationYaml, tempDir } from '../cli/provision-helpers.ts';

async function coordinatorYaml(t: { after(fn: () => void): void }, edit: (doc: Record<string, any>) => void): Promise<string> {
  const dir = tempDir(t);
  const kits = await provisionFederation(federationYaml(dir), join(dir, 'kits'));
  const path = join(kits.coordinatorKit, 'coordinator.yaml');
  const doc = YAML.parse(readFileSync(path, 'utf8')) as Record<string, any>;
  edit(doc);
  writeFileSync(path, YAML.stringify(doc));
  return path;
}

test('HTTP binds loopback by default, whatever gRPC binds', async (t) => {
  const cfg = loadCoordinatorConfig(await coordinatorYaml(t, (d) => Object.assign(d, { allowNonLoopback: true, listen: { ...d.listen, host: '0.0.0.0' } })));
  assert.equal(cfg.listen.host, '0.0.0.0');
  assert.equal(cfg.listen.httpHost, '127.0.0.1');
  assert.deepEqual(cfg.listen.httpAllowedHosts, []);
});

test('a non-loopback listen.httpHost needs allowNonLoopback, like listen.host', async (t) => {
  const path = await coordinatorYaml(t, (d) => (d.listen.httpHost = '0.0.0.0'));
  assertInputError(() => loadCoordinatorConfig(path), `${path}: listen.httpHost: is "0.0.0.0": only loopback addresses are allowed unless allowNonLoopback: true`);
  const allowed = await coordinatorYaml(t, (d) => Object.assign(d, { allowNonLoopback: true, listen: { ...d.listen, httpHost: '0.0.0.0', httpAllowedHosts: ['coordinator.example.org'] } }));
  const cfg = loadCoordinatorConfig(allowed);
  assert.equal(cfg.listen.httpHost, '0.0.0.0');
  assert.deepEqual(cfg.listen.httpAllowedHosts, ['coordinator.example.org']);
});

test('listen.httpAllowedHosts must be a list of names', async (t) => {
  const path = await coordinatorYaml(t, (d) => (d.listen.httpAllowedHosts = 'coordinator.example.org'));
  assertInputError(() => loadCoordinatorConfig(path), `${path}: listen.httpAllowedHosts: must be a list of host names or IP addresses (got "coordinator.example.org")`);
});

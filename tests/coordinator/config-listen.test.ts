// listen.httpHost and listen.httpAllowedHosts: HTTP binds apart from gRPC, loopback unless allowed.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadCoordinatorConfig } from '../../coordinator/config.ts';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { provisionFederation } from '../../cli/provision.ts';
import { assertInputError, federationYaml, tempDir } from '../cli/provision-helpers.ts';
import { coordinatorYaml } from './coordinator-yaml.ts';


test('HTTP binds loopback by default, whatever gRPC binds', async (t) => {
  const cfg = loadCoordinatorConfig(await coordinatorYaml(t, (d) => Object.assign(d, { allowNonLoopback: true, listen: { ...d.listen, host: '0.0.0.0' } })));
  assert.equal(cfg.listen.host, '0.0.0.0');
  assert.equal(cfg.listen.httpHost, '127.0.0.1');
  // The manifest's name for the coordinator (the federation file's coordinator.host) is always answered.
  assert.deepEqual(cfg.listen.httpAllowedHosts, ['127.0.0.1']);
});

test("the federation's name for the coordinator is answered: a container bound to 0.0.0.0 gave its neighbours 421 for it", async (t) => {
  const dir = tempDir(t);
  const fed = federationYaml(dir);
  writeFileSync(fed, readFileSync(fed, 'utf8').replace('host: 127.0.0.1', 'host: coordinator, allowNonLoopback: true'));
  const kits = await provisionFederation(fed, join(dir, 'kits'));
  const cfg = loadCoordinatorConfig(join(kits.coordinatorKit, 'coordinator.yaml'));
  assert.deepEqual(cfg.listen.httpAllowedHosts, ['coordinator']);
});

test('a non-loopback listen.httpHost needs allowNonLoopback, like listen.host', async (t) => {
  const path = await coordinatorYaml(t, (d) => (d.listen.httpHost = '0.0.0.0'));
  assertInputError(() => loadCoordinatorConfig(path), `${path}: listen.httpHost: is "0.0.0.0": only loopback addresses are allowed unless allowNonLoopback: true`);
  const allowed = await coordinatorYaml(t, (d) => Object.assign(d, { allowNonLoopback: true, listen: { ...d.listen, httpHost: '0.0.0.0', httpAllowedHosts: ['coordinator.example.org'] } }));
  const cfg = loadCoordinatorConfig(allowed);
  assert.equal(cfg.listen.httpHost, '0.0.0.0');
  assert.deepEqual(cfg.listen.httpAllowedHosts, ['coordinator.example.org', '127.0.0.1']);
});

test('listen.httpAllowedHosts must be a list of names', async (t) => {
  const path = await coordinatorYaml(t, (d) => (d.listen.httpAllowedHosts = 'coordinator.example.org'));
  assertInputError(() => loadCoordinatorConfig(path), `${path}: listen.httpAllowedHosts: must be a list of host names or IP addresses (got "coordinator.example.org")`);
});

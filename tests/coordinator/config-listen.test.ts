// listen.httpHost and listen.httpAllowedHosts: HTTP binds apart from gRPC, loopback unless allowed.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadCoordinatorConfig } from '../../coordinator/config.ts';
import { assertInputError } from '../cli/provision-helpers.ts';
import { coordinatorYaml } from './coordinator-yaml.ts';


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

// The Host header check against DNS rebinding: which names the coordinator's HTTP side answers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { hostChecker, hostOf } from '../../../coordinator/http/host-check.ts';
import { startHttpServer } from '../../../coordinator/http/server.ts';
import { CoordinatorMetrics, metricsSourceFromStatus } from '../../../coordinator/metrics/coordinator-metrics.ts';
import { FEDERATION_STATES } from '../../../shared/federation/state.ts';
import type { FederationStatus } from '../../../shared/federation/status.ts';

test('hostOf reads the host part of a Host header, or nothing when it is malformed', () => {
  assert.equal(hostOf('Coordinator.Example.ORG.:8080'), 'coordinator.example.org');
  assert.equal(hostOf('[::1]:8080'), '::1');
  assert.equal(hostOf('[::1]'), '::1');
  assert.equal(hostOf('10.0.0.5'), '10.0.0.5');
  for (const bad of [undefined, '', 'a:b:c', '[::1', 'host:port', 'host:123456', 'a b'.replace(' ', ':x ')])
    assert.equal(hostOf(bad), undefined, JSON.stringify(bad));
});

test('loopback forms, the bind address and the configured names pass; any other name is refused', () => {
  const ok = hostChecker({ bindHost: '10.1.2.3', names: ['Coordinator.example.org'], interfaceAddresses: () => ['10.9.9.9'] });
  for (const h of ['localhost:8080', 'LOCALHOST', '127.0.0.1:8080', '127.3.4.5', '[::1]:8080', '10.1.2.3:8080', 'coordinator.example.org', 'coordinator.example.org.:443'])
    assert.equal(ok(h), true, h);
  // A rebound name, a look-alike, an interface IP when not bound to a wildcard, no Host at all.
  for (const h of ['attacker.example:8080', 'coordinator.example.org.attacker.example', 'localhost.attacker.example', '10.9.9.9', undefined, ''])
    assert.equal(ok(h), false, String(h));
});

test('bound to a wildcard address, the interface IPs pass (a kubelet probe sends the pod IP), names still do not', () => {
  let addresses = ['10.244.0.7'];
  const ok = hostChecker({ bindHost: '0.0.0.0', interfaceAddresses: () => addresses });
  assert.equal(ok('10.244.0.7:8080'), true);
  assert.equal(ok('10.244.0.8:8080'), false);
  assert.equal(ok('0.0.0.0:8080'), true, 'the bind address itself');
  assert.equal(ok('coordinator.example.org'), false);
  addresses = ['10.244.0.8'];
  assert.equal(ok('10.244.0.8:8080'), true, 'interfaces are read again on a miss');
  assert.equal(hostChecker({ bindHost: '::', interfaceAddresses: () => ['fe80::1'] })('[fe80::1]:8080'), true);
});

function fixture(): FederationStatus {
  return { federation: 'heart', round: 1, rounds: 2, state: 'training', strategy: 'fedavg', model: 'baseline', sites: [], history: [] };
}

/** A raw GET with a chosen Host header (fetch will not send one of our choosing). */
function get(port: number, path: string, host: string, token?: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, headers: { host, ...(token ? { authorization: `Bearer ${token}` } : {}) } }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (c: string) => (body += c)).on('end', () => resolve({ status: res.statusCode!, body }));
    });
    req.on('error', reject).end();
  });
}

test('the HTTP server answers 421 to another Host on every route but /healthz, before the token is looked at', async (t) => {
  const metrics = new CoordinatorMetrics(metricsSourceFromStatus(fixture), FEDERATION_STATES);
  const server = await startHttpServer({ host: '127.0.0.1', port: 0, status: fixture, metrics, token: 'secret-token', allowedHosts: ['coordinator.example.org'] });
  t.after(() => server.close());
  const { port } = server;
  for (const path of ['/api/status', '/metrics', '/', '/dashboard.js', '/nope']) {
    const r = await get(port, path, `attacker.example:${port}`, 'secret-token');
    assert.equal(r.status, 421, path);
    assert.match((JSON.parse(r.body) as { error: string }).error, /does not answer for host "attacker\.example"/, path);
    assert.doesNotMatch(r.body, /round|secret/, `${path}: nothing of the federation in the refusal`);
  }
  assert.equal((await get(port, '/api/status', `coordinator.example.org:${port}`, 'secret-token')).status, 200);
  assert.equal((await get(port, '/api/status', `localhost:${port}`, 'secret-token')).status, 200);
  assert.equal((await get(port, '/api/status', `localhost:${port}`)).status, 401, 'the token is still required');
  const health = await get(port, '/healthz', `10.244.0.7:${port}`);
  assert.deepEqual(health, { status: 200, body: 'ok' }, '/healthz answers whatever the Host (probes)');
});

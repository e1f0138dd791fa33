import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startHttpServer, type HttpServerHandle } from '../../../coordinator/http/server.ts';
import { CoordinatorMetrics, metricsSourceFromStatus } from '../../../coordinator/metrics/coordinator-metrics.ts';
import { FEDERATION_STATES } from '../../../shared/federation/state.ts';
import type { FederationStatus } from '../../../shared/federation/status.ts';

function fixture(): FederationStatus {
  return {
    federation: 'heart',
    round: 2,
    rounds: 20,
    state: 'training',
    strategy: 'fedavg',
    model: 'debiased',
    sites: [
      { name: 'cleveland', online: true, lastSeen: '2024-05-01T10:00:00.000Z', roundsCompleted: 2 },
      { name: 'hungary', online: false, lastSeen: null, roundsCompleted: 0, lastError: 'bad signature' },
    ],
    history: [
      { round: 1, participants: 2, failures: 0, metrics: { eval_auroc: 0.71, train_loss: 0.6 }, durationMs: 1200 },
      { round: 2, participants: 1, failures: 1, metrics: { eval_auroc: 0.75, train_loss: 0.55 }, durationMs: 900 },
    ],
    prior: { version: 1, patterns: [{ pattern: '1111111', p: 0.6 }] },
  };
}

async function start(
  t: { after(fn: () => Promise<void>): void },
  status: () => FederationStatus = fixture,
  metrics = new CoordinatorMetrics(metricsSourceFromStatus(status), FEDERATION_STATES),
): Promise<{ server: HttpServerHandle; url: string; metrics: CoordinatorMetrics }> {
  const server = await startHttpServer({ host: '127.0.0.1', port: 0, status, metrics });
  t.after(() => server.close());
  return { server, url: `http://127.0.0.1:${server.port}`, metrics };
}

test('binds an ephemeral port and answers /healthz', async (t) => {
  const { server, url } = await start(t);
  assert.ok(server.port > 0 && server.port < 65536);
  const res = await fetch(`${url}/healthz`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type')!, /^text\/plain/);
  assert.equal(await res.text(), 'ok');
});

test('/api/status returns the federation status as JSON', async (t) => {
  const { url } = await start(t);
  const res = await fetch(`${url}/api/status`);
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('content-type'), 'application/json; charset=utf-8');
  assert.equal(res.headers.get('cache-control'), 'no-store');
  const body = await res.json();
  assert.equal(body.round, 2);
  assert.equal(body.state, 'training');
  assert.deepEqual(
    body.sites.map((s: { name: string; online: boolean; lastSeen: string | null }) => [s.name, s.online, s.lastSeen]),
    [
      ['cleveland', true, '2024-05-01T10:00:00.000Z'],
      ['hungary', false, null],
    ],
  );
  assert.deepEqual(body, fixture());
});

test('/api/status reflects the status at the time of each request', async (t) => {
  let round = 0;
  const { url } = await start(t, () => ({ ...fixture(), round }));
  assert.equal((await (await fetch(`${url}/api/status`)).json()).round, 0);
  round = 5;
  assert.equal((await (await fetch(`${url}/api/status`)).json()).round, 5);
});

test('/metrics serves the prom-client registry: live gauges from the status, counters, runtime metrics', async (t) => {
  const metrics = new CoordinatorMetrics(metricsSourceFromStatus(fixture), FEDERATION_STATES);
  metrics.refused('bad-signature', undefined);
  metrics.roundCommitted({ accepted: true, durationSeconds: 3, participants: 1, metrics: { eval_auroc: 0.75 }, failed: [{ site: 'hungary', reason: 'no answer within the 60s round deadline' }] });
  const { url } = await start(t, fixture, metrics);
  const res = await fetch(`${url}/metrics`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type')!, /^text\/plain; version=0\.0\.4/);
  const lines = (await res.text()).trimEnd().split('\n');
  for (const l of [
    '# TYPE fedcausal_round gauge',
    'fedcausal_round 2',
    'fedcausal_rounds_planned 20',
    'fedcausal_sites_connected 1',
    'fedcausal_sites_enrolled 2',
    'fedcausal_federation_training 1',
    'fedcausal_federation_state{state="training"} 1',
    'fedcausal_federation_state{state="finished"} 0',
    '# TYPE fedcausal_rounds_total counter',
    'fedcausal_rounds_total{outcome="accepted"} 1',
    'fedcausal_refusals_total{reason="bad-signature",site="unknown"} 1',
    'fedcausal_site_online{site="cleveland"} 1',
    'fedcausal_site_online{site="hungary"} 0',
    'fedcausal_site_failures_total{site="hungary",reason="no answer within the round deadline"} 1',
    'fedcausal_round_duration_seconds_count 1',
    'fedcausal_round_metric{metric="eval_auroc"} 0.75',
  ])
    assert.ok(lines.includes(l), `${l}\n${lines.join('\n')}`);
  // Process and Node.js runtime metrics come with it, prefixed like every other name.
  assert.ok(lines.some((l) => l.startsWith('fedcausal_process_resident_memory_bytes ')));
  assert.ok(lines.some((l) => l.startsWith('fedcausal_nodejs_eventloop_lag_seconds ')));
  const names = lines.filter((l) => l && !l.startsWith('#')).map((l) => l.split(/[{ ]/)[0]!);
  assert.deepEqual(names.filter((n) => !n.startsWith('fedcausal_')), []);
  // Requests are counted per endpoint.
  await fetch(`${url}/healthz`).then((r) => r.text());
  const again = (await (await fetch(`${url}/metrics`)).text()).split('\n');
  assert.ok(again.includes('fedcausal_http_requests_total{path="/healthz"} 1'));
});

test('/ serves the dashboard page; its script and stylesheet come from this origin, bundled', async (t) => {
  const { url } = await start(t);
  const res = await fetch(`${url}/`);
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('content-type'), 'text/html; charset=utf-8');
  const csp = res.headers.get('content-security-policy')!;
  assert.match(csp, /default-src 'none'/);
  assert.match(csp, /script-src 'self'(;|$)/);
  assert.match(csp, /style-src 'self'(;|$)/);
  const html = await res.text();
  assert.match(html, /^<!doctype html>/);
  // Nothing inline, nothing from another origin.
  assert.doesNotMatch(html, /<script>|<style>|\sstyle=|\son[a-z]+=/i);
  assert.deepEqual([...html.matchAll(/\s(?:src|href)="([^"]*)"/g)].map((m) => m[1]), ['dashboard.css', 'dashboard.js']);
  assert.equal(html.match(/https?:\/\//g), null);

  const js = await fetch(`${url}/dashboard.js`);
  assert.equal(js.status, 200);
  assert.equal(js.headers.get('content-type'), 'text/javascript; charset=utf-8');
  const code = await js.text();
  assert.ok(code.includes('api/status'), 'the bundle polls api/status');
  assert.ok(code.includes('Bearer'), 'the bundle sends the token');
  assert.doesNotMatch(code, /https?:\/\/(?!www\.w3\.org)/, 'no URL to another origin (a CDN) in the bundle');
  const css = await fetch(`${url}/dashboard.css`);
  assert.equal(css.headers.get('content-type'), 'text/css; charset=utf-8');
  assert.match(await css.text(), /\.uplot/, "uPlot's stylesheet is bundled");
});

test('a dashboard bundle that cannot be built is a 500, and the server keeps serving', async (t) => {
  const server = await startHttpServer({
    host: '127.0.0.1', port: 0, status: fixture, metrics: new CoordinatorMetrics(metricsSourceFromStatus(fixture), FEDERATION_STATES),
    assets: () => Promise.reject(new Error('esbuild exploded')),
  });
  t.after(() => server.close());
  const url = `http://127.0.0.1:${server.port}`;
  assert.equal((await fetch(`${url}/dashboard.js`)).status, 500);
  assert.equal((await fetch(`${url}/api/status`)).status, 200);
});

test('unknown paths get 404 JSON; other methods get 405 with Allow', async (t) => {
  const { url } = await start(t);
  for (const p of ['/nope', '/api/status/', '/api', '/metrics.txt']) {
    const res = await fetch(`${url}${p}`);
    assert.equal(res.status, 404, p);
    assert.equal(res.headers.get('content-type'), 'application/json; charset=utf-8');
    assert.equal((await res.json()).error, 'not found');
  }
  for (const method of ['POST', 'PUT', 'DELETE']) {
    const res = await fetch(`${url}/api/status`, { method });
    assert.equal(res.status, 405, method);
    assert.equal(res.headers.get('allow'), 'GET, HEAD');
    assert.equal((await res.json()).error, `method ${method} not allowed`);
  }
  // A query string does not change the route.
  const q = await fetch(`${url}/api/status?t=1`);
  assert.equal(q.status, 200);
  assert.equal((await q.json()).round, 2);
});

test('HEAD returns headers without a body', async (t) => {
  const { url } = await start(t);
  const res = await fetch(`${url}/api/status`, { method: 'HEAD' });
  assert.equal(res.status, 200);
  assert.equal(Number(res.headers.get('content-length')), Buffer.byteLength(JSON.stringify(fixture()) + '\n'));
  assert.equal(await res.text(), '');
});

test('a failing status callback gives 500 and the server keeps serving', async (t) => {
  let fail = true;
  const { url } = await start(t, () => {
    if (fail) throw new Error('boom');
    return fixture();
  });
  const res = await fetch(`${url}/api/status`);
  assert.equal(res.status, 500);
  assert.deepEqual(await res.json(), { error: 'internal error' });
  fail = false;
  assert.equal((await fetch(`${url}/api/status`)).status, 200);
});

test('close() stops serving, frees the port and is idempotent; a busy port is reported', async () => {
  const server = await startHttpServer({ host: '127.0.0.1', port: 0, status: fixture, metrics: new CoordinatorMetrics(metricsSourceFromStatus(fixture), FEDERATION_STATES) });
  const url = `http://127.0.0.1:${server.port}`;
  assert.equal(await (await fetch(`${url}/healthz`)).text(), 'ok'); // leaves a keep-alive connection open
  await assert.rejects(
    startHttpServer({ host: '127.0.0.1', port: server.port, status: fixture, metrics: new CoordinatorMetrics(metricsSourceFromStatus(fixture), FEDERATION_STATES) }),
    (err: Error) => {
      // The fields to change, as the gRPC port's message names listen.grpcPort.
      assert.ok(err.message.startsWith(`cannot serve HTTP on 127.0.0.1:${server.port} (coordinator.yaml listen.httpHost/listen.httpPort): `), err.message);
      assert.match(err.message, /EADDRINUSE.* — another process holds the port \(another coordinator\?\); stop it or choose another listen\.httpPort$/);
      return true;
    },
  );
  await server.close();
  await server.close();
  await assert.rejects(fetch(`${url}/healthz`));
  assert.ok(!process.getActiveResourcesInfo().includes('TCPServerWrap'), String(process.getActiveResourcesInfo()));
  // The same port can be bound again.
  const again = await startHttpServer({ host: '127.0.0.1', port: server.port, status: fixture, metrics: new CoordinatorMetrics(metricsSourceFromStatus(fixture), FEDERATION_STATES) });
  assert.equal(again.port, server.port);
  await again.close();
});

test('with a token: every endpoint but /healthz answers 401 without it, 200 with it; the page still loads', async (t) => {
  const token = 'a-token-of-sufficient-length-0123456789';
  const server = await startHttpServer({ host: '127.0.0.1', port: 0, status: fixture, metrics: new CoordinatorMetrics(metricsSourceFromStatus(fixture), FEDERATION_STATES), token });
  t.after(() => server.close());
  const url = `http://127.0.0.1:${server.port}`;
  assert.equal((await fetch(`${url}/healthz`)).status, 200);
  for (const path of ['/api/status', '/metrics', '/api/summary']) {
    const none = await fetch(url + path);
    assert.equal(none.status, 401, path);
    assert.equal(none.headers.get('www-authenticate'), 'Bearer realm="fedcausal"', path);
    assert.match(await none.text(), /requires Authorization: Bearer TOKEN/, path);
    assert.equal((await fetch(url + path, { headers: { authorization: 'Bearer wrong-token' } })).status, 401, `${path}, wrong token`);
    // As long as the token, one character off: a comparison of lengths alone let it in (an audit's mutant survived every test).
    assert.equal((await fetch(url + path, { headers: { authorization: `Bearer ${token.slice(0, -1)}#` } })).status, 401, `${path}, a wrong token of the same length`);
    assert.equal((await fetch(url + path, { headers: { authorization: token } })).status, 401, `${path}, no Bearer scheme`);
  }
  const ok = (path: string) => fetch(url + path, { headers: { authorization: `Bearer ${token}` } });
  assert.equal((await ok('/api/status')).status, 200);
  assert.equal((await ok('/metrics')).status, 200);
  assert.equal((await ok('/')).status, 200);
  // Without the token the page comes back as 401 (no data in it): a browser given #token=... then sends it.
  const page = await fetch(`${url}/`);
  assert.equal(page.status, 401);
  assert.match(await page.text(), /^<!doctype html>/i);
});

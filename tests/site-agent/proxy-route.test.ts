// A hospital's proxy settings as an IT person writes them, read as curl reads them and said at start.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applyProxyRoute, proxyRoute, routeText } from '../../site-agent/proxy-route.ts';

const COORD = '10.0.0.5:7443';

test('no proxy set: directly, gRPC told not to look for one', () => {
  const r = proxyRoute(COORD, {});
  assert.deepEqual(r, { notes: [] });
  assert.equal(routeText(r), '');
  assert.deepEqual(applyProxyRoute(r, {}), { 'grpc.enable_http_proxy': 0 });
});

test('the proxy named by grpc_proxy, https_proxy or http_proxy, either case (gRPC read lower case only); credentials kept for gRPC, out of messages', () => {
  const env: NodeJS.ProcessEnv = { HTTPS_PROXY: 'http://user:secret@proxy.hospital:3128' };
  const r = proxyRoute(COORD, env);
  assert.deepEqual(r.proxy, { url: 'http://proxy.hospital:3128', variable: 'HTTPS_PROXY' });
  assert.equal(routeText(r), ' through the proxy http://proxy.hospital:3128 (HTTPS_PROXY)');
  assert.deepEqual(applyProxyRoute(r, env), { 'grpc.enable_http_proxy': 1 });
  assert.equal(env.grpc_proxy, 'http://user:secret@proxy.hospital:3128', 'gRPC follows exactly this proxy');
  assert.equal(proxyRoute(COORD, { grpc_proxy: 'http://a:1', https_proxy: 'http://b:2' }).proxy?.variable, 'grpc_proxy', "gRPC's own first");
});

test('no_proxy as people write it: spaces around entries, upper case, a domain, a CIDR or "*" (gRPC took " 127.0.0.1" literally and knew no "*")', () => {
  const proxied = { https_proxy: 'http://proxy:3128' };
  for (const [noProxy, address] of [
    ['localhost, 127.0.0.1', '127.0.0.1:31443'],
    ['*', COORD],
    ['.hospital.net', 'coord.hospital.net:7443'],
    ['hospital.net', 'coord.hospital.net:7443'],
    ['10.0.0.0/8', COORD],
    ['[::1]', '[::1]:7443'],
    ['::1', '[::1]:7443'],
  ] as const) {
    const r = proxyRoute(address, { ...proxied, NO_PROXY: noProxy });
    assert.equal(r.proxy, undefined, `${noProxy} covers ${address}`);
    assert.equal(r.bypass?.variable, 'NO_PROXY');
  }
  for (const [noProxy, address] of [['0.0.1', '127.0.0.1:31443'], ['10.1.0.0/16', COORD], ['other.net', 'coord.hospital.net:7443']] as const)
    assert.ok(proxyRoute(address, { ...proxied, no_proxy: noProxy }).proxy, `${noProxy} does not cover ${address}`);
});

test('a proxy setting gRPC cannot follow is said, and the coordinator is reached directly, as gRPC would', () => {
  const tls = proxyRoute(COORD, { https_proxy: 'https://proxy:3128' });
  assert.equal(tls.proxy, undefined);
  assert.match(tls.notes[0]!, /^https_proxy is an https:\/\/ proxy URL: gRPC reaches a proxy over plain HTTP only .* write http:\/\/HOST:PORT/);
  assert.match(proxyRoute(COORD, { http_proxy: 'socks5://proxy.hospital:1080' }).notes[0]!, /^http_proxy=socks5:\/\/proxy\.hospital:1080 is not an http:\/\/ URL \(write http:\/\/HOST:PORT\)/);
  // HOST:PORT alone is http://, as curl reads it (gRPC went directly).
  assert.deepEqual(proxyRoute(COORD, { https_proxy: '127.0.0.1:3128' }).proxy, { url: 'http://127.0.0.1:3128', variable: 'https_proxy' });
});

test("an IPv6 coordinator through a proxy: followed, and said that gRPC's CONNECT line lacks the brackets proxies need", () => {
  const r = proxyRoute('[fd00::5]:7443', { https_proxy: 'http://proxy:3128' });
  assert.deepEqual(r.proxy, { url: 'http://proxy:3128', variable: 'https_proxy' });
  assert.equal(r.notes.length, 1);
  assert.match(r.notes[0]!, /^the coordinator's address \[fd00::5\]:7443 is an IPv6 address and gRPC asks the proxy for it without brackets \(CONNECT fd00::5:7443\), .* list fd00::5 in no_grpc_proxy/);
  assert.deepEqual(proxyRoute('coord.hospital.net:7443', { https_proxy: 'http://proxy:3128' }).notes, [], 'a host name: nothing to say');
});

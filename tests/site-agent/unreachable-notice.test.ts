// A site retrying an unreachable coordinator says so again every UNREACHABLE_NOTICE_INTERVAL_MS
// (it logged one line, then nothing for up to connectTimeoutSeconds). Times are given, not waited for.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CHECK_TLS, UNREACHABLE_NOTICE_INTERVAL_MS, UnreachableNotice } from '../../site-agent/unreachable-notice.ts';

const EVERY = UNREACHABLE_NOTICE_INTERVAL_MS;
const T0 = 1_000_000;

test('a notice once an interval, naming the address, the time, the last error and the window', () => {
  const n = new UnreachableNotice('10.0.0.5:7444', 600);
  n.begin(T0);
  n.failed(T0 + 100, '14 UNAVAILABLE: No connection established. Last error: connect ECONNREFUSED 10.0.0.5:7444');
  assert.equal(n.due(T0 + EVERY - 1), undefined, 'nothing before the first interval');
  assert.equal(
    n.due(T0 + EVERY),
    'still cannot reach the coordinator at 10.0.0.5:7444 after 60 s (last error: 14 UNAVAILABLE: No connection established. ' +
      'Last error: connect ECONNREFUSED 10.0.0.5:7444); retrying until connectTimeoutSeconds (600 s): ' +
      "check coordinator.address in site.yaml (or the manifest's coordinator gRPC address), that the coordinator runs, " +
      "and that the network lets this host reach that port (under systemd: the unit's IPAddressAllow=; through a proxy, https_proxy or grpc_proxy, " +
      "that the proxy allows CONNECT to that port, or list the coordinator's host in no_grpc_proxy to bypass it)",
  );
  assert.equal(n.due(T0 + EVERY + 5_000), undefined, 'at most one an interval');
  assert.match(n.due(T0 + 2 * EVERY)!, /after 120 s/);
});

test('a failing TLS handshake repeats the hint it was given instead (the kit\'s tls/ folder)', () => {
  const n = new UnreachableNotice('coord.example:7443', 600);
  n.begin(T0);
  n.failed(T0 + 1, '14 UNAVAILABLE: certificate verify failed', CHECK_TLS);
  assert.match(n.due(T0 + EVERY)!, /\(last error: 14 UNAVAILABLE: certificate verify failed\); retrying until connectTimeoutSeconds \(600 s\): check that this kit's tls\/ folder comes from the same provisioning/);
});

test('an attempt that has not answered yet still gets its notice', () => {
  const n = new UnreachableNotice('10.0.0.5:7443', 600);
  n.begin(T0);
  assert.match(n.due(T0 + EVERY)!, /after 60 s \(last error: none yet \(the first attempt has not answered\)\)/);
});

test('joined: silent; a later outage counts from its own first failure', () => {
  const n = new UnreachableNotice('10.0.0.5:7443', 600);
  n.begin(T0);
  n.reached();
  assert.equal(n.due(T0 + 10 * EVERY), undefined, 'nothing while joined');
  const lost = T0 + 20 * EVERY;
  n.failed(lost, '14 UNAVAILABLE: read ECONNRESET');
  assert.equal(n.due(lost + EVERY - 1), undefined);
  assert.match(n.due(lost + EVERY)!, /after 60 s \(last error: 14 UNAVAILABLE: read ECONNRESET\)/);
});

// gRPC's lines about a proxy, in the site's words, once each; its other lines as it writes them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GrpcLogWatch, proxyWords } from '../../site-agent/grpc-log.ts';
import { captureWarnings } from '../shared/capture-logger.ts';

test("a proxy's refusal and a dead proxy are told apart, in words, and said once (gRPC wrote a raw line a second)", (t) => {
  assert.equal(
    proxyWords('Failed to connect to 127.0.0.1:33443 through proxy 127.0.0.1:33128 with status 403'),
    "the proxy 127.0.0.1:33128 answered HTTP 403 to CONNECT 127.0.0.1:33443: it does not let this host through to the coordinator's port; ask for CONNECT to port 33443 to be allowed, or list the coordinator's host in no_grpc_proxy to reach it directly",
  );
  assert.match(proxyWords('Failed to connect to proxy 127.0.0.1:39999 with error connect ECONNREFUSED 127.0.0.1:39999')!, /^cannot connect to the proxy 127\.0\.0\.1:39999 \(connect ECONNREFUSED 127\.0\.0\.1:39999\): check the proxy variable/);
  assert.equal(proxyWords('Connection to dns:127.0.0.1:1 rejected by server'), undefined);
  const { log, warnings } = captureWarnings();
  const watch = new GrpcLogWatch(log);
  const errors = t.mock.method(console, 'error', () => {});
  for (let i = 0; i < 3; i++) watch.line('E', 'Failed to connect to 127.0.0.1:33443 through proxy 127.0.0.1:33128 with status 403');
  watch.line('E', 'something else entirely');
  assert.equal(warnings.length, 1, 'said once');
  assert.match(watch.takeProxyFailure()!, /answered HTTP 403/);
  assert.equal(watch.takeProxyFailure(), undefined, 'taken: a later failure is not blamed on it');
  assert.deepEqual(errors.mock.calls.map((c) => c.arguments[0]), ['E something else entirely'], "gRPC's other lines as it writes them");
});

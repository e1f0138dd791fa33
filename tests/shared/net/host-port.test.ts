import { test } from 'node:test';
import assert from 'node:assert/strict';
import { addressProblem, hostOfAddress, hostPort } from '../../../shared/net/host-port.ts';

test('hostPort brackets an IPv6 literal, once', () => {
  assert.equal(hostPort('::1', 7443), '[::1]:7443');
  assert.equal(hostPort('[fd00::5]', 7443), '[fd00::5]:7443');
  assert.equal(hostPort('127.0.0.1', 7443), '127.0.0.1:7443');
  assert.equal(hostPort('coordinator.example.org', 7443), 'coordinator.example.org:7443');
});

test('a gRPC address is HOST:PORT: a scheme, a path, no port or an impossible one is named (they were retried for the whole connect window)', () => {
  for (const ok of ['127.0.0.1:31443', 'localhost:1', '[::1]:65535', 'coordinator.example.org:7443']) assert.equal(addressProblem(ok), undefined, ok);
  assert.match(addressProblem('https://127.0.0.1:31443')!, /has a scheme \(https:\/\/\)/);
  assert.match(addressProblem('grpc://127.0.0.1:31443')!, /has a scheme \(grpc:\/\/\)/);
  assert.match(addressProblem(' 127.0.0.1:31443')!, /has spaces around it/);
  assert.equal(addressProblem('::1:32443'), 'is an IPv6 address and a port without brackets: give [::1]:32443');
  assert.match(addressProblem('127.0.0.1:31443/')!, /has a path/);
  assert.match(addressProblem('127.0.0.1')!, /has no port/);
  assert.match(addressProblem('::1')!, /IPv6 address without a port: give \[ADDRESS\]:PORT/);
  assert.match(addressProblem('127.0.0.1:314430')!, /has port 314430, not in 1-65535/);
  assert.match(addressProblem('127.0.0.1:032443')!, /has port 032443 with a leading zero: give 32443 if that is meant/);
  assert.match(addressProblem('[::1]:00')!, /has port 00, not in 1-65535/);
  assert.match(addressProblem('127.0.0.1:0')!, /has port 0/);
});

test("an address's host, brackets off", () => {
  assert.equal(hostOfAddress('[fd00::5]:7443'), 'fd00::5');
  assert.equal(hostOfAddress('coord.example.org:7443'), 'coord.example.org');
  assert.equal(hostOfAddress('127.0.0.1'), '127.0.0.1');
});

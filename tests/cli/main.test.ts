// The CLI's entry: an unknown command gets a guess where one is close (an IT try typed "provison").
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';

const BIN = new URL('../../bin/fedcausal.js', import.meta.url).pathname;

test('an unknown command exits 2 with a guess where one is close, and none where none is', () => {
  const typo = spawnSync(process.execPath, [BIN, 'provison'], { encoding: 'utf8' });
  assert.equal(typo.status, 2);
  assert.match(typo.stderr, /unknown command "provison" \(did you mean "provision"\?\) \(see fedcausal --help\)/);
  const other = spawnSync(process.execPath, [BIN, 'xyzzy'], { encoding: 'utf8' });
  assert.equal(other.status, 2);
  assert.match(other.stderr, /unknown command "xyzzy" \(see fedcausal --help\)/);
});

// The process's last step: a finished command exits, whatever it left open.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';

test('a finished command exits with its code though something it left open would hold the process (a gRPC channel retrying into a network that drops packets)', () => {
  const started = Date.now();
  const script = "import { exitSoon } from './cli/entry.ts'; setInterval(() => {}, 1000); exitSoon(3, 300);";
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8', timeout: 20_000 });
  assert.equal(r.status, 3, r.stderr);
  assert.ok(Date.now() - started < 15_000, 'not held by the open interval');
  // Nothing open: it ends at once with the code, not after the grace.
  const quick = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', "import { exitSoon } from './cli/entry.ts'; exitSoon(2, 60_000);"], { encoding: 'utf8', timeout: 20_000 });
  assert.equal(quick.status, 2, quick.stderr);
});

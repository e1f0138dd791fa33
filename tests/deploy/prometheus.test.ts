// deploy/prometheus: the scrape config and alert rules pass promtool, and the rules'
// unit tests (alerts.test.yml) pass: each alert fires on a series that should raise it.
// Skipped, with the reason, where promtool (Debian's prometheus package) is not installed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const DIR = join('deploy', 'prometheus');
const skip = spawnSync('promtool', ['--version']).status === 0 ? false : 'promtool is not installed here (apt-get install prometheus)';

function promtool(...args: string[]): { status: number | null; out: string } {
  const r = spawnSync('promtool', args, { cwd: DIR, encoding: 'utf8' });
  return { status: r.status, out: r.stdout + r.stderr };
}

test('alert rules and scrape config pass promtool check', { skip }, () => {
  const rules = promtool('check', 'rules', 'alerts.yml');
  assert.equal(rules.status, 0, rules.out);
  assert.match(rules.out, /SUCCESS: 4 rules found/);
  // The scrape config reads the coordinator's token from a file beside it: check it with one there.
  const dir = mkdtempSync(join(tmpdir(), 'fedcausal-prometheus-'));
  try {
    cpSync(DIR, dir, { recursive: true });
    writeFileSync(join(dir, 'fedcausal-http-token'), 'token\n', { mode: 0o600 });
    const config = spawnSync('promtool', ['check', 'config', 'prometheus.yml'], { cwd: dir, encoding: 'utf8' });
    assert.equal(config.status, 0, config.stdout + config.stderr);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('alert rules fire on the series that should raise them (promtool test rules)', { skip }, () => {
  const r = promtool('test', 'rules', 'alerts.test.yml');
  assert.equal(r.status, 0, r.out);
});

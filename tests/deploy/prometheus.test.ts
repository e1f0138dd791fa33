// deploy/prometheus: the scrape config and alert rules pass promtool, and the rules'
// unit tests (alerts.test.yml) pass: each alert fires on a series that should raise it.
// Skipped, with the reason, where promtool (Debian's prometheus package) is not installed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
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
  const config = promtool('check', 'config', 'prometheus.yml');
  assert.equal(config.status, 0, config.out);
});

test('alert rules fire on the series that should raise them (promtool test rules)', { skip }, () => {
  const r = promtool('test', 'rules', 'alerts.test.yml');
  assert.equal(r.status, 0, r.out);
});

// The hardened units in deploy/systemd: `systemd-analyze verify` accepts them and
// `systemd-analyze security --offline` rates them at most 4.0 (the bound).
// Skipped, with the reason, where systemd-analyze is not installed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ExitCode } from '../../shared/errors.ts';

const UNITS = { coordinator: 'fedcausal-coordinator.service', site: 'fedcausal-site@.service' } as const;
const analyze = spawnSync('systemd-analyze', ['--version'], { encoding: 'utf8' });
const skip = analyze.status === 0 ? false : 'systemd-analyze is not installed here';

/** The units with their kit paths moved under DIR, where a start.sh exists (verify checks ExecStart). */
function unitsUnder(dir: string): { coordinator: string; site: string } {
  for (const kit of ['coordinator', 'sites/hospital-a']) {
    mkdirSync(join(dir, 'kits', kit), { recursive: true });
    writeFileSync(join(dir, 'kits', kit, 'start.sh'), '#!/bin/sh\n');
    chmodSync(join(dir, 'kits', kit, 'start.sh'), 0o755);
  }
  const write = (name: string, as: string) => {
    const text = readFileSync(join('deploy', 'systemd', name), 'utf8').replaceAll('/etc/fedcausal', join(dir, 'kits'));
    writeFileSync(join(dir, as), text);
    return join(dir, as);
  };
  return { coordinator: write(UNITS.coordinator, UNITS.coordinator), site: write(UNITS.site, 'fedcausal-site@hospital-a.service') };
}

test('systemd units: verify passes and the exposure is at most 4.0', { skip }, (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'fedcausal-units-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const units = unitsUnder(dir);
  for (const unit of [units.coordinator, units.site]) {
    const verify = spawnSync('systemd-analyze', ['verify', unit], { encoding: 'utf8' });
    assert.equal(verify.status, 0, `${unit}: ${verify.stderr}`);
    assert.equal(verify.stderr.trim(), '', `${unit}: verify printed warnings`);
    const security = spawnSync('systemd-analyze', ['security', '--offline=yes', '--threshold=40', unit], { encoding: 'utf8' });
    const level = /Overall exposure level for \S+: ([\d.]+)/.exec(security.stdout + security.stderr)?.[1];
    assert.ok(level !== undefined, `${unit}: no exposure level in the output:\n${security.stdout}${security.stderr}`);
    assert.ok(Number(level) <= 4.0, `${unit}: exposure ${level} > 4.0`);
    assert.equal(security.status, 0, `${unit}: above the threshold`);
  }
});

test("systemd units: nothing writable but the coordinator's state and runs and a site's model folder, and no npx", () => {
  for (const name of Object.values(UNITS)) {
    const text = readFileSync(join('deploy', 'systemd', name), 'utf8');
    assert.match(text, /^ProtectSystem=strict$/m, name);
    assert.match(text, /^NoNewPrivileges=yes$/m, name);
    assert.match(text, /^User=fedcausal$/m, name);
    assert.doesNotMatch(text, /\bnpx\b/, name);
    assert.doesNotMatch(text, /^ReadWritePaths=/m, `${name}: writable paths come from StateDirectory only`);
  }
  const coordinator = readFileSync(join('deploy', 'systemd', UNITS.coordinator), 'utf8');
  assert.match(coordinator, /^StateDirectory=fedcausal\/coordinator\/state fedcausal\/coordinator\/runs$/m);
  // A site writes its trained model only, into the kit's models/ (site.yaml's default modelDir).
  const site = readFileSync(join('deploy', 'systemd', UNITS.site), 'utf8');
  assert.deepEqual(site.match(/^StateDirectory=.*$/gm), ['StateDirectory=fedcausal/models/%i'], 'a site writes its model folder only');
  assert.deepEqual(site.match(/^BindPaths=.*$/gm), ['BindPaths=/var/lib/fedcausal/models/%i:/etc/fedcausal/sites/%i/models']);
});

test('systemd units: a failure (exit 1) is restarted, bad input (exit 2) is not', () => {
  // shared/errors.ts ExitCode.badInput: a restart cannot mend it, and Restart=on-failure alone looped every RestartSec.
  for (const name of Object.values(UNITS)) {
    const text = readFileSync(join('deploy', 'systemd', name), 'utf8');
    assert.match(text, /^Restart=on-failure$/m, name);
    assert.match(text, new RegExp(`^RestartPreventExitStatus=${ExitCode.badInput}$`, 'm'), name);
  }
});

// The container images build from the packed tarball (deploy/container/Dockerfile.*), with
// podman and the local base image deploy/container/base-image.sh makes (no registry needed).
// Gated: it runs only where podman and that base image exist (.ci/run installs both; a few
// minutes: npm pack, then the site image, ~1.5 min here). The coordinator image also compiles better-sqlite3 with
// Debian's compilers (apt needs Debian's mirror; ~3.5 min here): set
// FEDCAUSAL_CONTAINER_TEST=all to build it too. Containers are not started: `podman run`
// needs setrlimit, which this sandbox refuses; each build runs `fedcausal --version` inside.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO } from '../e2e/helpers/federation.ts';

const BASE = 'localhost/fedcausal-base:bookworm-node20';
const podman = spawnSync('podman', ['image', 'exists', BASE], { encoding: 'utf8' });
const skip = podman.error
  ? 'podman is not installed here'
  : podman.status !== 0
    ? `base image ${BASE} is missing (make it with deploy/container/base-image.sh)`
    : false;
const ROLES = process.env.FEDCAUSAL_CONTAINER_TEST === 'all' ? ['site', 'coordinator'] : ['site'];

function sh(cmd: string, args: string[], timeoutMs: number, cwd = REPO): string {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', timeout: timeoutMs, maxBuffer: 64 * 2 ** 20 });
  assert.equal(r.status, 0, `${cmd} ${args.join(' ')}: exit ${r.status}${r.error ? ` (${r.error.message})` : ''}\n${(r.stdout + r.stderr).split('\n').filter((l) => !l.includes('TAR_ENTRY')).slice(-30).join('\n')}`);
  return r.stdout + r.stderr;
}

test(`container images (${ROLES.join(', ')}) build from the packed tarball on the local base image`, { skip, timeout: 900_000 }, (t) => {
  const ctx = mkdtempSync(join(tmpdir(), 'fedcausal-image-'));
  const tags = ROLES.map((r) => `localhost/fedcausal-${r}:test-${process.pid}`);
  t.after(() => {
    for (const tag of tags) spawnSync('podman', ['rmi', '-f', tag], { stdio: 'ignore' });
    rmSync(ctx, { recursive: true, force: true });
  });
  // The release tarball, as a hospital receives it (prepack builds dist/).
  sh('npm', ['pack', '--pack-destination', ctx], 300_000);
  const tgz = readdirSync(ctx).find((f) => f.endsWith('.tgz'));
  assert.ok(tgz, 'npm pack wrote a tarball');
  writeFileSync(join(ctx, '.containerignore'), '*\n!*.tgz\n');
  for (const [i, role] of ROLES.entries()) {
    const t0 = Date.now();
    const log = sh('podman', ['build', '--isolation=chroot', '--format', 'docker', '-f', join(REPO, 'deploy', 'container', `Dockerfile.${role}`),
      '--build-arg', `BASE_IMAGE=${BASE}`, '--build-arg', `FEDCAUSAL_TGZ=${tgz}`, '-t', tags[i]!, ctx], 600_000);
    assert.match(log, /^fedcausal \d+\.\d+\.\d+/m, `${role}: fedcausal --version ran inside the image`);
    const size = sh('podman', ['image', 'inspect', '--format', '{{.Size}}', tags[i]!], 30_000).trim();
    t.diagnostic(`${role} image: built in ${((Date.now() - t0) / 1000).toFixed(0)} s, ${(Number(size) / 2 ** 20).toFixed(0)} MiB`);
  }
});

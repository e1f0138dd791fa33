// The container images build from the packed tarball (deploy/container/Dockerfile.*), with
// podman and the local base image deploy/container/base-image.sh makes (no registry needed).
// Gated: it runs only where podman and that base image exist (.ci/run installs both; a few
// minutes: npm pack, then the site image, ~1.5 min here). The coordinator image also compiles better-sqlite3 with
// Debian's compilers (apt needs Debian's mirror; ~3.5 min here): set
// FEDCAUSAL_CONTAINER_TEST=all to build it too. Containers are not started: `podman run`
// needs setrlimit, which this sandbox refuses; each build runs `fedcausal --version` inside.
// The user and build-context checks at the end read the files and always run.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
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

test('the images run as the numeric user 999:999, created as uid and gid 999', () => {
  // Kubernetes' runAsNonRoot refuses a named USER (it cannot tell it is not root); the chart and
  // the docs' kit-ownership steps name 999 (tests/deploy/helm.test.ts checks the chart).
  for (const role of ['coordinator', 'site']) {
    const text = readFileSync(join(REPO, 'deploy', 'container', `Dockerfile.${role}`), 'utf8');
    assert.deepEqual(text.match(/^USER .*$/gm), ['USER 999:999'], role);
    assert.match(text, /groupadd --system --gid 999 fedcausal/, role);
    assert.match(text, /useradd --system --uid 999 --gid 999 /, role);
    assert.match(text, /'fedcausal:x:999:999:/, `${role}: the account written directly (minbase) is 999 too`);
    assert.match(text, /test "\$\(id -u fedcausal\):\$\(id -g fedcausal\)" = 999:999/, role);
  }
});

test('the build context from the repository root holds the release tarball only', () => {
  // podman reads /.containerignore, Docker (BuildKit) Dockerfile.ROLE.dockerignore beside the file.
  const patterns = (file: string) => readFileSync(join(REPO, file), 'utf8').split('\n').filter((l) => l.trim() && !l.startsWith('#'));
  for (const file of ['.containerignore', 'deploy/container/Dockerfile.coordinator.dockerignore', 'deploy/container/Dockerfile.site.dockerignore'])
    assert.deepEqual(patterns(file), ['*', '!*.tgz'], file);
  for (const role of ['coordinator', 'site']) {
    const text = readFileSync(join(REPO, 'deploy', 'container', `Dockerfile.${role}`), 'utf8');
    // What the build needs from the context: COPY (or ADD) of the tarball, nothing else.
    assert.deepEqual(text.match(/^(COPY|ADD) \S+/gm), ['COPY ${FEDCAUSAL_TGZ}'], role);
    assert.match(text, /^ARG FEDCAUSAL_TGZ=\S+\.tgz$/m, role);
  }
});

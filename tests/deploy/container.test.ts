// The container images build from the packed tarball (deploy/container/Dockerfile.*), with
// podman and the local base image deploy/container/base-image.sh makes (no registry needed),
// then run a federation as docs/deploy-*.md and deploy/container/compose.yaml describe: the
// coordinator and two hospitals in containers on an internal podman network, read-only roots,
// the kits mounted read-only and given to uid 999, the coordinator's state in a named volume.
// Gated: it runs only where podman and that base image exist (.ci/run installs both, and runc;
// a few minutes: npm pack, the site image ~20 s, the coordinator image ~1.5 min, since it
// compiles better-sqlite3 with Debian's compilers from Debian's mirror, the run ~30 s).
// The user and build-context checks at the end read the files and always run.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { chownSync, copyFileSync, chmodSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BIN, HEART_FILES, HEART_SCHEMA, REPO } from '../e2e/helpers/federation.ts';

const BASE = 'localhost/fedcausal-base:bookworm-node20';
const podman = spawnSync('podman', ['image', 'exists', BASE], { encoding: 'utf8' });
const skip = podman.error
  ? 'podman is not installed here'
  : podman.status !== 0
    ? `base image ${BASE} is missing (make it with deploy/container/base-image.sh)`
    : false;
const ROLES = ['site', 'coordinator'] as const;
const TAG = (role: string) => `localhost/fedcausal-${role}:test-${process.pid}`;
const scratch = mkdtempSync(join(tmpdir(), 'fedcausal-image-'));
const built = new Set<string>();
after(() => {
  for (const role of built) spawnSync('podman', ['rmi', '-f', TAG(role)], { stdio: 'ignore' });
  rmSync(scratch, { recursive: true, force: true });
});

function sh(cmd: string, args: string[], timeoutMs: number, opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): string {
  const r = spawnSync(cmd, args, { cwd: opts.cwd ?? REPO, env: opts.env ?? process.env, encoding: 'utf8', timeout: timeoutMs, maxBuffer: 64 * 2 ** 20 });
  assert.equal(r.status, 0, `${cmd} ${args.join(' ')}: exit ${r.status}${r.error ? ` (${r.error.message})` : ''}\n${(r.stdout + r.stderr).split('\n').filter((l) => !l.includes('TAR_ENTRY')).slice(-30).join('\n')}`);
  return r.stdout + r.stderr;
}

test(`container images (${ROLES.join(', ')}) build from the packed tarball on the local base image`, { skip, timeout: 900_000 }, (t) => {
  // The release tarball, as a hospital receives it (prepack builds dist/).
  sh('npm', ['pack', '--pack-destination', scratch], 300_000);
  const tgz = readdirSync(scratch).find((f) => f.endsWith('.tgz'));
  assert.ok(tgz, 'npm pack wrote a tarball');
  writeFileSync(join(scratch, '.containerignore'), '*\n!*.tgz\n');
  for (const role of ROLES) {
    const t0 = Date.now();
    const args: string[] = ['build', '--isolation=chroot', '--format', 'docker', '-f', join(REPO, 'deploy', 'container', `Dockerfile.${role}`),
      '--build-arg', `BASE_IMAGE=${BASE}`, '--build-arg', `FEDCAUSAL_TGZ=${tgz}`, '-t', TAG(role), scratch];
    const r: SpawnSyncReturns<string> = spawnSync('podman', args, { encoding: 'utf8', timeout: 600_000, maxBuffer: 64 * 2 ** 20 });
    // The coordinator image fetches compilers from Debian's mirror: without it there is nothing to judge.
    const offline = /Temporary failure resolving|Failed to fetch|Could not connect to|Unable to locate package/.exec(r.stdout + r.stderr);
    if (r.status !== 0 && offline) {
      t.skip(`${role} image: Debian's mirror is not reachable from the build (${offline[0]})`);
      return;
    }
    const log = r.stdout + r.stderr;
    assert.equal(r.status, 0, `podman ${args.join(' ')}: exit ${r.status}${r.error ? ` (${r.error.message})` : ''}\n${log.split('\n').filter((l) => !l.includes('TAR_ENTRY')).slice(-30).join('\n')}`);
    built.add(role);
    assert.match(log, /^fedcausal \d+\.\d+\.\d+/m, `${role}: fedcausal --version ran inside the image`);
    const size = sh('podman', ['image', 'inspect', '--format', '{{.Size}}', TAG(role)], 30_000).trim();
    t.diagnostic(`${role} image: built in ${((Date.now() - t0) / 1000).toFixed(0)} s, ${(Number(size) / 2 ** 20).toFixed(0)} MiB`);
  }
});

/**
 * The environment under which `podman run` starts a container here, or why none starts. The
 * development VM needs two settings a usual host does not (podman's default rlimits exceed what
 * it may set, and crun refuses its hybrid cgroup layout): a containers.conf of the test's own
 * with runc and rlimits within the host's. Nothing is changed outside the test.
 */
function runEnv(): { env: NodeJS.ProcessEnv } | { why: string } {
  const tryRun = (env: NodeJS.ProcessEnv) => spawnSync('podman', ['run', '--rm', '--network', 'none', BASE, 'true'], { env, encoding: 'utf8', timeout: 120_000 });
  const plain = tryRun(process.env);
  if (plain.status === 0) return { env: process.env };
  const conf = join(scratch, 'containers.conf');
  writeFileSync(conf, '[containers]\ndefault_ulimits = ["nofile=4096:4096", "nproc=4096:4096"]\n[engine]\nruntime = "runc"\n');
  const env = { ...process.env, CONTAINERS_CONF: conf };
  const tuned = tryRun(env);
  if (tuned.status === 0) return { env };
  const last = (r: ReturnType<typeof tryRun>) => (r.stderr || r.error?.message || '').trim().split('\n').pop();
  return { why: `podman cannot start a container here: ${last(plain)}; with runc and lower rlimits: ${last(tuned)}` };
}

test('a federation runs in the images: coordinator and two hospitals in containers, as the deploy docs say', { skip, timeout: 600_000 }, (t) => {
  if (built.size < ROLES.length) return t.skip('the images did not build (test above)');
  const run = runEnv();
  if ('why' in run) return t.skip(run.why);
  const p = (args: string[], timeoutMs = 120_000) => sh('podman', args, timeoutMs, { env: run.env });
  const work = mkdtempSync(join(scratch, 'federation-'));
  const name = `fedcausal-test-${process.pid}`;
  const containers = ['coordinator', 'hospital-a', 'hospital-b'].map((c) => `${name}-${c}`);
  t.after(() => {
    spawnSync('podman', ['rm', '-f', ...containers], { env: run.env, stdio: 'ignore' });
    spawnSync('podman', ['network', 'rm', '-f', name], { env: run.env, stdio: 'ignore' });
    spawnSync('podman', ['volume', 'rm', '-f', name, `${name}-models`], { env: run.env, stdio: 'ignore' });
  });
  // compose.yaml's steps 1-3: the federation file, provision, the coordinator's listen, state
  // and run folders, and the kits given to uid 999 with their modes kept.
  writeFileSync(join(work, 'federation.yaml'), [
    'name: heart-network', 'coordinator: { host: coordinator, grpcPort: 7443, httpPort: 8080, allowNonLoopback: true }',
    'rounds: 3', 'model: baseline', `schema: ${HEART_SCHEMA}`, 'minSites: 2',
    'sites:', '  - { name: hospital-a, data: /data/export.csv }', '  - { name: hospital-b, data: /data/export.csv }', '',
  ].join('\n'));
  sh(process.execPath, [BIN, 'provision', '--federation', join(work, 'federation.yaml'), '--out', join(work, 'kits')], 120_000);
  const coordYaml = join(work, 'kits', 'coordinator', 'coordinator.yaml');
  const yaml = readFileSync(coordYaml, 'utf8');
  writeFileSync(join(work, 'kits', 'coordinator', 'as-provisioned.yaml'), yaml, { mode: 0o600 });
  assert.match(yaml, /^ {2}host: coordinator$/m);
  assert.match(yaml, /^runDir: runs$/m);
  // No linger after the end: this test waits for the run's end, not for a dashboard or Prometheus.
  writeFileSync(coordYaml, yaml.replace(/^ {2}host: coordinator$/m, '  host: 0.0.0.0\n  httpHost: 0.0.0.0').replace(/^ {2}httpLingerSeconds: 60$/m, '  httpLingerSeconds: 0')
    .replace(/^runDir: runs$/m, 'runDir: /var/lib/fedcausal/runs\nstateDir: /var/lib/fedcausal/state'));
  const data = { 'hospital-a': HEART_FILES.cleveland!, 'hospital-b': HEART_FILES.hungary! };
  for (const [site, file] of Object.entries(data)) {
    copyFileSync(file, join(work, `${site}.csv`));
    chmodSync(join(work, `${site}.csv`), 0o644);
  }
  chmodSync(work, 0o755);
  // hospital-a keeps its trained model in a volume at the image's model folder (docs/deploy-site.md);
  // hospital-b runs as provisioned: its read-only kit cannot take the model, which it says.
  const siteA = join(work, 'kits', 'sites', 'hospital-a', 'site.yaml');
  writeFileSync(siteA, `${readFileSync(siteA, 'utf8').trimEnd()}\nmodelDir: /var/lib/fedcausal/models\n`, { mode: 0o600 });
  if (process.getuid?.() === 0) {
    // A kit mounted as provisioned (root's, 0700): the agent says which uid cannot enter what.
    assert.match(refusedStart(run.env, join(work, 'kits', 'sites', 'hospital-a'), TAG('site')), /\/kit\/site\.yaml: cannot read config \(EACCES[^)]*\); this process runs as uid 999, gid 999, which may not enter the folder \/kit \(owner uid 0, gid 0, mode 0700\)/);
  }
  giveTo999(join(work, 'kits', 'coordinator'), run.env);
  giveTo999(join(work, 'kits', 'sites'), run.env);
  // coordinator.yaml as provisioned: runDir inside the read-only kit, said with what to set.
  assert.match(refusedStart(run.env, join(work, 'kits', 'coordinator'), TAG('coordinator'), 'coordinator', 'start', '--config', '/kit/as-provisioned.yaml'), /runDir: \/kit\/runs: cannot write there \(EROFS\): a read-only file system\. .*; in the container image, set runDir and stateDir under \/var\/lib\/fedcausal/);

  p(['network', 'create', '--internal', name]);
  p(['run', '-d', '--name', containers[0]!, '--network', name, '--network-alias', 'coordinator', '--read-only', '--tmpfs', '/tmp',
    '-v', `${join(work, 'kits', 'coordinator')}:/kit:ro`, '-v', `${name}:/var/lib/fedcausal`, TAG('coordinator')]);
  // The image's health check, run by hand (podman's timer for it needs systemd): /healthz answers.
  let healthy = false;
  for (let i = 0; i < 60 && !healthy; i++) {
    healthy = spawnSync('podman', ['healthcheck', 'run', containers[0]!], { env: run.env, stdio: 'ignore', timeout: 30_000 }).status === 0;
    if (!healthy) spawnSync('sleep', ['0.5']);
  }
  assert.ok(healthy, `the coordinator's health check never passed:\n${logs(containers[0]!, run.env)}`);
  for (const [i, site] of (['hospital-a', 'hospital-b'] as const).entries())
    p(['run', '-d', '--name', containers[i + 1]!, '--network', name, '--read-only',
      '-v', `${join(work, 'kits', 'sites', site)}:/kit:ro`, '-v', `${join(work, `${site}.csv`)}:/data/export.csv:ro`,
      ...(site === 'hospital-a' ? ['-v', `${name}-models:/var/lib/fedcausal/models`] : []), TAG('site')]);
  const codes = spawnSync('podman', ['wait', ...containers], { env: run.env, encoding: 'utf8', timeout: 300_000 });
  const all = containers.map((c) => `--- ${c}\n${logs(c, run.env)}`).join('\n');
  assert.deepEqual(codes.stdout.trim().split('\n'), ['0', '0', '0'], `exit codes of ${containers.join(', ')}: ${codes.stdout}${codes.stderr}\n${all}`);
  assert.match(logs(containers[1]!, run.env), /site finished: federation complete; model saved to \/var\/lib\/fedcausal\/models\/heart-network-hospital-a-\d{8}T\d{6}Z\.model\.json/);
  assert.match(logs(containers[2]!, run.env), /the federation's model will not be saved at this site: modelDir \/kit\/models: cannot write there \(EROFS\)/);
  assert.match(logs(containers[2]!, run.env), /site finished: federation complete; the model was not saved/);
  const model = JSON.parse(p(['run', '--rm', '--network', 'none', '-v', `${name}-models:/v:ro`, BASE, 'sh', '-c', 'cat /v/*.model.json'])) as { format: string; site: string };
  assert.deepEqual([model.format, model.site], ['fedcausal-model', 'hospital-a']);
  // The results, read from the named volume the coordinator wrote as uid 999.
  const results = JSON.parse(p(['run', '--rm', '--network', 'none', '-v', `${name}:/v:ro`, BASE, 'sh', '-c', 'cat /v/runs/*/results.json'])) as {
    complete: boolean; sites: Record<string, { n: number; auroc: number }>;
  };
  assert.equal(results.complete, true);
  assert.deepEqual(Object.keys(results.sites).sort(), ['hospital-a', 'hospital-b']);
  for (const s of Object.values(results.sites)) assert.ok(s.n > 0 && s.auroc > 0.5, JSON.stringify(s));
  t.diagnostic(`federation in containers: AUROC ${Object.entries(results.sites).map(([k, s]) => `${k} ${s.auroc.toFixed(3)}`).join(', ')}`);
});

/** The docs' kit-ownership step: chown -R 999:999 as root, `podman unshare chown` rootless (modes kept). */
function giveTo999(dir: string, env: NodeJS.ProcessEnv): void {
  if (process.getuid?.() !== 0) {
    sh('podman', ['unshare', 'chown', '-R', '999:999', dir], 60_000, { env });
    return;
  }
  chownSync(dir, 999, 999);
  for (const entry of readdirSync(dir, { recursive: true, encoding: 'utf8' })) chownSync(join(dir, entry), 999, 999);
}

/** Starts `image` with `kit` mounted read-only at /kit (no network); asserts it refuses with exit 2 and returns its stderr. */
function refusedStart(env: NodeJS.ProcessEnv, kit: string, image: string, ...command: string[]): string {
  const r = spawnSync('podman', ['run', '--rm', '--network', 'none', '--read-only', '-v', `${kit}:/kit:ro`, image, ...command], { env, encoding: 'utf8', timeout: 120_000 });
  assert.equal(r.status, 2, r.stdout + r.stderr);
  return r.stderr;
}

function logs(container: string, env: NodeJS.ProcessEnv): string {
  const r = spawnSync('podman', ['logs', container], { env, encoding: 'utf8', timeout: 30_000 });
  return (r.stdout + r.stderr).split('\n').slice(-15).join('\n');
}

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

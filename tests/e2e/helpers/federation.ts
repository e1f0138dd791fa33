/**
 * A real federation for end-to-end tests: a kit provisioned into a temp folder,
 * the coordinator and site agents started as separate `node bin/fedcausal.js`
 * processes talking gRPC on loopback (or between network namespaces: see `host` and
 * SpawnOptions.prefix), their JSON log lines collected.
 *
 * No child may outlive a test: `withFederation` kills every process it started
 * when the test ends (pass or fail), a hard timer kills them if the test hangs,
 * and an 'exit' hook kills them if the test process itself goes away.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import YAML from 'yaml';
import { provisionFederation, type ProvisionResult } from '../../../cli/provision.ts';
import type { FederationStatus } from '../../../shared/federation/status.ts';
import type { FederationManifest, SignedManifest } from '../../../shared/federation/manifest.ts';
import { freePorts } from '../../../shared/net/free-port.ts';
import { until, within } from './wait.ts';

export { sleep, until, within } from './wait.ts';
export { RoleProcess, type LogLine } from './role-process.ts';
import { RoleProcess } from './role-process.ts';

export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const BIN = join(REPO, 'bin', 'fedcausal.js');
/** The UCI heart-disease files, used in place (never copied into the repo). */
export const HEART = resolve(REPO, '..', 'shared', 'data', 'heart-disease');
export const HEART_SCHEMA = join(HEART, 'schema.json');
export const HEART_FILES: Record<string, string> = {
  cleveland: join(HEART, 'processed.cleveland.data'),
  hungary: join(HEART, 'processed.hungarian.data'),
  switzerland: join(HEART, 'processed.switzerland.data'),
  va: join(HEART, 'processed.va.data'),
};


/** The data a federation trains on: a schema and one file per site. */
export interface Cohort {
  schema: string;
  files: Record<string, string>;
}

export const HEART_COHORT: Cohort = { schema: HEART_SCHEMA, files: HEART_FILES };

export interface FederationOptions {
  /** Site names: keys of `cohort.files`. */
  sites: string[];
  /** Default: the UCI heart-disease files. */
  cohort?: Cohort;
  rounds: number;
  /** Model settings for coordinator.yaml; default a small baseline with one local epoch. */
  model?: { kind: string } & Record<string, unknown>;
  quorum?: { minSitesToStart?: number; minSitesToAccept?: number; roundDeadlineSeconds?: number; startTimeoutSeconds?: number; rejoinGraceSeconds?: number; waitForAllSeconds?: number };
  localBaseline?: boolean;
  /** Every child is killed after this long, whatever the test is doing. */
  hardTimeoutMs: number;
  /** Extra top-level fields merged into coordinator.yaml. */
  coordinatorExtra?: Record<string, unknown>;
  /**
   * Address the coordinator listens on (default 127.0.0.1). Another address (one inside a
   * network namespace the caller made) sets allowNonLoopback in coordinator.yaml.
   */
  host?: string;
  /**
   * Listen on the ports picked at provisioning instead of port 0, so a restarted coordinator
   * is found again at the address the sites already have.
   */
  fixedPorts?: boolean;
  /** Sites' reconnect window (site.yaml connectTimeoutSeconds); default 15. */
  siteConnectTimeoutSeconds?: number;
}

/** How a role is started: `prefix` runs it through another command (e.g. `ip netns exec NS`). */
export interface SpawnOptions {
  prefix?: string[];
  /** Extra environment (e.g. FEDCAUSAL_CRASH_AT for a fault point). */
  env?: Record<string, string>;
}

const liveChildren = new Set<ChildProcess>();
// Last resort: the test process is going away (e.g. an uncaught error); take the children with it.
process.on('exit', () => {
  for (const c of liveChildren) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});

/** Two distinct free ports for the coordinator (taken together: two single picks can coincide). */
async function coordinatorPorts(): Promise<{ grpcPort: number; httpPort: number }> {
  const [grpcPort, httpPort] = await freePorts(2);
  return { grpcPort: grpcPort!, httpPort: httpPort! };
}

export class TestFederation {
  readonly processes: RoleProcess[] = [];
  grpcAddress = '';
  httpUrl = '';
  timedOut = false;
  private readonly hardTimer: NodeJS.Timeout;

  private constructor(
    readonly dir: string,
    readonly kits: ProvisionResult,
    readonly opts: FederationOptions,
  ) {
    this.hardTimer = setTimeout(() => {
      this.timedOut = true;
      this.killAll('SIGKILL');
    }, opts.hardTimeoutMs);
    this.hardTimer.unref();
  }

  /** Provisions a kit for `opts.sites` in a fresh temp folder and tailors coordinator.yaml. */
  static async create(opts: FederationOptions): Promise<TestFederation> {
    const dir = mkdtempSync(join(tmpdir(), 'fedcausal-e2e-'));
    try {
      const fedFile = join(dir, 'federation.yaml');
      writeFileSync(
        fedFile,
        YAML.stringify({
          name: 'e2e',
          // Provisioning wants real port numbers; the coordinator is then told to bind port 0 (see below).
          // The host goes into the coordinator's TLS certificate, so it is the one the sites dial.
          coordinator: { host: opts.host ?? '127.0.0.1', ...(await coordinatorPorts()) },
          ...(opts.host !== undefined && opts.host !== '127.0.0.1' ? { allowNonLoopback: true } : {}),
          rounds: opts.rounds,
          model: opts.model ?? { kind: 'baseline', localEpochs: 1 },
          seed: 1,
          schema: (opts.cohort ?? HEART_COHORT).schema,
          sites: opts.sites.map((name) => {
            const data = (opts.cohort ?? HEART_COHORT).files[name];
            if (!data) throw new Error(`no data file for site "${name}"`);
            return { name, data };
          }),
        }),
      );
      const kits = await provisionFederation(fedFile, join(dir, 'kits'));
      const fed = new TestFederation(dir, kits, opts);
      const host = opts.host ?? '127.0.0.1';
      fed.editYaml(fed.coordinatorYaml, (c) => ({
        ...c,
        // Port 0: the OS picks free ports at bind time, so two test runs can never collide.
        // HTTP on the same address as gRPC: the ready line's addresses are checked against `host` below.
        listen: opts.fixedPorts ? { ...(c.listen as object), host, httpHost: host } : { host, httpHost: host, grpcPort: 0, httpPort: 0 },
        ...(host === '127.0.0.1' ? {} : { allowNonLoopback: true }),
        runDir: join(dir, 'runs'),
        localBaseline: opts.localBaseline ?? false,
        quorum: { ...(c.quorum as object), ...opts.quorum },
        ...opts.coordinatorExtra,
      }));
      // Sites give up quickly if the coordinator is gone, so nothing lingers after a failure.
      const window = opts.siteConnectTimeoutSeconds ?? 15;
      for (const s of kits.siteKits) fed.editYaml(fed.siteYaml(s.name), (c) => ({ ...c, connectTimeoutSeconds: window }));
      return fed;
    } catch (e) {
      rmSync(dir, { recursive: true, force: true });
      throw e;
    }
  }

  get coordinatorYaml(): string {
    return join(this.kits.coordinatorKit, 'coordinator.yaml');
  }

  siteKit(name: string): string {
    const k = this.kits.siteKits.find((s) => s.name === name);
    if (!k) throw new Error(`no site "${name}" in this federation`);
    return k.dir;
  }

  siteYaml(name: string): string {
    return join(this.siteKit(name), 'site.yaml');
  }

  editYaml(path: string, edit: (doc: Record<string, unknown>) => Record<string, unknown>): void {
    writeFileSync(path, YAML.stringify(edit(YAML.parse(readFileSync(path, 'utf8')) as Record<string, unknown>)));
  }

  /** The coordinator's signed manifest (public keys only), as the kits hold it. */
  manifest(): FederationManifest {
    return (JSON.parse(readFileSync(join(this.kits.coordinatorKit, 'manifest.json'), 'utf8')) as SignedManifest).manifest;
  }

  /** Runs this node (the one running the caller, whatever `node` is on PATH) on `argv`, through `prefix` if given. */
  spawnNode(name: string, argv: string[], { prefix = [], env = {} }: SpawnOptions = {}): RoleProcess {
    if (this.timedOut) throw new Error(`hard timeout of ${this.opts.hardTimeoutMs} ms already passed`);
    const [cmd, ...rest] = [...prefix, process.execPath, ...argv];
    const child = spawn(cmd!, rest, {
      cwd: REPO,
      env: { ...process.env, FEDCAUSAL_LOG: 'json', FEDCAUSAL_LOG_LEVEL: 'info', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    liveChildren.add(child);
    child.once('exit', () => liveChildren.delete(child));
    const p = new RoleProcess(name, child);
    this.processes.push(p);
    return p;
  }

  /**
   * Starts the coordinator, waits until it serves, and points every site kit at the ports it bound.
   * A restart (after the first start) binds the same gRPC port, so running sites find it again.
   */
  async startCoordinator(timeoutMs = 30_000, spawnOpts: SpawnOptions = {}): Promise<RoleProcess> {
    if (this.grpcAddress && !this.opts.fixedPorts) {
      const port = Number(this.grpcAddress.split(':').at(-1));
      this.editYaml(this.coordinatorYaml, (c) => ({ ...c, listen: { ...(c.listen as object), grpcPort: port } }));
    }
    const p = this.spawnNode('coordinator', [BIN, 'coordinator', 'start', '--config', this.coordinatorYaml], spawnOpts);
    const ready = await p.waitForLog((l) => l.message === 'coordinator ready', timeoutMs, '"coordinator ready"');
    const grpc = String(ready.grpc);
    const http = String(ready.http).replace(/\/$/, '');
    const host = (this.opts.host ?? '127.0.0.1').replace(/\./g, '\\.');
    if (!new RegExp(`^${host}:\\d+$`).test(grpc) || !new RegExp(`^http://${host}:\\d+$`).test(http))
      throw new Error(`coordinator ready line has unexpected addresses: grpc ${grpc}, http ${http}`);
    this.grpcAddress = grpc;
    this.httpUrl = http;
    for (const s of this.kits.siteKits)
      this.editYaml(this.siteYaml(s.name), (c) => ({ ...c, coordinator: { address: grpc } }));
    return p;
  }

  /** Starts (or restarts) a site agent from its kit. */
  startSite(name: string, spawnOpts: SpawnOptions = {}): RoleProcess {
    if (!this.grpcAddress) throw new Error('start the coordinator first (sites need its port)');
    return this.spawnNode(`site ${name}`, [BIN, 'site', 'start', '--config', this.siteYaml(name)], spawnOpts);
  }

  /** GET /api/status. */
  status(): Promise<FederationStatus> {
    return this.getJson<FederationStatus>('/api/status');
  }

  /**
   * Polls /api/status until site `name` is (or is not) online; returns that status.
   * With `proc`, fails as soon as that process exits instead of waiting out the timeout.
   */
  async waitSiteOnline(name: string, online: boolean, timeoutMs: number, proc?: RoleProcess): Promise<FederationStatus> {
    const what = `site ${name} ${online ? 'online' : 'offline'} in /api/status`;
    const died = proc?.exited.then(({ code, signal }) => {
      throw new Error(`${proc.name} exited (code ${code}, signal ${signal}) while waiting for ${what}`);
    });
    died?.catch(() => {});
    const seen = until(
      async () => {
        const st = await this.status();
        return st.sites.find((x) => x.name === name)?.online === online ? st : undefined;
      },
      timeoutMs,
      what,
    );
    return died ? Promise.race([seen, died]) : seen;
  }

  /** The coordinator kit's HTTP token (every endpoint but /healthz requires it). */
  get httpToken(): string {
    return readFileSync(join(this.kits.coordinatorKit, 'http-token'), 'utf8').trim();
  }

  private authorized(): { headers: Record<string, string> } {
    return { headers: { authorization: `Bearer ${this.httpToken}` } };
  }

  async getJson<T = unknown>(path: string): Promise<T> {
    const r = await fetch(this.httpUrl + path, this.authorized());
    if (r.status !== 200) throw new Error(`GET ${path}: HTTP ${r.status}`);
    return (await r.json()) as T;
  }

  async getText(path: string): Promise<string> {
    const r = await fetch(this.httpUrl + path, this.authorized());
    if (r.status !== 200) throw new Error(`GET ${path}: HTTP ${r.status}`);
    return r.text();
  }

  /** The run's results.json, from the path the coordinator printed on stdout. */
  results<T = Record<string, unknown>>(coordinator: RoleProcess): T {
    const m = /results: (.*)/.exec(coordinator.stdout);
    if (!m) throw new Error(`coordinator printed no results path; stdout: ${JSON.stringify(coordinator.stdout)}`);
    return JSON.parse(readFileSync(m[1]!.trim(), 'utf8')) as T;
  }

  killAll(signal: NodeJS.Signals): void {
    for (const p of this.processes) p.kill(signal);
  }

  /** Every process's recent output, for a failing test's report. */
  describe(): string {
    return this.processes.map((p) => p.tail()).join('\n');
  }

  /** Stops every child (SIGTERM, then SIGKILL after a grace period) and removes the temp folder. */
  async close(): Promise<void> {
    clearTimeout(this.hardTimer);
    this.killAll('SIGTERM');
    const all = Promise.all(this.processes.map((p) => p.exited));
    const graceful = await within(all, 3000, 'children to exit').then(
      () => true,
      () => false,
    );
    if (!graceful) {
      this.killAll('SIGKILL');
      await within(all, 5000, 'children to die after SIGKILL').catch(() => {});
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/**
 * Runs `body` against a fresh federation; every child is killed and the temp
 * folder removed afterwards. On failure the processes' last log lines are
 * added to the error, since a multi-process failure is otherwise opaque.
 */
export async function withFederation(opts: FederationOptions, body: (fed: TestFederation) => Promise<void>): Promise<void> {
  const fed = await TestFederation.create(opts);
  try {
    await body(fed);
  } catch (e) {
    const err = e as Error;
    const why = fed.timedOut ? `(hard timeout of ${opts.hardTimeoutMs} ms hit: every child was killed)\n` : '';
    err.message = `${err.message}\n${why}${fed.describe()}`;
    throw err;
  } finally {
    await fed.close();
  }
}

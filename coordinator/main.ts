import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { InputError, StorageError } from '../shared/errors.ts';
import type { Logger } from '../shared/logger.ts';
import { backendFromEnv, loadBackend } from '../shared/model/backend.ts';
import { ADVISED_LINGER_SECONDS, DP_BUDGET_NAMES, PROVISIONED_LINGER_SECONDS, loadCoordinatorConfig, type CoordinatorConfig } from './config.ts';
import { largeEpsilonWarning } from '../shared/privacy/budget.ts';
import { createFederation, type FederationSettings } from './federation.ts';
import { startGrpcServer } from './grpc-server.ts';
import { CoordinatorMetrics } from './metrics/coordinator-metrics.ts';
import { FEDERATION_STATES } from '../shared/federation/state.ts';
import { loadCoordinatorTls } from '../shared/pki/kit-tls.ts';
import { openTrustStore } from '../shared/pki/trust-store.ts';
import { loadKitHttpToken } from '../shared/net/http-token.ts';
import * as grpc from '@grpc/grpc-js';
import { startHttpServer } from './http/server.ts';
import type { FederationOutcome, RoundLoop } from './round-loop.ts';
import { writeRunReport } from './run-report.ts';
import { END_ITEMS_LISTED, endMessageFor, failedMessageFor, listed } from './end-message.ts';
import { FileSpool } from './spool.ts';
import { CoordinatorStore, type ConfigIdentity } from './state/store.ts';
import { canonicalJson } from '../shared/canonical-json.ts';
import { hostPort } from '../shared/net/host-port.ts';
import { statusDocument } from './status-document.ts';
import { EventLog, tapEvents } from './events.ts';
import { lingerHttp } from './http/linger.ts';
import { prepareOutputDir } from '../shared/output-path.ts';
import { createStrategy } from './strategy/registry.ts';
import type { Strategy } from './strategy/strategy.ts';

export interface CoordinatorRun {
  outcome: FederationOutcome;
  report: { results: string; plot: string; model: string; scoring?: string };
}

/**
 * `fedcausal coordinator start`: serves gRPC (sites) and HTTP (dashboard, /metrics,
 * /api/status), runs the rounds, writes the run report, tells sites to stop.
 * `buildResults` turns the outcome into the results file (cli/results.ts).
 */
export async function startCoordinator(
  configPath: string,
  log: Logger,
  buildResults: (o: FederationOutcome) => unknown,
  signal?: AbortSignal,
  /** Hears the run report once written, before the HTTP side lingers (its paths went out only at exit, after the linger). */
  onReport?: (report: CoordinatorRun['report']) => void,
): Promise<CoordinatorRun> {
  // The dashboard's event log is fed from these log lines (joins, drops, refusals...).
  const events = new EventLog();
  log = tapEvents(log, events);
  const cfg = loadCoordinatorConfig(configPath);
  // Before anything else starts: a kit without its TLS files is refused, never served in plaintext.
  const tlsFiles = loadCoordinatorTls(configPath);
  const httpToken = loadKitHttpToken(configPath);
  const trust = await openTrustStore({
    caPath: tlsFiles.caPath,
    crlPath: tlsFiles.crlPath,
    onRejected: (message) => log.error('revocation list not reloaded', { message }),
  });
  await loadBackend(backendFromEnv(process.env), log);
  const strategy = createStrategy(cfg.strategy.name, cfg.strategy.options);
  // Opened before anything listens: a state file that cannot be used stops the start-up here.
  const store = openState(cfg, configPath);
  let phase: { state: string; since: number } | undefined;
  // The first fault of the coordinator's own disk met while taking a message: the run stops at its last committed round.
  let storageFault: StorageError | undefined;
  const fed = createFederation(
    federationSettings(cfg, strategy, store),
    log,
    (e) => {
      if (e.type === 'state') {
        // Each state is a phase of the round: its duration ends where the next one begins.
        const now = Date.now();
        if (phase) metrics.phase(phase.state, (now - phase.since) / 1000);
        phase = { state: e.state, since: now };
      } else {
        metrics.roundCommitted({ ...e.record, durationSeconds: e.record.durationMs / 1000 });
        if (e.record.health) metrics.debiasHealth(e.record.health);
        log.info('round committed', { round: e.record.round, participants: e.record.participants, failures: e.record.failures, ...e.record.metrics });
      }
    },
    (reason, site) => metrics.refused(reason, site),
    { payloadBytes: (direction, bytes) => metrics.payloadBytes(direction, bytes) },
    (e) => {
      storageFault ??= e;
      fed.loop.stop(`the coordinator's storage failed: ${e.message}`);
    },
  );
  const status = statusDocument({ cfg, fed, strategy: strategy.name, events });
  // The live gauges read the loop and the directory directly: status() builds the whole
  // dashboard document (past runs from disk included), too much to do once per gauge per scrape.
  const metrics = new CoordinatorMetrics(
    { round: () => fed.loop.round, roundsPlanned: () => cfg.rounds, state: () => fed.loop.state, sites: () => fed.directory.states(), outcome: () => fed.loop.outcome?.outcome, finalEvaluation: () => fed.loop.final },
    FEDERATION_STATES,
  );
  // gRPC's own lines into the log as JSON: a port clash wrote a raw "E No address added ..." beside
  // the coordinator's own message on it, breaking one JSON object per line (a hospital IT try).
  grpc.setLogger({ error: (m?: unknown) => log.warn('gRPC', { said: String(m) }), info: (m?: unknown) => log.debug('gRPC', { said: String(m) }), debug: (m?: unknown) => log.debug('gRPC', { said: String(m) }) });
  const grpcServer = await startGrpcServer({ endpoint: fed.service, host: cfg.listen.host, port: cfg.listen.grpcPort, maxChunkSize: cfg.limits.maxChunkSize, log, tls: { files: tlsFiles, trust }, limits: cfg.connections, onRevoked: (site) => fed.directory.markRevoked(site) });
  // A port in use is a start-up error: nothing stays half-started (gRPC serving without HTTP).
  // HTTP binds on its own (listen.httpHost, loopback by default) and answers the gRPC host's name too.
  const httpServing = { host: cfg.listen.httpHost, port: cfg.listen.httpPort, allowedHosts: [cfg.listen.host, ...cfg.listen.httpAllowedHosts] };
  const http = await startHttpServer({ ...httpServing, status, summary: () => fed.loop.agreed.readiness?.summary, metrics, log, token: httpToken }).catch(async (e: Error) => {
    await grpcServer.close();
    throw e;
  });
  log.info('coordinator ready', { federation: cfg.federation, grpc: hostPort(cfg.listen.host, grpcServer.port), http: `http://${hostPort(cfg.listen.httpHost, http.port)}/`, sites: cfg.sites.length });
  startWarnings(cfg, log);
  const onAbort = () => fed.loop.stop('coordinator shutting down');
  const siteNames = cfg.sites.map((s) => s.name);
  signal?.addEventListener('abort', onAbort);
  try {
    const outcome = await fed.loop.run();
    const privacy = fed.privacy();
    if (privacy) outcome.privacy = privacy;
    const report = await reportAndEnd(fed.loop, outcome, cfg, buildResults, siteNames, log, fed.directory.states().flatMap((x) => (x.leftOut ? [x.name] : [])));
    onReport?.(report);
    return { outcome, report };
  } catch (e) {
    throw await afterRunError(e as Error, { fed, store, signal, storageFault, siteNames, log });
  } finally {
    signal?.removeEventListener('abort', onAbort);
    await closeAfterRun(fed, cfg, { grpc: grpcServer, http }, signal, log);
    // Best effort: on a failing disk, closing must not replace the error the run ended with.
    try {
      store.close();
    } catch (e) {
      log.warn('coordinator state not closed cleanly', { error: (e as Error).message });
    }
    FileSpool.cleanup();
  }
}

/**
 * How a run that threw ends, and the error the coordinator exits with: a requested stop or a
 * fault of its own disk is a pause (the state keeps the last committed round, the sites are
 * not told anything and keep reconnecting); anything else fails the federation, told to every site.
 */
async function afterRunError(
  e: Error,
  c: { fed: ReturnType<typeof createFederation>; store: CoordinatorStore; signal: AbortSignal | undefined; storageFault: StorageError | undefined; siteNames: string[]; log: Logger },
): Promise<Error> {
  const { fed, log } = c;
  const fault = c.storageFault ?? (e instanceof StorageError ? e : undefined);
  const at = { round: fed.loop.history.at(-1)?.round ?? 0, state: c.store.path };
  if (c.signal?.aborted) {
    fed.loop.settle(e);
    log.info('coordinator stopped on request; a restart resumes from the last committed round', at);
    return e;
  }
  if (fault) {
    // Exit 1, so that a supervisor restarts it; exit 2 where a person must choose first (fault.restartable).
    fed.loop.settle(fault);
    const said = fault.restartable
      ? 'coordinator stopped: its own storage failed; a restart resumes from the last committed round once the disk is back'
      : 'coordinator stopped: its state file was removed or replaced while it ran; a person must choose how to go on (the error says how)';
    log.error(said, { ...at, error: fault.message });
    return fault;
  }
  const failed = `federation failed: ${e.message}`;
  await fed.loop.end(failed, 'failed', undefined, (site) => failedMessageFor(site, failed, c.siteNames)).catch(() => {});
  return e;
}

/** After the run: the sites told how it ended (those away too, for their grace), the linger, then both servers closed. */
async function closeAfterRun(
  fed: ReturnType<typeof createFederation>,
  cfg: CoordinatorConfig,
  servers: Record<'grpc' | 'http', { close(): Promise<void> }>,
  signal: AbortSignal | undefined,
  log: Logger,
): Promise<void> {
  // Give sites a moment to read the 'end' message before the sockets close.
  await new Promise((r) => setTimeout(r, 300));
  // A site that went away just before the end (restarting, reconnecting) is told how it ended when it rejoins.
  await fed.loop.ended?.awaitAway(fed.directory, cfg.quorum.rejoinGraceMs, log, signal);
  // The operator's dashboard outlives the run for a while: the finished status, not a dead page;
  // gRPC serves as long, so a site that joins meanwhile hears the end too.
  await lingerHttp(cfg.listen.httpLingerSeconds, fed.loop.state, signal, log);
  await servers.grpc.close();
  fed.service.flushRefusalLog();
  await servers.http.close();
}

/**
 * The run's durable state (and spool) under stateDir, once runDir and stateDir are known to be
 * writable: the run report goes to runDir at the end, refused now rather than after every round.
 * A finished run's state is refused: exit 2, as a bad config, since a restart cannot help
 * (systemd's RestartPreventExitStatus=2 stops there).
 */
function openState(cfg: CoordinatorConfig, configPath: string): CoordinatorStore {
  // Private too: each run folder holds every site's row counts and figures (0700 whatever the umask: a DPO re-review found 0777).
  writableDir(cfg.runDir, `${configPath}: runDir:`, 0o700);
  // Private to the coordinator's user: the state holds every site's figures.
  writableDir(cfg.stateDir, `${configPath}: stateDir:`, 0o700);
  const store = CoordinatorStore.open(join(cfg.stateDir, 'coordinator.sqlite'), cfg.federation, configFingerprint(cfg), configParts(cfg), legacyConfigIdentity(cfg));
  FileSpool.useDir(join(cfg.stateDir, 'spool'));
  const finished = store.finished();
  if (finished) {
    store.close();
    throw new InputError(`federation "${cfg.federation}" already finished at ${finished.at} (results: ${finished.results}); move ${store.path} away to run it again`);
  }
  return store;
}

/** The federation's settings from coordinator.yaml, with its strategy and durable state. */
function federationSettings(cfg: CoordinatorConfig, strategy: Strategy, store: CoordinatorStore): FederationSettings {
  return {
    federation: cfg.federation,
    rounds: cfg.rounds,
    model: { kind: cfg.model.kind, raw: cfg.model.raw, seed: cfg.seed },
    strategy,
    schema: cfg.schema,
    sites: cfg.sites,
    quorum: cfg.quorum,
    minCellCount: cfg.minCellCount,
    minCategoryCount: cfg.minCategoryCount,
    ...(cfg.dp ? { dp: cfg.dp } : {}),
    localBaseline: cfg.localBaseline,
    identity: cfg.identity,
    limits: cfg.limits,
    bounds: cfg.bounds,
    refusalLogPerMinute: cfg.refusalLogPerMinute,
    spool: 'file',
    store,
    ...(cfg.secureAggregation ? { secureAggregation: cfg.secureAggregation } : {}),
  };
}

/** Said at every start: what this configuration costs, where an operator would only find out after the run. */
export function startWarnings(cfg: CoordinatorConfig, log: Logger): void {
  // Without it the operator's host holds every hospital's update and statistics.
  if (!cfg.secureAggregation)
    log.warn("secure aggregation is off: this coordinator reads each site's model update and statistics", { remedy: 'secureAggregation.enabled: true in coordinator.yaml (3 or more sites) keeps them to sums over the sites (docs/secagg.md)' });
  // With no linger the finished state is never scraped (an outside try).
  if (cfg.listen.httpLingerSeconds < ADVISED_LINGER_SECONDS)
    log.warn(`the dashboard, /api/status and /metrics go away ${cfg.listen.httpLingerSeconds}s after the run ends: a watcher or Prometheus may not see how it ended (FedcausalCoordinatorDown fires after a normal end)`, {
      setting: 'listen.httpLingerSeconds',
      remedy: `listen.httpLingerSeconds: ${ADVISED_LINGER_SECONDS} or more in coordinator.yaml (provision writes ${PROVISIONED_LINGER_SECONDS})`,
    });
  // ε is only reported as it is spent: a run set for little protection was said nowhere (a data protection officer's review).
  const large = cfg.dp && largeEpsilonWarning(cfg.dp, cfg.rounds, DP_BUDGET_NAMES);
  if (large) log.warn(large.message, { setting: 'privacy.dp', remedy: large.remedy });
}

/** Writes the run report into a new folder of `runDir`, says how the run ended, and ends it (complete or incomplete), telling every site. */
async function reportAndEnd(
  loop: RoundLoop,
  outcome: FederationOutcome,
  cfg: Pick<CoordinatorConfig, 'runDir' | 'federation' | 'schema'>,
  buildResults: (o: FederationOutcome) => unknown,
  siteNames: string[],
  log: Logger,
  /** Training sites left out of every fit round: named in a complete run's end reason. */
  leftOut: readonly string[] = [],
): Promise<CoordinatorRun['report']> {
  const dir = join(cfg.runDir, `run-${new Date().toISOString().replace(/[:.]/g, '-')}`);
  const report = writeRunReport(dir, buildResults(outcome), outcome, { federation: cfg.federation, schema: cfg.schema });
  log.info('run report written', { ...report, modelSha256: outcome.modelSha256 });
  // The first few, and how many: every one is in results.json (a run with 92 refused rounds logged a 22 KB line).
  if (outcome.problems.length) log.error('federation ended incomplete', { problems: outcome.problems.slice(0, END_ITEMS_LISTED), count: outcome.problems.length, results: report.results });
  // The results' warnings are of every kind (a site missing, a site unlike the rest, a debiasing note): say which, not one cause for all.
  if (outcome.warnings.length) log.warn(outcome.problems.length ? 'the results carry warnings' : 'federation complete, with warnings', { warnings: outcome.warnings });
  // A complete run without some sites says so in its state's reason, which status and watch show ("complete" alone read as every hospital in it: a hospital IT try).
  const without = leftOut;
  const ended = outcome.problems.length
    ? `federation ended incomplete: ${listed(outcome.problems, `the problems of ${report.results}`)}`
    : `federation complete${without.length ? `, without ${without.join(', ')} (left out of training; the results' warnings say why)` : ''}`;
  await loop.end(
    ended,
    outcome.problems.length ? 'incomplete' : 'complete',
    // Marks the state file finished: a restart then says so instead of running again.
    report.results,
    // Each site reads what is about itself (a site left out of training learns it here), and only a count of the rest.
    (site) => endMessageFor(site, outcome, siteNames),
  );
  return report;
}

/**
 * What a saved run must agree with to be resumed: everything that shapes the model. The
 * number of rounds, quorum, timeouts and ports may change between a stop and a restart; the
 * order coordinator.yaml or schema.json writes keys and set members in is no change.
 */
export function configFingerprint(cfg: CoordinatorConfig): string {
  return sha256(canonicalJson(canonicalShape(fingerprintShape(cfg))));
}

/**
 * Each part of the fingerprint hashed on its own, so a refused restart can name what changed,
 * and each model setting too (`model.hiddenDim`: "model changed" left the operator to find which).
 */
export function configParts(cfg: CoordinatorConfig): Record<string, string> {
  return partsOf(cfg, (v) => sha256(String(canonicalJson(canonicalShape(v)))));
}

/** The configuration as builds before the canonical form fingerprinted it (keys in written order), to resume a state file one of them wrote. */
export function legacyConfigIdentity(cfg: CoordinatorConfig): ConfigIdentity {
  // The compiled schema holds Sets and Maps (categorical, missing codes, ranges...), which JSON would write as {}.
  const plain = (_: string, v: unknown) => (v instanceof Set ? [...v] : v instanceof Map ? [...v] : v);
  return { fingerprint: sha256(JSON.stringify(fingerprintShape(cfg), plain)), parts: partsOf(cfg, (v) => sha256(String(JSON.stringify(v, plain)))) };
}

function partsOf(cfg: CoordinatorConfig, hash: (v: unknown) => string): Record<string, string> {
  const settings = Object.entries(cfg.model.raw).map(([k, v]) => [`model.${k}`, hash(v)] as const);
  return Object.fromEntries([...Object.entries(fingerprintShape(cfg)).map(([k, v]) => [k, hash(v)] as const), ['model.kind', hash(cfg.model.kind)], ...settings]);
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

/** A set as its members sorted (it has no order), a map as an object (canonicalJson sorts its keys); lists keep their order (a category list's order may be the encoding's). */
function canonicalShape(v: unknown): unknown {
  if (v instanceof Set) return [...v].map(canonicalShape).sort((a, b) => (canonicalJson(a) < canonicalJson(b) ? -1 : 1));
  if (v instanceof Map) return Object.fromEntries([...v].map(([k, x]) => [String(k), canonicalShape(x)]));
  if (Array.isArray(v)) return v.map(canonicalShape);
  if (typeof v === 'object' && v !== null && !ArrayBuffer.isView(v)) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, canonicalShape(x)]));
  return v;
}

function fingerprintShape(cfg: CoordinatorConfig): Record<string, unknown> {
  const sites = cfg.sites.map((s) => ({ name: s.name, key: Buffer.from(s.signingPublicKey).toString('hex') }));
  // The budget bounds the run, not its model: a restart may set or change it (each start checks every round against it).
  const { maxEpsilon: _budget, ...dp } = cfg.dp ?? {};
  return { federation: cfg.federation, seed: cfg.seed, model: cfg.model, strategy: cfg.strategy, schema: cfg.schema, sites, minCellCount: cfg.minCellCount, localBaseline: cfg.localBaseline, ...(cfg.dp ? { dp } : {}), secureAggregation: cfg.secureAggregation };
}

/**
 * prepareOutputDir, with what to do on a read-only file system: in the container image the kit
 * is mounted read-only and left as provisioned runDir and stateDir point into it.
 */
function writableDir(dir: string, what: string, mode?: number): void {
  try {
    prepareOutputDir(dir, what, mode);
  } catch (e) {
    if (!(e instanceof InputError) || (e.cause as NodeJS.ErrnoException | undefined)?.code !== 'EROFS') throw e;
    throw new InputError(
      `${e.message}: a read-only file system. A disk that went read-only on errors (see dmesg) needs repair (fsck) before a start; ` +
        'in the container image, set runDir and stateDir under /var/lib/fedcausal, the writable volume (docs/deploy-coordinator.md, "Container")',
    );
  }
}

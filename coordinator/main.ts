import { createHash } from 'node:crypto';
import { join } from 'node:path';
import type { Logger } from '../shared/logger.ts';
import { backendFromEnv, loadBackend } from '../shared/model/backend.ts';
import { loadCoordinatorConfig, type CoordinatorConfig } from './config.ts';
import { createFederation } from './federation.ts';
import { startGrpcServer } from './grpc-server.ts';
import { MetricsRegistry } from './http/metrics.ts';
import { startHttpServer } from './http/server.ts';
import type { FederationStatus } from './http/status.ts';
import type { FederationOutcome } from './round-loop.ts';
import { writeRunReport } from './run-report.ts';
import { FileSpool } from './spool.ts';
import { CoordinatorStore } from './state/store.ts';
import { dashboardStatus } from './dashboard-status.ts';
import { EventLog, tapEvents } from './events.ts';
import { lingerHttp } from './http/linger.ts';
import { createStrategy } from './strategy/registry.ts';

export interface CoordinatorRun {
  outcome: FederationOutcome;
  report: { results: string; plot: string; model: string };
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
): Promise<CoordinatorRun> {
  // The dashboard's event log is fed from these log lines (joins, drops, refusals...).
  const events = new EventLog();
  log = tapEvents(log, events);
  const cfg = loadCoordinatorConfig(configPath);
  await loadBackend(backendFromEnv(process.env), log);
  const metrics = new MetricsRegistry();
  const strategy = createStrategy(cfg.strategy.name, cfg.strategy.options);
  // Opened before anything listens: a state file that cannot be used stops the start-up here.
  const store = CoordinatorStore.open(join(cfg.stateDir, 'coordinator.sqlite'), cfg.federation, configFingerprint(cfg));
  FileSpool.useDir(join(cfg.stateDir, 'spool'));
  const finished = store.finished();
  if (finished) {
    store.close();
    throw new Error(`federation "${cfg.federation}" already finished at ${finished.at} (results: ${finished.results}); move ${store.path} away to run it again`);
  }
  const fed = createFederation(
    {
      federation: cfg.federation,
      rounds: cfg.rounds,
      model: { kind: cfg.model.kind, raw: cfg.model.raw, seed: cfg.seed },
      strategy,
      schema: cfg.schema,
      sites: cfg.sites,
      quorum: cfg.quorum,
      minCellCount: cfg.minCellCount,
      localBaseline: cfg.localBaseline,
      identity: cfg.identity,
      limits: cfg.limits,
      spool: 'file',
      store,
    },
    log,
    (e) => {
      if (e.type === 'state') metrics.set('round', 'Current federated round', e.round);
      else {
        metrics.inc('rounds_completed_total', 'Rounds committed', { accepted: String(e.record.accepted) });
        metrics.set('round_duration_seconds', 'Wall time of the last round', e.record.durationMs / 1000);
        metrics.set('round_participants', 'Sites whose update was aggregated in the last round', e.record.participants);
        for (const [k, v] of Object.entries(e.record.metrics))
          if (Number.isFinite(v)) metrics.set('round_metric', 'Federation-level metric of the last round', { metric: k }, v);
        for (const f of e.record.failed) metrics.inc('site_failures_total', 'Sites that failed a round', { site: f.site });
        const h = e.record.health;
        if (h) {
          // The debiasing health of the last round (METHOD.md: watch for the collapse in training).
          for (const [feature, v] of Object.entries(h.weightedAssociation))
            if (Number.isFinite(v)) metrics.set('debias_weighted_association', 'Weighted AUROC of a flagged reading against the label in the training rows (0.5 balanced, below reversed)', { feature }, v);
          for (const [feature, v] of Object.entries(h.reliance))
            if (Number.isFinite(v)) metrics.set('debias_reliance', 'Within-class correlation of the model score with a flagged reading (0 = unused, below 0 = reversed)', { feature }, v);
          if (Number.isFinite(h.conflictingShare)) metrics.set('debias_conflicting_share', 'Share of training weight on up-weighted (bias-conflicting) rows', h.conflictingShare);
          if (Number.isFinite(h.effectiveSampleSize)) metrics.set('debias_effective_sample_size', 'Effective sample size of the training weights, as a share of the rows', h.effectiveSampleSize);
          metrics.set('debias_prior_drift', 'Total variation distance of the pattern prior from the last round', h.priorDrift);
          metrics.set('debias_temper', 'Tempering factor of the debiasing weights (1 = full)', h.temper);
          if (h.tempered) metrics.inc('debias_tempered_total', 'Rounds after which the debiasing weights were tempered');
        }
        log.info('round committed', { round: e.record.round, participants: e.record.participants, failures: e.record.failures, ...e.record.metrics });
      }
    },
    (reason, site) => metrics.inc('rejected_messages_total', 'Messages refused by the coordinator', { reason, site: site ?? 'unknown' }),
  );
  const status = (): FederationStatus => ({
    federation: cfg.federation,
    round: fed.loop.round,
    rounds: cfg.rounds,
    state: fed.loop.state,
    strategy: strategy.name,
    model: cfg.model.kind,
    sites: fed.directory.states().map((s) => ({
      name: s.name,
      online: s.online,
      lastSeen: s.lastSeen ? new Date(s.lastSeen).toISOString() : null,
      roundsCompleted: s.roundsCompleted,
      ...(s.lastError ? { lastError: s.lastError } : {}),
      ...(fed.loop.readiness?.sites[s.name] ? { readiness: fed.loop.readiness.sites[s.name] } : {}),
    })),
    history: fed.loop.history.map((h) => ({ round: h.round, participants: h.participants, failures: h.failures, metrics: h.metrics, durationMs: h.durationMs })),
    ...(fed.loop.prior ? { prior: { version: fed.loop.prior.version, patterns: fed.loop.prior.patterns } } : {}),
    ...(fed.loop.decisionReport ? { debiasing: fed.loop.decisionReport } : {}),
    ...dashboardStatus({ current: fed.loop.current, history: fed.loop.history, directory: fed.directory, events, runDir: cfg.runDir, summary: fed.loop.readiness?.summary }),
  });
  const grpcServer = await startGrpcServer({ endpoint: fed.service, host: cfg.listen.host, port: cfg.listen.grpcPort, maxChunkSize: cfg.limits.maxChunkSize, log });
  // A port in use is a start-up error: nothing stays half-started (gRPC serving without HTTP).
  const http = await startHttpServer({ host: cfg.listen.host, port: cfg.listen.httpPort, status, summary: () => fed.loop.readiness?.summary, metrics, log }).catch(async (e: Error) => {
    await grpcServer.close();
    throw e;
  });
  log.info('coordinator ready', { federation: cfg.federation, grpc: `${cfg.listen.host}:${grpcServer.port}`, http: `http://${cfg.listen.host}:${http.port}/`, sites: cfg.sites.length });
  const onAbort = () => fed.loop.stop('coordinator shutting down');
  signal?.addEventListener('abort', onAbort);
  try {
    const outcome = await fed.loop.run();
    const dir = join(cfg.runDir, `run-${new Date().toISOString().replace(/[:.]/g, '-')}`);
    const report = writeRunReport(dir, buildResults(outcome), outcome);
    store.finish(report.results);
    log.info('run report written', { ...report, modelSha256: outcome.modelSha256 });
    if (outcome.problems.length) log.error('federation ended incomplete', { problems: outcome.problems });
    if (outcome.warnings.length) log.warn('federation complete without every site', { warnings: outcome.warnings });
    await fed.loop.end(
      outcome.problems.length ? `federation ended incomplete: ${outcome.problems.join('; ')}` : 'federation complete',
      outcome.problems.length ? 'incomplete' : 'complete',
    );
    return { outcome, report };
  } catch (e) {
    if (signal?.aborted) {
      // A requested stop (SIGTERM, SIGINT) is a pause, not an end: the committed rounds are in
      // the state file and the sites keep reconnecting until the coordinator is back.
      fed.loop.state = 'stopped';
      log.info('coordinator stopped on request; a restart resumes from the last committed round', { round: fed.loop.history.at(-1)?.round ?? 0, state: store.path });
    } else {
      fed.loop.state = 'failed';
      await fed.loop.end(`federation failed: ${(e as Error).message}`, 'failed').catch(() => {});
    }
    throw e;
  } finally {
    signal?.removeEventListener('abort', onAbort);
    // Give sites a moment to read the 'end' message before the sockets close.
    await new Promise((r) => setTimeout(r, 300));
    await grpcServer.close();
    // The operator's dashboard outlives the run for a while: the finished status, not a dead page.
    await lingerHttp(cfg.listen.httpLingerSeconds, fed.loop.state, signal, log);
    await http.close();
    store.close();
    FileSpool.cleanup();
  }
}

/**
 * What a saved run must agree with to be resumed: everything that shapes the model. The
 * number of rounds, quorum, timeouts and ports may change between a stop and a restart.
 */
export function configFingerprint(cfg: CoordinatorConfig): string {
  const sites = cfg.sites.map((s) => ({ name: s.name, key: Buffer.from(s.signingPublicKey).toString('hex') }));
  const shape = { federation: cfg.federation, seed: cfg.seed, model: cfg.model, strategy: cfg.strategy, schema: cfg.schema, sites, minCellCount: cfg.minCellCount, localBaseline: cfg.localBaseline };
  // The compiled schema holds Sets and Maps (categorical, missing codes, ranges...), which JSON would write as {}.
  const plain = (_: string, v: unknown) => (v instanceof Set ? [...v] : v instanceof Map ? [...v] : v);
  return createHash('sha256').update(JSON.stringify(shape, plain)).digest('hex');
}

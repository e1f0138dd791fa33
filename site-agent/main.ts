import { randomUUID } from 'node:crypto';
import { dirname, join } from 'node:path';
import type { Logger } from '../shared/logger.ts';
import { loadSiteTable } from '../shared/data/table.ts';
import { fileNotes } from '../shared/data/file-notes.ts';
import { SiteAgent } from './agent.ts';
import { loadSiteConfig, type SiteConfig } from './config.ts';
import { grpcSiteTransport } from './grpc-client.ts';
import { loadSiteTls, SITE_TLS } from '../shared/pki/kit-tls.ts';
import type { SiteTransport } from '../shared/transport/types.ts';
import type { KitIdentity } from './kit-refusal.ts';
import { remind, UnreachableNotice } from './unreachable-notice.ts';
import { workerRunner } from './worker-runner.ts';
import { prepareLocalData } from './local-data.ts';
import { ConnectionRetry } from './connection-retry.ts';

const MAX_CHUNK = 4 * 1024 * 1024;



/**
 * `fedcausal site start`: validates the hospital's data before anything touches
 * the network, then joins (retrying while the coordinator is not up yet) and
 * answers tasks until the federation ends.
 */
export async function startSite(configPath: string, baseLog: Logger, signal?: AbortSignal): Promise<string> {
  const cfg = loadSiteConfig(configPath);
  // Every line names the site: several hospitals' logs merged (compose, a shared journal) stay apart.
  const log = baseLog.child({ site: cfg.site });
  // A kit without its certificate is refused here: never join in plaintext.
  const tls = loadSiteTls(configPath);
  const table = loadSiteTable(cfg.schema, cfg.data);
  const data = prepareLocalData(table, {
    testFraction: cfg.testFraction,
    seed: cfg.seed,
    // The refusal names `site.yaml: minTrainingRows`, word for word what check-data says.
    minTrainingRows: cfg.minTrainingRows,
  });
  log.info('data loaded', { rows: table.values.length, train: data.train.values.length, test: data.test.values.length });
  // check-data's words (a column of one value, an undeclared missing-value code); the one-class warning is the agent's.
  for (const note of fileNotes(`site "${cfg.site}" (${cfg.data})`, table, cfg.schema.categorical)) log.warn(note.text);
  // One per process: this process's own reconnects may replace its dead stream at once.
  const session = randomUUID();
  // One agent for every connection: its model carries across reconnections (see SiteAgent.run).
  const agent = new SiteAgent({
    site: cfg.site,
    federation: cfg.federation,
    schema: cfg.schema,
    data,
    identity: cfg.identity,
    coordinator: cfg.coordinator,
    seed: cfg.seed,
    log,
    signal,
    session,
    // The model in a worker thread: this thread holds the connection and must answer keepalive.
    runner: workerRunner,
  });
  // Says every UNREACHABLE_NOTICE_INTERVAL_MS that the coordinator is still away, even while an attempt hangs.
  const notice = new UnreachableNotice(cfg.coordinatorAddress, cfg.connectTimeoutSeconds);
  notice.begin(Date.now());
  const stopReminding = remind(notice, log);
  const retry = new ConnectionRetry(cfg, notice, () => kitIdentity(configPath, cfg, tls.certPem), log, signal);
  try {
    for (;;) {
      // A stop that came while waiting to retry: do not join again.
      if (signal?.aborted) return 'stopped on request';
      retry.attempt++;
      const transport = onWelcome(grpcSiteTransport(cfg.coordinatorAddress, MAX_CHUNK, tls), () => notice.reached());
      const onAbort = () => transport.close();
      signal?.addEventListener('abort', onAbort);
      try {
        return await agent.run(transport);
      } catch (e) {
        if (signal?.aborted) return 'stopped on request';
        await retry.afterFailure(e, agent.joined);
      } finally {
        signal?.removeEventListener('abort', onAbort);
        transport.close();
      }
    }
  } finally {
    stopReminding();
    // Whatever ends the agent (the federation's end, a stop, giving up) releases its model.
    agent.close();
  }
}


/** The transport, calling `welcomed` when the coordinator accepts the join. */
function onWelcome(transport: SiteTransport, welcomed: () => void): SiteTransport {
  return {
    ...transport,
    subscribe: async (joinMsg) => {
      const joined = await transport.subscribe(joinMsg);
      welcomed();
      return joined;
    },
  };
}

/** The kit's files a refusal is judged on (kit-refusal.ts). */
function kitIdentity(configPath: string, cfg: SiteConfig, certPem: string | Buffer): KitIdentity {
  return {
    site: cfg.site,
    certFile: join(dirname(configPath), SITE_TLS.cert),
    certPem,
    identityFile: cfg.identityFile,
    signingPublicKey: cfg.identity.signing.publicKey,
    enrolled: cfg.enrolled,
  };
}

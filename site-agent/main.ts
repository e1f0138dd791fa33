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
import { applyProxyRoute, proxyRoute, routeText } from './proxy-route.ts';
import { GrpcLogWatch } from './grpc-log.ts';
import { prepareOutputDir } from '../shared/output-path.ts';
import { fileNamePart, saveModelFile } from '../shared/model/save.ts';

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
  const modelDir = modelFolder(cfg, log);
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
    // The hospital's floor: a task below it is refused before the rows are touched (exit 2).
    privacy: cfg.privacy,
    // The site's own privacy budget is spent across restarts: kept beside the saved model (privacy-ledger.ts).
    ...(modelDir && cfg.privacy.maxEpsilon !== undefined ? { ledgerFile: join(modelDir, `privacy-ledger-${cfg.federation}.json`) } : {}),
    // The model in a worker thread: this thread holds the connection and must answer keepalive.
    runner: workerRunner,
  });
  const { channel, grpcLog, shown } = proxySetup(cfg, log);
  // Says every UNREACHABLE_NOTICE_INTERVAL_MS that the coordinator is still away, even while an attempt hangs.
  const notice = new UnreachableNotice(shown.coordinatorAddress, cfg.connectTimeoutSeconds);
  notice.begin(Date.now());
  const stopReminding = remind(notice, log);
  const retry = new ConnectionRetry(shown, notice, () => kitIdentity(configPath, cfg, tls.certPem), log, signal);
  let ended: string;
  try {
    for (;;) {
      // A stop that came while waiting to retry: do not join again.
      if (signal?.aborted) return 'stopped on request';
      retry.attempt++;
      const transport = onWelcome(grpcSiteTransport(cfg.coordinatorAddress, MAX_CHUNK, tls, { channel, onProgress: ({ text, ...figures }) => log.info(text, figures) }), () => notice.reached());
      const onAbort = () => transport.close();
      signal?.addEventListener('abort', onAbort);
      try {
        ended = await agent.run(transport);
        break;
      } catch (e) {
        if (signal?.aborted) return 'stopped on request';
        // What the proxy said, first: "No connection established" alone read the same for a dead proxy, a refusing one and a coordinator that is down.
        const proxy = grpcLog.takeProxyFailure();
        if (proxy && e instanceof Error) e.message = `${proxy}; ${e.message}`;
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
  // Outside the retry loop: a disk that cannot take the model must not make the site join again.
  return `${ended}${savedModelLine(agent, cfg, modelDir, log)}`;
}


/**
 * The hospital's proxy settings, said and followed as meant (proxy-route.ts): the channel options,
 * gRPC's words about the proxy (grpc-log.ts), and the config as messages name it (the route with
 * the address: a proxy that refuses CONNECT to the port reads like an unreachable coordinator).
 */
function proxySetup(cfg: SiteConfig, log: Logger): { channel: Record<string, number>; grpcLog: GrpcLogWatch; shown: SiteConfig } {
  const route = proxyRoute(cfg.coordinatorAddress, process.env);
  for (const note of route.notes) log.warn(note);
  if (route.proxy) log.info('reaching the coordinator through a proxy', { address: cfg.coordinatorAddress, proxy: route.proxy.url, variable: route.proxy.variable });
  if (route.bypass) log.info('reaching the coordinator directly, past the proxy', { address: cfg.coordinatorAddress, noProxyEntry: route.bypass.entry, variable: route.bypass.variable });
  const grpcLog = new GrpcLogWatch(log);
  if (route.proxy) grpcLog.install();
  return { channel: applyProxyRoute(route, process.env), grpcLog, shown: { ...cfg, coordinatorAddress: `${cfg.coordinatorAddress}${routeText(route)}` } };
}

const NO_MODEL_DIR = "the default folder beside site.yaml cannot be written; set site.yaml's modelDir to a writable folder to keep the model (docs/deploy-site.md)";

/**
 * Where the model will be saved, checked before the federation, not found unwritable at its
 * end: a modelDir site.yaml names must be writable (exit 2 otherwise); the default beside a
 * read-only kit (a hardened unit, a container) is warned of, and the site runs on.
 */
function modelFolder(cfg: SiteConfig, log: Logger): string | undefined {
  const { path, given } = cfg.modelDir;
  if (given) return prepareOutputDir(path, 'site.yaml: modelDir', 0o700);
  try {
    return prepareOutputDir(path, 'modelDir', 0o700);
  } catch (e) {
    log.warn(`the federation's model will not be saved at this site: ${(e as Error).message}; ${NO_MODEL_DIR}`);
    return undefined;
  }
}

/**
 * Saves the federation's final model in modelDir (a name of its own per run), and says where
 * and how to score with it. A site that took no part in the final evaluation has none to save.
 */
function savedModelLine(agent: SiteAgent, cfg: SiteConfig, modelDir: string | undefined, log: Logger): string {
  const model = agent.trainedModel();
  if (!model) {
    // An end heard with no task answered: a process restarted after its final evaluation, or one
    // started for the next run while the last run's coordinator lingers (an outside try: it exited
    // 0, so its supervisor never started it for the next run, and nothing said which run it met).
    if (agent.tasksAnswered === 0) {
      const why = `this site process joined federation "${cfg.federation}" after its run had ended and answered no task: a process restarted after its final evaluation took part before it; one meant for the next run met the last run's coordinator, which answers for listen.httpLingerSeconds after its end: start this site again once the next run's coordinator is up`;
      log.warn(why);
      return `; ${why}`;
    }
    // A site that missed the final evaluation holds no final model.
    log.warn("no model saved: this site process took no part in the federation's final evaluation (it missed it, or was restarted since); the coordinator's run folder holds the model as model.json");
    return '';
  }
  if (modelDir === undefined) {
    log.warn(`the federation's model was not saved at this site: ${NO_MODEL_DIR}`, { modelDir: cfg.modelDir.path });
    return `; the model was not saved (${NO_MODEL_DIR})`;
  }
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  // This process holds the site's copy alone; the coordinator's run folder has the same weights.
  const cal = model.calibration ? `; this site's recalibration, which that copy lacks, was a = ${model.calibration.a}, b = ${model.calibration.b}` : '';
  const remedy = `free space on (or repair) that disk; this site's copy is lost, but the coordinator's run folder holds the same model as model.json (ask its operator)${cal}`;
  let file: string;
  try {
    file = saveModelFile(join(modelDir, `${fileNamePart(cfg.federation)}-${fileNamePart(cfg.site)}-${stamp}.model.json`), model, remedy);
  } catch (e) {
    // The federation ended well: exit 0, said loudly. A failure exit would have the supervisor
    // restart the site into a finished federation, and again, for nothing.
    log.error("the federation's model could not be saved at this site", { error: (e as Error).message });
    return `; the model was NOT saved (${(e as Error).message})`;
  }
  log.info('model saved', { file, trainingRounds: model.round - 1, recalibrated: model.calibration !== undefined });
  return `; model saved to ${file} (score rows with: fedcausal predict --model ${file} --data FILE.csv)`;
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

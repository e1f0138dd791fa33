import { randomUUID } from 'node:crypto';
import { InputError } from '../shared/errors.ts';
import { dirname, join } from 'node:path';
import type { Logger } from '../shared/logger.ts';
import { loadSiteTable } from '../shared/data/table.ts';
import { fileNotes } from '../shared/data/file-notes.ts';
import { SiteAgent } from './agent.ts';
import { loadSiteConfig, type SiteConfig } from './config.ts';
import { KEEPALIVE_TIME_MS, KEEPALIVE_TIMEOUT_MS, refusalReason } from '../shared/transport/grpc-proto.ts';
import { failedAtChallenge, grpcSiteTransport } from './grpc-client.ts';
import { loadSiteTls, SITE_TLS } from '../shared/pki/kit-tls.ts';
import type { SiteTransport } from '../shared/transport/types.ts';
import { kitRefusal, type KitIdentity } from './kit-refusal.ts';
import { CHECK_ADDRESS, CHECK_TLS, remind, UnreachableNotice } from './unreachable-notice.ts';
import { workerRunner } from './worker-runner.ts';
import { prepareLocalData } from './local-data.ts';

const MAX_CHUNK = 4 * 1024 * 1024;
/** Reconnect backoff: 200 ms doubling to 10 s, jittered to 50-100% so restarted sites do not all knock at once. */
const BACKOFF_BASE_MS = 200;
const BACKOFF_MAX_MS = 10_000;

/**
 * How long a join refused because the site is already connected keeps being retried:
 * the connection the coordinator holds may be this site's own, dead without a word (a
 * crashed host, a broken network), and keepalive closes such a stream within one ping
 * interval plus its timeout. Refused for longer than that, the holder is alive: another
 * process runs this site's kit.
 */
export const ALREADY_CONNECTED_GRACE_MS = KEEPALIVE_TIME_MS + KEEPALIVE_TIMEOUT_MS + 5_000;

export function reconnectDelayMs(attempt: number, random: () => number = Math.random): number {
  const cap = Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** Math.min(attempt - 1, 16));
  return cap * (0.5 + 0.5 * random());
}

/**
 * What grpc-js reports when the TLS handshake failed (either side refused the other's certificate).
 * Under load the first report may be only the dropped socket (ECONNRESET, closed before HTTP/2):
 * the port answered and then hung up, which a coordinator that is down never does.
 */
const TLS_FAILURE = /certificate|ssl|tls|alert|handshake|altnames|Failed to connect \(|ECONNRESET|Connection closed before|socket hang up/i;
const TLS_HINT = `the coordinator refused this site's certificate, or its own could not be verified (TLS handshake failed): ${CHECK_TLS}`;
/** A socket the coordinator dropped before TLS said anything: a refused certificate, or a coordinator at its connection limit (an outside attack's flood read as a certificate fault). */
const DROPPED = /ECONNRESET|Connection closed before|socket hang up|No connection established/i;
const DROPPED_HINT =
  `the coordinator closed the connection during the TLS handshake: it refused this site's certificate, or it was at its connection limit ` +
  `(its log says which: "TLS handshake with ... failed" or a refusal "at the connection limit"): ${CHECK_TLS}`;

/**
 * This site's own check of the coordinator's certificate failed (Node's words for OpenSSL's
 * verdict): the coordinator did not refuse anything. Every grpc-js failure reads "No
 * connection established", so these are tried before DROPPED.
 */
const SITE_REFUSES: [RegExp, string][] = [
  [
    /self[- ]signed certificate|unable to get (local )?issuer certificate|unable to verify the first certificate|certificate signature failure/i,
    "this site does not trust the coordinator's certificate (this site's own check of it failed): this kit's tls/ca.pem is not the CA " +
      "that issued it. This site's kit comes from another provisioning run than the coordinator's, or the coordinator was re-provisioned since. " +
      'Compare `openssl x509 -noout -fingerprint -sha256 -in tls/ca.pem` in this kit and in the coordinator\'s: if they differ, ' +
      "ask the federation operator for this site's kit from the provisioning the coordinator runs (or for the coordinator to get its own kit back)",
  ],
  [
    /certificate has expired|certificate is not yet valid/i,
    "this site refuses the coordinator's certificate: it is not valid by this host's clock (expired, or not yet valid). " +
      "Check this host's clock (timedatectl); if it is right, the coordinator's certificate has expired: tell the federation operator",
  ],
  [
    /altnames|ERR_TLS_CERT_ALTNAME_INVALID/i,
    "this site refuses the coordinator's certificate: it does not name the host this site dials (coordinator.address in site.yaml). " +
      'Use the host the federation was provisioned with (the manifest\'s coordinator gRPC address), or ask the operator for a certificate naming this one',
  ],
];
export const tlsHint = (message: string) => SITE_REFUSES.find(([re]) => re.test(message))?.[1] ?? (DROPPED.test(message) ? DROPPED_HINT : TLS_HINT);

/** grpc-js ends its messages with an empty "Resolution note: ": noise in a line meant for a person. */
const grpcText = (message: string) => message.replace(/\.?\s*Resolution note:\s*$/, '');

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
  let deadline = Date.now() + cfg.connectTimeoutSeconds * 1000;
  let attempt = 0;
  // One per process: this process's own reconnects may replace its dead stream at once.
  const session = randomUUID();
  let refusedSince: number | undefined;
  let tlsFailures = 0;
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
  try {
    for (;;) {
      // A stop that came while waiting to retry: do not join again.
      if (signal?.aborted) return 'stopped on request';
      attempt++;
      const transport = onWelcome(grpcSiteTransport(cfg.coordinatorAddress, MAX_CHUNK, tls), () => notice.reached());
      const onAbort = () => transport.close();
      signal?.addEventListener('abort', onAbort);
      try {
        return await agent.run(transport);
      } catch (e) {
        if (signal?.aborted) return 'stopped on request';
        const err = e as Error & { code?: number };
        if (refusalReason(e) === 'already-connected') {
          // The coordinator answered: no "still cannot reach" notice while this is sorted out.
          notice.reached();
          const now = Date.now();
          refusedSince ??= now;
          // Exit 2, as bad input: a supervisor restarting this copy would knock for as long as the other runs.
          if (now - refusedSince > ALREADY_CONNECTED_GRACE_MS)
            throw new InputError(
              `site "${cfg.site}" is already connected to the coordinator from another process (refused for ${Math.round((now - refusedSince) / 1000)} s); ` +
                'this copy exits. Stop the other copy of this site kit first',
            );
          if (refusedSince === now)
            log.warn('the coordinator says this site is already connected; retrying while a dead connection of this site would be dropped', {
              withinSeconds: ALREADY_CONNECTED_GRACE_MS / 1000,
            });
          await new Promise((r) => setTimeout(r, Math.min(3000, reconnectDelayMs(attempt))));
          continue;
        }
        refusedSince = undefined;
        // Another release at the coordinator: a restart meets the same refusal (exit 2, so a supervisor stops).
        if (refusalReason(e) === 'incompatible') throw new InputError(`the coordinator refused this site: ${(err as { details?: string }).details ?? err.message}`, { cause: e });
        // A connection that was up and broke: the window to reconnect starts now, not at start-up.
        if (agent.joined && err.code === 14) {
          deadline = Date.now() + cfg.connectTimeoutSeconds * 1000;
          attempt = 1;
          log.warn('connection to the coordinator lost, reconnecting', { error: err.message, withinSeconds: cfg.connectTimeoutSeconds });
        }
        // A TLS handshake that failed also shows as UNAVAILABLE: say so plainly, it will not cure itself.
        const tlsProblem = err.code === 14 && TLS_FAILURE.test(err.message);
        // The first TLS failure is said at once, whichever attempt it came on; then the notice's warnings.
        if (tlsProblem && tlsFailures++ === 0) log.error(tlsHint(err.message), { address: cfg.coordinatorAddress, error: err.message });
        if (err.code === 14) notice.failed(Date.now(), err.message, tlsProblem ? tlsHint(err.message) : undefined);
        // 14 = UNAVAILABLE: nobody listening yet; retry until the connect timeout.
        if (err.code !== 14 || Date.now() > deadline || signal?.aborted) throw lastError(err, tlsProblem, cfg, kitIdentity(configPath, cfg, tls.certPem));
        if (!tlsProblem && attempt === 1) log.info('coordinator not reachable yet, retrying', { address: cfg.coordinatorAddress, error: err.message });
        await new Promise((r) => setTimeout(r, reconnectDelayMs(attempt)));
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

/** What the site ends with, once it stops retrying. */
function lastError(err: Error & { code?: number }, tlsProblem: boolean, cfg: SiteConfig, kit: KitIdentity): Error {
  // Still TLS after the whole window: exit 1, since the regex also takes a dropped socket, which a restart may cure.
  // A coordinator certificate this site distrusts is not final either: the coordinator's kit may be the stray one,
  // and once its operator puts it right, a site that restarts (exit 1) joins without anyone at the hospital.
  if (tlsProblem) return gaveUp('no TLS handshake with the coordinator', cfg, err, tlsHint(err.message));
  // 16 = UNAUTHENTICATED: this kit's keys were refused, and will be again after a restart (exit 2).
  if (err.code === 16) return kitRefusal(err, kit, failedAtChallenge(err) ? 'challenge' : 'join');
  // Nobody answered for the whole window: the last line repeats what the notices said to check.
  if (err.code === 14) return gaveUp('cannot reach the coordinator', cfg, err, CHECK_ADDRESS);
  return err;
}

/** The site's last words after connectTimeoutSeconds of failed attempts: what failed, then the hint it logged while retrying. */
function gaveUp(what: string, cfg: SiteConfig, err: Error, hint: string): Error {
  const window = `within connectTimeoutSeconds (${cfg.connectTimeoutSeconds} s; last error: ${grpcText(err.message)})`;
  return new Error(`${what} at ${cfg.coordinatorAddress} ${window}: ${hint}`, { cause: err });
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

import { decodeKey, BOX_PUBLIC_KEY_BYTES, SIGNING_PUBLIC_KEY_BYTES, readIdentityFile, type Identity } from '../shared/crypto/keys.ts';
import { FieldReader, readConfigFile } from '../shared/config/load.ts';
import { loadSchema, type Schema } from '../shared/data/schema.ts';
import { InputError } from '../shared/errors.ts';
import { isLoopbackHost } from '../shared/net/loopback.ts';
import { loadManifest, loadRootPublicKey } from '../shared/federation/manifest.ts';
import type { EnrolledSite } from './directory.ts';
import { DEFAULT_MIN_CELL_COUNT } from './priors.ts';
import type { Quorum } from './round-loop.ts';

/** The coordinator's validated settings (coordinator.yaml, as `fedcausal provision` writes it). */
export interface CoordinatorConfig {
  federation: string;
  /** httpLingerSeconds: how long the dashboard and /api/status keep serving the finished run's status before the process exits (0: not at all). */
  listen: { host: string; grpcPort: number; httpPort: number; httpLingerSeconds: number };
  rounds: number;
  seed: number;
  model: { kind: string; raw: Record<string, unknown> };
  strategy: { name: string; options: Record<string, unknown> };
  quorum: Quorum;
  minCellCount: number;
  schema: Schema;
  identity: Identity;
  sites: EnrolledSite[];
  runDir: string;
  /** Where the durable state lives (coordinator.sqlite): a restart resumes from its last committed round. */
  stateDir: string;
  localBaseline: boolean;
  limits: { maxPayloadBytes: number; maxChunkSize: number; maxMessageAgeMs: number };
}


export function loadCoordinatorConfig(path: string): CoordinatorConfig {
  const { raw, baseDir } = readConfigFile(path);
  const f = new FieldReader(path, baseDir);
  f.only(raw, '', ['federation', 'listen', 'rounds', 'seed', 'model', 'strategy', 'quorum', 'priors', 'schema', 'identity', 'manifest', 'root', 'runDir', 'stateDir', 'localBaseline', 'limits', 'allowNonLoopback']);
  const listen = f.obj(raw, 'listen');
  f.only(listen, 'listen', ['host', 'grpcPort', 'httpPort', 'httpLingerSeconds']);
  const host = f.str(listen, 'listen.host', '127.0.0.1');
  if (!isLoopbackHost(host) && raw.allowNonLoopback !== true)
    f.fail('listen.host', `is "${host}": only loopback addresses are allowed unless allowNonLoopback: true`);
  const model = f.obj(raw, 'model');
  const strategy = typeof raw.strategy === 'string' ? { name: raw.strategy } : f.obj(raw, 'strategy', true);
  const quorum = f.obj(raw, 'quorum', true);
  f.only(quorum, 'quorum', ['minSitesToStart', 'minSitesToAccept', 'roundDeadlineSeconds', 'startTimeoutSeconds', 'rejoinGraceSeconds', 'waitForAllSeconds']);
  const priors = f.obj(raw, 'priors', true);
  f.only(priors, 'priors', ['minCellCount']);
  const limits = f.obj(raw, 'limits', true);
  f.only(limits, 'limits', ['maxPayloadMiB', 'chunkKiB', 'maxMessageAgeSeconds']);
  const federation = f.str(raw, 'federation');
  const rootPath = f.path(raw, 'root', 'root.json');
  const root = loadRootPublicKey(rootPath);
  if (root.federation !== federation) f.fail('root', `belongs to federation "${root.federation}", not "${federation}"`);
  const manifest = loadManifest(f.path(raw, 'manifest', 'manifest.json'), root.publicKey);
  const sites = manifest.sites.map((s) => ({
    name: s.name,
    signingPublicKey: decodeKey(s.signingPublicKey, SIGNING_PUBLIC_KEY_BYTES, `manifest site ${s.name} signingPublicKey`),
    boxPublicKey: decodeKey(s.boxPublicKey, BOX_PUBLIC_KEY_BYTES, `manifest site ${s.name} boxPublicKey`),
  }));
  const n = sites.length;
  const minStart = f.num(quorum, 'quorum.minSitesToStart', defaultMinSitesToAccept(n), 1, n, true);
  const { kind, ...modelRaw } = model;
  if (typeof kind !== 'string') f.fail('model.kind', 'is required (debiased, baseline or logreg)');
  const { name: strategyName, ...strategyOptions } = strategy;
  const identity = readIdentityFile(f.path(raw, 'identity', 'identity.json'));
  if (manifest.federation !== federation) throw new InputError(`${path}: manifest is for federation "${manifest.federation}"`);
  return {
    federation,
    listen: {
      host,
      grpcPort: f.num(listen, 'listen.grpcPort', 7443, 0, 65535, true),
      httpPort: f.num(listen, 'listen.httpPort', 8080, 0, 65535, true),
      httpLingerSeconds: f.num(listen, 'listen.httpLingerSeconds', 0, 0, 86400, false),
    },
    rounds: f.num(raw, 'rounds', 20, 1, 100000, true),
    seed: f.num(raw, 'seed', 1, 0, 2 ** 31 - 1, true),
    model: { kind: kind as string, raw: modelRaw },
    strategy: { name: typeof strategyName === 'string' ? strategyName : 'fedavg', options: strategyOptions },
    quorum: {
      minSitesToStart: minStart,
      minSitesToAccept: f.num(quorum, 'quorum.minSitesToAccept', defaultMinSitesToAccept(n), 1, n, true),
      roundDeadlineMs: f.num(quorum, 'quorum.roundDeadlineSeconds', 600, 1, 86400) * 1000,
      rejoinGraceMs: f.num(quorum, 'quorum.rejoinGraceSeconds', 30, 0, 86400) * 1000,
      startTimeoutMs: f.num(quorum, 'quorum.startTimeoutSeconds', 600, 1, 86400) * 1000,
      waitForAllMs: f.num(quorum, 'quorum.waitForAllSeconds', 60, 0, 86400) * 1000,
    },
    minCellCount: f.num(priors, 'priors.minCellCount', DEFAULT_MIN_CELL_COUNT, 1, 1e6, true),
    schema: loadSchema(f.path(raw, 'schema', 'schema.json')),
    identity,
    sites,
    runDir: f.path(raw, 'runDir', 'runs'),
    stateDir: f.path(raw, 'stateDir', 'state'),
    localBaseline: f.bool(raw, 'localBaseline', false),
    limits: {
      maxPayloadBytes: f.num(limits, 'limits.maxPayloadMiB', 2048, 1, 65536) * 1024 * 1024,
      maxChunkSize: f.num(limits, 'limits.chunkKiB', 1024, 16, 3072, true) * 1024,
      maxMessageAgeMs: f.num(limits, 'limits.maxMessageAgeSeconds', 600, 10, 86400) * 1000,
    },
  };
}

/**
 * The default quorum to accept a round: the larger of 2 and half the sites (never more
 * than there are), so one lost site does not waste the run while a round still rests
 * on more than one hospital's update.
 */
export function defaultMinSitesToAccept(sites: number): number {
  return Math.min(sites, Math.max(2, Math.ceil(sites / 2)));
}

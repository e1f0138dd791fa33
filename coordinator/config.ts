import { z } from 'zod';
import { decodeKey, BOX_PUBLIC_KEY_BYTES, SIGNING_PUBLIC_KEY_BYTES, readIdentityFile, type Identity } from '../shared/crypto/keys.ts';
import { bool, int, names, num, port, real, seed, strict, text } from '../shared/config/fields.ts';
import { allFaults, fieldError, parseInput, type InputSource } from '../shared/config/issues.ts';
import { refuseOtherFileKind } from '../shared/config/file-kind.ts';
import { readConfigFile, resolveFrom } from '../shared/config/load.ts';
import { featureList, loadSchema, type Schema } from '../shared/data/schema.ts';
import { DEFAULT_MIN_CATEGORY_COUNT } from '../shared/data/vocabulary.ts';
import type { DpSettings } from '../shared/privacy/dp.ts';
import { overBudget, type BudgetNames } from '../shared/privacy/budget.ts';
import { isLoopbackHost } from '../shared/net/loopback.ts';
import { loadManifest, loadRootPublicKey } from '../shared/federation/manifest.ts';
import { checkModelFeatures, compileModelSpec } from '../shared/model/factory.ts';
import { MAX_META_BYTES } from '../shared/protocol/frame.ts';
import type { EnrolledSite } from './directory.ts';
import { DEFAULT_MIN_CELL_COUNT } from './priors.ts';
import type { Quorum } from './round-loop.ts';
import { DEFAULT_STRATEGY, SENDS_GRADIENTS, strategySpecSchema, type StrategySpec } from './strategy/registry.ts';
import type { StrategyOptions } from './strategy/strategy.ts';
import { compileSecureAggregation, type SecAggConfig } from './secure-config.ts';
import { DEFAULT_MAX_EXAMPLES_PER_SITE, DEFAULT_RESULT_META_KIB, type ResultBounds } from './result-bounds.ts';
import { DEFAULT_UPDATE_NORM_MULTIPLE } from './update-clip.ts';
import { DEFAULT_REFUSAL_LOG_PER_MINUTE } from './refusal-log.ts';
import { DEFAULT_FRAME_TIMEOUT_SECONDS, DEFAULT_MAX_STREAMS_PER_CONNECTION, defaultMaxConnections, type ConnectionLimits } from './connection-limits.ts';

/** The most sites a quorum may name; the manifest's site count bounds it further. */
export const MAX_SITES = 100_000;
export const MAX_ROUNDS = 100_000;
/** Longest round deadline, start timeout and grace (a day). */
export const MAX_WAIT_SECONDS = 86_400;
export const DEFAULT_ROUND_DEADLINE_SECONDS = 600;
/** The coordinator's default ports: gRPC for the sites, HTTP for the dashboard and API. */
export const DEFAULT_GRPC_PORT = 7443;
export const DEFAULT_HTTP_PORT = 8080;
/**
 * Below this linger a finished run is said at start to vanish from monitoring: three scrapes at
 * deploy/prometheus/prometheus.yml's 10 s, so Prometheus reads the finished state before the exit.
 */
export const ADVISED_LINGER_SECONDS = 30;
/** What `provision` writes: the finished state is scraped (FedcausalCoordinatorDown relies on it) and a late site hears the end. */
export const PROVISIONED_LINGER_SECONDS = 60;

/** coordinator.yaml as `fedcausal provision` writes it (docs/configuration.md); `model` is checked by compileModelSpec. */
export const coordinatorFileSchema = strict({
  federation: text(),
  listen: strict({
    host: text().default('127.0.0.1'),
    grpcPort: port().default(DEFAULT_GRPC_PORT),
    httpPort: port().default(DEFAULT_HTTP_PORT),
    /** How long the dashboard and /api/status keep serving a finished run before the process exits (0: not at all). */
    httpLingerSeconds: real(0, MAX_WAIT_SECONDS).default(0),
    /** The HTTP side's own bind address: the dashboard stays on loopback while gRPC serves the sites. */
    httpHost: text().default('127.0.0.1'),
    /** Host header values the HTTP side answers besides its bind address and localhost (coordinator/http/host-check.ts). */
    httpAllowedHosts: names('host names or IP addresses').default([]),
  }).prefault({}),
  rounds: int(1, MAX_ROUNDS).default(20),
  seed: seed().default(1),
  model: z.unknown(),
  strategy: strategySpecSchema.optional(),
  quorum: strict({
    minSitesToStart: int(1, MAX_SITES).optional(),
    minSitesToAccept: int(1, MAX_SITES).optional(),
    roundDeadlineSeconds: real(1, MAX_WAIT_SECONDS).default(DEFAULT_ROUND_DEADLINE_SECONDS),
    startTimeoutSeconds: real(1, MAX_WAIT_SECONDS).default(600),
    rejoinGraceSeconds: real(0, MAX_WAIT_SECONDS).default(30),
    waitForAllSeconds: real(0, MAX_WAIT_SECONDS).default(60),
  }).prefault({}),
  priors: strict({ minCellCount: int(1, 1e6).default(DEFAULT_MIN_CELL_COUNT) }).prefault({}),
  /** What the coordinator publishes about the sites' rows: an undeclared category value below minCategoryCount rows federation-wide is folded into "other". */
  privacy: strict({
    minCategoryCount: int(1, 1e6).default(DEFAULT_MIN_CATEGORY_COUNT),
    /** Differential privacy of the training rounds (shared/privacy/dp.ts). */
    dp: strict({
      enabled: bool().default(false),
      clipNorm: real(1e-6, 1e6).default(1),
      noiseMultiplier: real(0.01, 1e6).default(1),
      // Above 1/100 the guarantee means little (δ should be well below 1/rows).
      delta: num({ min: 0, minOpen: true, max: 0.01 }).default(1e-5),
      /** The most ε (at delta) the run may spend over its rounds: checked at start (shared/privacy/budget.ts). */
      maxEpsilon: num({ min: 0, minOpen: true, max: 1e6 }).optional(),
    }).prefault({}),
  }).prefault({}),
  schema: text().default('schema.json'),
  identity: text().default('identity.json'),
  manifest: text().default('manifest.json'),
  root: text().default('root.json'),
  runDir: text().default('runs'),
  stateDir: text().default('state'),
  localBaseline: bool().default(false),
  limits: strict({
    maxPayloadMiB: real(1, 65536).default(2048),
    chunkKiB: int(16, 3072).default(1024),
    maxMessageAgeSeconds: real(10, MAX_WAIT_SECONDS).default(600),
    // Bounded influence of one site (result-bounds.ts, update-clip.ts; docs/configuration.md).
    maxExamplesPerSite: int(1, 1e12).default(DEFAULT_MAX_EXAMPLES_PER_SITE),
    maxUpdateNorm: real(1e-9, 1e12).optional(),
    updateNormMultiple: real(1, 1e6).default(DEFAULT_UPDATE_NORM_MULTIPLE),
    resultMetaKiB: int(16, MAX_META_BYTES / 1024).default(DEFAULT_RESULT_META_KIB),
    // Resources one peer may hold (connection-limits.ts, refusal-log.ts).
    maxConnections: int(1, 1e6).optional(),
    maxStreamsPerConnection: int(4, 1000).default(DEFAULT_MAX_STREAMS_PER_CONNECTION),
    frameTimeoutSeconds: real(1, MAX_WAIT_SECONDS).default(DEFAULT_FRAME_TIMEOUT_SECONDS),
    refusalLogPerMinute: int(1, 1e6).default(DEFAULT_REFUSAL_LOG_PER_MINUTE),
  }).prefault({}),
  allowNonLoopback: bool().default(false),
  /** Checked in full by compileSecureAggregation (secure-config.ts), which needs the strategy, model and sites. */
  secureAggregation: z.unknown().optional(),
});
export type CoordinatorFile = z.output<typeof coordinatorFileSchema>;

/** The coordinator's validated settings (coordinator.yaml), with its files loaded. */
export interface CoordinatorConfig {
  federation: string;
  listen: CoordinatorFile['listen'];
  rounds: number;
  seed: number;
  model: { kind: string; raw: Record<string, unknown> };
  strategy: StrategySpec;
  quorum: Quorum;
  minCellCount: number;
  /** Undeclared category values seen in fewer rows federation-wide are folded into "other" before the feature space goes out. */
  minCategoryCount: number;
  /** privacy.dp when enabled; undefined when off. */
  dp?: DpSettings;
  schema: Schema;
  identity: Identity;
  sites: EnrolledSite[];
  runDir: string;
  /** Where the durable state lives (coordinator.sqlite): a restart resumes from its last committed round. */
  stateDir: string;
  localBaseline: boolean;
  limits: { maxPayloadBytes: number; maxChunkSize: number; maxMessageAgeMs: number };
  /** Secure aggregation of fit rounds, when enabled (secure-config.ts). */
  secureAggregation?: SecAggConfig;
  /** What one site may claim in a result. */
  bounds: ResultBounds;
  connections: ConnectionLimits;
  refusalLogPerMinute: number;
}

/**
 * Reads and validates coordinator.yaml whole, the model section included (kind, training,
 * debiasing and strategy settings), so a bad setting stops the start, before anything
 * listens or any site joins.
 */
/** Settings that are each valid but cannot go together. */
function refuseCombinations(source: InputSource, strategy: string, dp: boolean, secure: boolean, maxUpdateNorm: number | undefined): void {
  if (dp && SENDS_GRADIENTS.includes(strategy))
    throw fieldError(source, 'privacy.dp.enabled', `cannot be true with strategy ${strategy}: its sites send an un-noised gradient of their rows (the control variate) that DP would not cover`);
  // Clipping to an update norm needs each site's update; a secure round has only the sum (clipBound bounds each weight instead).
  if (secure && maxUpdateNorm !== undefined)
    throw fieldError(source, 'limits.maxUpdateNorm', 'cannot be set with secureAggregation.enabled: the coordinator never sees a site\'s update to clip it (secureAggregation.clipBound bounds each weight at the site)');
}

export function loadCoordinatorConfig(path: string): CoordinatorConfig {
  const { raw, baseDir } = readConfigFile(path);
  refuseOtherFileKind(raw, 'coordinator.yaml', path);
  const source = { file: path };
  const [c, model] = allFaults([
    () => parseInput(coordinatorFileSchema, raw, source),
    () => compileModelSpec(raw.model, { file: path, at: 'model' }),
  ]);
  for (const field of ['host', 'httpHost'] as const) {
    const host = c.listen[field];
    if (!isLoopbackHost(host) && !c.allowNonLoopback)
      throw fieldError(source, `listen.${field}`, `is "${host}": only loopback addresses are allowed unless allowNonLoopback: true`);
  }
  const schemaPath = resolveFrom(baseDir, c.schema);
  const schema = loadSchema(schemaPath);
  // A feature name the schema lacks is refused now, not after the statistics rounds.
  checkModelFeatures(model, featureList(schema), { file: path, at: 'model', schema: schemaPath });
  const rootPath = resolveFrom(baseDir, c.root);
  const root = loadRootPublicKey(rootPath);
  if (root.federation !== c.federation) throw fieldError(source, 'root', `belongs to federation "${root.federation}", not "${c.federation}" (this file's federation field)${root.federation.toLowerCase() === c.federation.toLowerCase() ? ': the names differ only in case, and must match exactly' : ''}`);
  const manifest = loadManifest(resolveFrom(baseDir, c.manifest), root.publicKey);
  const sites = manifest.sites.map((s) => ({
    name: s.name,
    signingPublicKey: decodeKey(s.signingPublicKey, SIGNING_PUBLIC_KEY_BYTES, `manifest site ${s.name} signingPublicKey`),
    boxPublicKey: decodeKey(s.boxPublicKey, BOX_PUBLIC_KEY_BYTES, `manifest site ${s.name} boxPublicKey`),
  }));
  // A quorum is at most every enrolled site: known only once the manifest is read.
  const n = sites.length;
  const quorumSize = (field: 'minSitesToStart' | 'minSitesToAccept') =>
    parseInput(int(1, n).default(defaultMinSitesToAccept(n)), c.quorum[field], { file: path, at: `quorum.${field}` });
  const minSitesToStart = quorumSize('minSitesToStart');
  // Every site holds a connection: fewer than the sites would lock some out for good.
  if (c.limits.maxConnections !== undefined && c.limits.maxConnections < n)
    throw fieldError(source, 'limits.maxConnections', `must be at least the ${n} enrolled sites (got ${c.limits.maxConnections})`);
  const identity = readIdentityFile(resolveFrom(baseDir, c.identity));
  if (manifest.federation !== c.federation) throw fieldError(source, '', `manifest is for federation "${manifest.federation}"`);
  const q = c.quorum;
  const strategyName = c.strategy?.name ?? DEFAULT_STRATEGY;
  const secureAggregation = compileSecureAggregation(c.secureAggregation, { strategy: strategyName, model: model.kind, trainingSites: n, modalities: schema.modalities.length }, source);
  refuseCombinations(source, strategyName, c.privacy.dp.enabled, secureAggregation !== undefined, c.limits.maxUpdateNorm);
  const dp = dpOf(c.privacy.dp, c.rounds, source);
  return {
    federation: c.federation,
    // The federation's own name for this coordinator (the manifest's, which its certificate names)
    // is answered too: a container bound to 0.0.0.0 got 421 for it from its neighbours.
    listen: { ...c.listen, httpAllowedHosts: [...new Set([...c.listen.httpAllowedHosts, manifestHost(manifest.coordinator.httpAddress)].filter((h) => h !== undefined))] },
    rounds: c.rounds,
    seed: c.seed,
    model,
    // The options as written (validated above): their order is part of the state file's fingerprint.
    strategy: { name: strategyName, options: writtenOptions(raw.strategy) },
    quorum: {
      minSitesToStart,
      minSitesToAccept: quorumSize('minSitesToAccept'),
      roundDeadlineMs: q.roundDeadlineSeconds * 1000,
      rejoinGraceMs: q.rejoinGraceSeconds * 1000,
      startTimeoutMs: q.startTimeoutSeconds * 1000,
      waitForAllMs: q.waitForAllSeconds * 1000,
    },
    minCellCount: c.priors.minCellCount,
    minCategoryCount: c.privacy.minCategoryCount,
    ...(dp ? { dp } : {}),
    schema,
    identity,
    sites,
    runDir: resolveFrom(baseDir, c.runDir),
    stateDir: resolveFrom(baseDir, c.stateDir),
    localBaseline: c.localBaseline,
    ...(secureAggregation ? { secureAggregation } : {}),
    ...limitsOf(c.limits, n),
  };
}

/** What the privacy budget's messages call coordinator.yaml's settings. */
export const DP_BUDGET_NAMES: BudgetNames = { budget: 'privacy.dp.maxEpsilon', rounds: 'rounds', noise: 'privacy.dp.noiseMultiplier' };

/**
 * privacy.dp when enabled; a run that would spend more than its maxEpsilon over its rounds is
 * refused here, before anything listens. A budget without enabled: true is refused too: it would
 * read as a bound on a run that has none.
 */
function dpOf(d: CoordinatorFile['privacy']['dp'], rounds: number, source: InputSource): DpSettings | undefined {
  if (!d.enabled) {
    if (d.maxEpsilon !== undefined) throw fieldError(source, 'privacy.dp.maxEpsilon', 'has no effect without privacy.dp.enabled: true (this run would not be differentially private)');
    return undefined;
  }
  const dp = { clipNorm: d.clipNorm, noiseMultiplier: d.noiseMultiplier, delta: d.delta, ...(d.maxEpsilon !== undefined ? { maxEpsilon: d.maxEpsilon } : {}) };
  const over = overBudget(dp, rounds, DP_BUDGET_NAMES);
  if (over) throw fieldError(source, 'privacy.dp.maxEpsilon', over);
  return dp;
}

/** coordinator.yaml `limits` in the units the code uses; `sites` enrolled sites set the default connection limit. */
function limitsOf(l: CoordinatorFile['limits'], sites: number): Pick<CoordinatorConfig, 'limits' | 'bounds' | 'connections' | 'refusalLogPerMinute'> {
  return {
    limits: {
      maxPayloadBytes: l.maxPayloadMiB * 1024 * 1024,
      maxChunkSize: l.chunkKiB * 1024,
      maxMessageAgeMs: l.maxMessageAgeSeconds * 1000,
    },
    bounds: {
      maxExamplesPerSite: l.maxExamplesPerSite,
      ...(l.maxUpdateNorm !== undefined ? { maxUpdateNorm: l.maxUpdateNorm } : {}),
      updateNormMultiple: l.updateNormMultiple,
      resultMetaBytes: l.resultMetaKiB * 1024,
    },
    connections: {
      maxConnections: l.maxConnections ?? defaultMaxConnections(sites),
      maxStreamsPerConnection: l.maxStreamsPerConnection,
      frameTimeoutMs: l.frameTimeoutSeconds * 1000,
    },
    refusalLogPerMinute: l.refusalLogPerMinute,
  };
}

function writtenOptions(section: unknown): StrategyOptions {
  if (typeof section !== 'object' || section === null) return {};
  const { name: _name, ...options } = section as Record<string, unknown>;
  return options;
}

/**
 * The default quorum to accept a round: the larger of 2 and half the sites (never more
 * than there are), so one lost site does not waste the run while a round still rests
 * on more than one hospital's update.
 */
export function defaultMinSitesToAccept(sites: number): number {
  return Math.min(sites, Math.max(2, Math.ceil(sites / 2)));
}

/** The host of the manifest's HTTP address, as a Host header names it (IPv6 without brackets), or undefined when unreadable. */
function manifestHost(httpAddress: string): string | undefined {
  try {
    return new URL(httpAddress).hostname.replace(/^\[|\]$/g, '');
  } catch {
    return undefined;
  }
}

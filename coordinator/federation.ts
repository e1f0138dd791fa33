import { createHash } from 'node:crypto';
import type { StorageError } from '../shared/errors.ts';
import { PayloadSealer } from '../shared/crypto/envelope.ts';
import type { Identity } from '../shared/crypto/keys.ts';
import { ReplayGuard } from '../shared/crypto/replay-guard.ts';
import type { Schema } from '../shared/data/schema.ts';
import type { Logger } from '../shared/logger.ts';
import { dpSpent, dpTaskConfig, type DpSettings } from '../shared/privacy/dp.ts';
import { privacyTaskConfig } from '../shared/privacy/task-privacy.ts';
import { DEFAULT_MIN_CATEGORY_COUNT } from '../shared/data/vocabulary.ts';
import type { ModelSpecMsg } from '../shared/protocol/messages.ts';
import { SiteDirectory, type EnrolledSite } from './directory.ts';
import { CoordinatorService } from './coordinator-service.ts';
import { TransfersInFlight } from './transfers.ts';
import { modelHooks } from './model-hooks.ts';
import { RoundLoop, type Quorum, type RoundLoopOptions } from './round-loop.ts';
import { FileSpool, MemorySpool } from './spool.ts';
import type { CoordinatorStore } from './state/store.ts';
import type { RoundConfig, Strategy } from './strategy/strategy.ts';
import type { SecAggConfig } from '../shared/secagg/config.ts';
import { SecureAggregator } from './secure-round.ts';
import type { ResultBounds } from './result-bounds.ts';
import { RefusalLog } from './refusal-log.ts';

export interface FederationSettings {
  federation: string;
  rounds: number;
  model: ModelSpecMsg;
  strategy: Strategy;
  schema: Schema;
  sites: EnrolledSite[];
  testSites?: string[];
  quorum: Quorum;
  minCellCount: number;
  /** Default DEFAULT_MIN_CATEGORY_COUNT (shared/data/vocabulary.ts). */
  minCategoryCount?: number;
  baseConfig?: RoundConfig;
  /** Differential privacy of the training rounds (privacy.dp); absent: off. */
  dp?: DpSettings;
  localBaseline: boolean;
  identity: Identity;
  limits: { maxPayloadBytes: number; maxChunkSize: number; maxMessageAgeMs: number };
  /** What one site may claim in a result (coordinator.yaml `limits`); result-bounds.ts defaults when absent. */
  bounds?: ResultBounds;
  /** Refusal log lines per reason per minute; refusal-log.ts default when absent. */
  refusalLogPerMinute?: number;
  /** 'file' keeps coordinator memory flat for large models; 'memory' for in-process simulation. */
  spool: 'file' | 'memory';
  /** Durable state (the coordinator command); simulations run without. */
  store?: CoordinatorStore;
  /** Secure aggregation of fit rounds, when enabled (secure-config.ts). */
  secureAggregation?: SecAggConfig;
}

/** Wires directory, endpoint and round loop: the coordinator, minus its transports. */
/** Counts the payload bytes exchanged with the sites (the coordinator's /metrics). */
export interface PayloadMeter {
  payloadBytes(direction: 'in' | 'out', bytes: number): void;
}

export function createFederation(
  s: FederationSettings,
  log: Logger,
  onEvent?: RoundLoopOptions['onEvent'],
  onReject?: (reason: string, site?: string) => void,
  meter?: PayloadMeter,
  onStorageFault?: (e: StorageError) => void,
) {
  const directory = new SiteDirectory(s.sites);
  // A round's task payload is the same for every site: hash it once, sign per site.
  const digests = new WeakMap<Uint8Array, string>();
  const seal = (site: string, round: number, kind: string, payload: Uint8Array) => {
    let plainDigest = digests.get(payload);
    if (!plainDigest) digests.set(payload, (plainDigest = createHash('sha256').update(payload).digest('hex')));
    const sealer = new PayloadSealer({ federation: s.federation, round, site, kind }, payload, {
      signingSecretKey: s.identity.signing.secretKey,
      plainDigest,
    });
    meter?.payloadBytes('out', payload.length);
    // Re-iterable: a pending task is re-sent when a site reconnects.
    return { header: sealer.header, signature: sealer.signature, chunks: { [Symbol.iterator]: () => sealer.chunks() } };
  };
  const testSites = s.testSites ?? [];
  const secure = s.secureAggregation
    ? new SecureAggregator({ federation: s.federation, config: s.secureAggregation, signingKey: (site) => directory.signingKey(site), log: log.child({ component: 'secure-aggregation' }) })
    : undefined;
  if (s.strategy.caution) log.warn(s.strategy.caution, { strategy: s.strategy.name });
  const transfers = new TransfersInFlight();
  const loop = new RoundLoop({
    federation: s.federation,
    rounds: s.rounds,
    model: s.model,
    strategy: s.strategy,
    trainingSites: s.sites.map((x) => x.name).filter((n) => !testSites.includes(n)),
    testSites,
    quorum: s.quorum,
    schema: s.schema,
    minCellCount: s.minCellCount,
    ...(s.minCategoryCount !== undefined ? { minCategoryCount: s.minCategoryCount } : {}),
    // With DP on, every fit task tells the sites to clip and noise (shared/privacy/dp.ts).
    baseConfig: { ...s.baseConfig, ...(s.dp ? dpTaskConfig(s.dp) : {}) },
    // Every task states the protections, so a site holds them to its floor before it answers any (site.yaml privacy).
    declared: privacyTaskConfig({ minCellCount: s.minCellCount, minCategoryCount: s.minCategoryCount ?? DEFAULT_MIN_CATEGORY_COUNT, ...(s.dp ? { dp: s.dp } : {}) }),
    localBaseline: s.localBaseline,
    directory,
    transfers,
    seal,
    hooks: modelHooks(s.model, log),
    ...(secure ? { secure } : {}),
    ...(s.store ? { store: s.store } : {}),
    ...(s.bounds ? { bounds: s.bounds } : {}),
    log: log.child({ component: 'round-loop' }),
    onEvent,
  });
  const service = new CoordinatorService({
    directory,
    transfers,
    gate: loop,
    replay: replayGuard(s.limits.maxMessageAgeMs, s.store),
    boxSecretKey: s.identity.box.secretKey,
    limits: s.limits,
    spool: (site) => (s.spool === 'file' ? new FileSpool(site) : new MemorySpool()),
    log: log.child({ component: 'endpoint' }),
    schema: s.schema,
    refusalLog: new RefusalLog(log.child({ component: 'endpoint' }), s.refusalLogPerMinute),
    onReject,
    ...(meter ? { onBytes: (n: number) => meter.payloadBytes('in', n) } : {}),
    ...(onStorageFault ? { onStorageFault } : {}),
  });
  const dp = s.dp;
  /** The privacy spent so far (every fit round in the history); undefined with DP off. */
  const privacy = () => (dp ? dpSpent(dp, loop.history.map((h) => h.round)) : undefined);
  return { directory, loop, service, privacy, secure, transfers };
}

/**
 * The coordinator's replay guard; with a store, every accepted message id is kept there
 * (and read back on a restart), so a restart is no chance to replay a site's messages.
 */
function replayGuard(maxAgeMs: number, store: CoordinatorStore | undefined): ReplayGuard {
  if (!store) return new ReplayGuard({ maxAgeMs, reader: 'the coordinator' });
  const since = Date.now() - maxAgeMs;
  store.forgetMessagesBefore(since);
  let accepted = 0;
  const onAccept = (id: string, createdAt: number) => {
    store.rememberMessage(id, createdAt);
    // Ids older than the window are refused by age anyway: keep the table as small as the window.
    if (++accepted % 1000 === 0) store.forgetMessagesBefore(Date.now() - maxAgeMs);
  };
  const guard = new ReplayGuard({ maxAgeMs, onAccept, reader: 'the coordinator' });
  guard.restore(store.seenMessages(since));
  return guard;
}

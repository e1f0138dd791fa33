// A federation in one process for the coordinator tests: the real coordinator and site
// agents over the in-memory transport, with the settings every such test shares as defaults.
import { createFederation, type FederationSettings } from '../../coordinator/federation.ts';
import { createStrategy } from '../../coordinator/strategy/registry.ts';
import { generateIdentity } from '../../shared/crypto/keys.ts';
import type { Schema } from '../../shared/data/schema.ts';
import { silentLogger, type Logger } from '../../shared/logger.ts';
import { inMemoryTransport } from '../../shared/transport/in-memory.ts';
import type { SiteTransport } from '../../shared/transport/types.ts';
import { SiteAgent } from '../../site-agent/agent.ts';
import type { LocalData } from '../../site-agent/local-data.ts';
import type { PrivacyFloor } from '../../site-agent/privacy-floor.ts';

export interface InProcessOptions {
  schema: Schema;
  /** Each site's prepared data, in enrolment order. */
  sites: Record<string, LocalData>;
  /** Overrides of the shared defaults (federation "test", 1 round, logreg, FedAvg, every site to start and accept). */
  settings?: Partial<Omit<FederationSettings, 'schema' | 'sites' | 'identity'>>;
  /** Lets a test tap or tamper with one site's transport. */
  wrap?: (site: string, t: SiteTransport) => SiteTransport;
  log?: Logger;
  trainYieldEveryMs?: number;
  /** A site's site.yaml privacy floor, by site. */
  privacy?: Record<string, PrivacyFloor>;
}

export function inProcessFederation(o: InProcessOptions) {
  const names = Object.keys(o.sites);
  const log = o.log ?? silentLogger;
  const coord = generateIdentity();
  const ids = Object.fromEntries(names.map((s) => [s, generateIdentity()]));
  const federation = o.settings?.federation ?? 'test';
  const fed = createFederation(
    {
      federation,
      rounds: 1,
      model: { kind: 'logreg', raw: { localEpochs: 1 }, seed: 1 },
      strategy: createStrategy('fedavg'),
      quorum: { minSitesToStart: names.length, minSitesToAccept: names.length, roundDeadlineMs: 60_000, startTimeoutMs: 10_000, rejoinGraceMs: 0, waitForAllMs: 0 },
      minCellCount: 5,
      localBaseline: false,
      limits: { maxPayloadBytes: 1 << 26, maxChunkSize: 1 << 20, maxMessageAgeMs: 60_000 },
      spool: 'memory',
      ...o.settings,
      schema: o.schema,
      sites: names.map((name) => ({ name, signingPublicKey: ids[name]!.signing.publicKey })),
      identity: coord,
    },
    log,
  );
  const agents = names.map((site) => {
    const base = inMemoryTransport(fed.service);
    const transport = o.wrap ? o.wrap(site, base) : base;
    const agent = new SiteAgent({
      site,
      federation,
      schema: o.schema,
      data: o.sites[site]!,
      identity: ids[site]!,
      coordinator: { signingPublicKey: coord.signing.publicKey, boxPublicKey: coord.box.publicKey },
      transport,
      seed: 1,
      log: log.child({ site }),
      ...(o.trainYieldEveryMs !== undefined ? { trainYieldEveryMs: o.trainYieldEveryMs } : {}),
      ...(o.privacy?.[site] ? { privacy: o.privacy[site] } : {}),
    });
    // `done`: the agent's own promise (a test that expects a site to fail catches it itself).
    return { transport, done: agent.run() };
  });
  return { fed, ids, coord, agents };
}

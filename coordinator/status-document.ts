/**
 * /api/status (shared/federation/status.ts): the run's state, each site, the rounds, the agreed
 * prior and debiasing report, and the dashboard's extras, built afresh at each request from
 * the round loop and the directory.
 */
import type { FederationStatus } from '../shared/federation/status.ts';
import type { CoordinatorConfig } from './config.ts';
import { dashboardStatus } from './dashboard-status.ts';
import { statusWindow } from '../shared/federation/dashboard-status.ts';
import type { EventLog } from './events.ts';
import type { RoundRecord } from './round-outcome.ts';
import type { createFederation } from './federation.ts';

export interface StatusSources {
  cfg: CoordinatorConfig;
  fed: ReturnType<typeof createFederation>;
  /** The strategy's name. */
  strategy: string;
  events: EventLog;
}

export function statusDocument({ cfg, fed, strategy, events }: StatusSources): () => FederationStatus {
  return () => status(cfg, fed, strategy, events, statusWindow(fed.loop.history));
}

function status(cfg: CoordinatorConfig, fed: StatusSources['fed'], strategy: string, events: EventLog, window: readonly RoundRecord[]): FederationStatus {
  return {
    federation: cfg.federation,
    round: fed.loop.round,
    rounds: cfg.rounds,
    state: fed.loop.state,
    ...(fed.loop.stateChange ? { stateChange: fed.loop.stateChange } : {}),
    ...fed.loop.outcome,
    strategy,
    model: cfg.model.kind,
    sites: fed.directory.states().map((s) => ({
      name: s.name,
      online: s.online,
      lastSeen: s.lastSeen ? new Date(s.lastSeen).toISOString() : null,
      roundsCompleted: s.roundsCompleted,
      ...(s.version ? { version: s.version } : {}),
      ...(s.lastError ? { lastError: s.lastError } : {}),
      ...(s.lastErrorAt ? { lastErrorAt: new Date(s.lastErrorAt).toISOString() } : {}),
      ...(s.leftOut ? { leftOut: s.leftOut } : {}),
      ...(fed.loop.agreed.readiness?.sites[s.name] ? { readiness: fed.loop.agreed.readiness.sites[s.name] } : {}),
    })),
    historyRounds: fed.loop.history.length,
    history: window.map((h) => ({
      round: h.round,
      participants: h.participants,
      failures: h.failures,
      accepted: h.accepted,
      ...(h.reason ? { reason: h.reason } : {}),
      metrics: h.metrics,
      durationMs: h.durationMs,
    })),
    ...(fed.loop.agreed.prior ? { prior: { version: fed.loop.agreed.prior.version, patterns: fed.loop.agreed.prior.patterns } } : {}),
    ...(fed.loop.agreed.decisionReport ? { debiasing: fed.loop.agreed.decisionReport } : {}),
    ...(fed.secure ? { secureAggregation: fed.secure.summary } : {}),
    ...(cfg.dp ? { privacy: fed.privacy()! } : {}),
    ...(fed.loop.final ? { final: fed.loop.final } : {}),
    ...dashboardStatus({ current: fed.loop.current, transfers: fed.transfers, history: fed.loop.history, window, directory: fed.directory, events, runDir: cfg.runDir, summary: fed.loop.agreed.readiness?.summary }),
  };
}

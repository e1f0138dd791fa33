/**
 * What the dashboard needs beyond the core status (coordinator/http/status.ts): the round
 * being collected now, per-site curves and last failures, the event log and past runs.
 * Computed from the loop's own records at each request; nothing here is stored twice.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RoundCollector } from './collector.ts';
import type { SiteDirectory } from './directory.ts';
import type { TransfersInFlight } from './transfers.ts';
import type { EventLog } from './events.ts';
import type { RoundRecord } from './round-outcome.ts';
import type { FederationSummary } from '../shared/readiness/summary.ts';
import { finalAuroc } from '../shared/federation/final-evaluation.ts';

export type { CurrentRound, DashboardStatus, PastRun, SiteCurvePoint, SiteDetail } from '../shared/federation/dashboard-status.ts';
import { statusWindow, type CurrentRound, type DashboardStatus, type PastRun, type SiteDetail } from '../shared/federation/dashboard-status.ts';

export interface DashboardSources {
  current: RoundCollector | undefined;
  /** Tasks being sent and results arriving now (a slow link), shown against the sites the round awaits. */
  transfers?: TransfersInFlight;
  history: readonly RoundRecord[];
  /** statusWindow(history), when the caller has it already. */
  window?: readonly RoundRecord[];
  directory: SiteDirectory;
  events: EventLog;
  runDir?: string;
  summary?: FederationSummary;
}

function currentRound(c: RoundCollector, transfers: TransfersInFlight | undefined): CurrentRound {
  const uploading = c.sites.flatMap((site) => {
    const u = c.expects(site) ? transfers?.of(site) : undefined;
    return u && u.round === c.round ? [{ site, receivedBytes: u.receivedBytes, totalBytes: u.totalBytes }] : [];
  });
  const receivingTask = c.sites.filter((site) => c.expects(site) && transfers?.taskTo(site) === c.round);
  return {
    round: c.round,
    kind: c.kind,
    ...(c.stage !== undefined ? { stage: c.stage } : {}),
    expected: [...c.sites],
    reported: [...c.results.keys()],
    failed: [...c.failures.values()].map((f) => ({ site: f.site, reason: f.reason })),
    deadline: new Date(c.deadline).toISOString(),
    ...(uploading.length ? { uploading } : {}),
    ...(receivingTask.length ? { receivingTask } : {}),
  };
}

/**
 * Each site's last failure in `history`, which only grows (rounds are appended as they
 * commit): each poll reads only the rounds committed since the last one, not all of them
 * (30,000 at a long run's end).
 */
const failuresSeen = new WeakMap<readonly RoundRecord[], { rounds: number; last: Map<string, { round: number; reason: string }> }>();

function lastFailures(history: readonly RoundRecord[]): ReadonlyMap<string, { round: number; reason: string }> {
  let seen = failuresSeen.get(history);
  if (!seen || seen.rounds > history.length) failuresSeen.set(history, (seen = { rounds: 0, last: new Map() }));
  for (; seen.rounds < history.length; seen.rounds++) {
    const h = history[seen.rounds]!;
    for (const f of h.failed) seen.last.set(f.site, { round: h.round, reason: f.reason });
  }
  return seen.last;
}

function siteDetails(s: DashboardSources): Record<string, SiteDetail> {
  const out: Record<string, SiteDetail> = {};
  // Failures from the saved history first (a restarted coordinator), then those this process saw.
  for (const [site, failure] of lastFailures(s.history)) out[site] = { lastFailure: { ...failure } };
  for (const st of s.directory.states()) {
    const d = (out[st.name] ??= {});
    if (st.rows !== undefined) d.rows = st.rows;
    if (st.lastFailure) d.lastFailure = st.lastFailure;
    // A failure the site has since got past (it completed a later round) is history, not its state: the rounds table keeps it.
    if (d.lastFailure && st.lastCompletedRound !== undefined && st.lastCompletedRound > d.lastFailure.round) delete d.lastFailure;
  }
  // A failure in the round under way is the newest of all.
  if (s.current) for (const f of s.current.failures.values()) (out[f.site] ??= {}).lastFailure = { round: s.current.round, reason: f.reason };
  return out;
}

const PAST_RUNS_SHOWN = 20;

/** The run folders under runDir (newest first) with a line from each results file. */
// A finished run's results file never changes: read each once (the dashboard polls every 2 s).
const runCache = new Map<string, PastRun>();

export function pastRuns(runDir: string): PastRun[] {
  if (!existsSync(runDir)) return [];
  const names = readdirSync(runDir).filter((n) => n.startsWith('run-')).sort().reverse().slice(0, PAST_RUNS_SHOWN);
  return names.map((name) => {
    const file = join(runDir, name, 'results.json');
    const cached = runCache.get(file);
    if (cached) return cached;
    const run = readRun(name, file);
    if (run.complete !== undefined) runCache.set(file, run);
    return run;
  });
}

function readRun(name: string, file: string): PastRun {
    try {
      const r = JSON.parse(readFileSync(file, 'utf8')) as {
        complete?: boolean; model?: string; rounds?: number; sites?: Record<string, { auroc?: number; n?: number }>; pooledEvaluation?: { training?: { auroc?: number } };
        final?: { auroc?: unknown; missing?: unknown };
      };
      // The figure the live run showed as its final AUROC (weighted by held-out rows), not a plain mean of the sites';
      // from a results file before `final`, formed the same way.
      const given = r.final && typeof r.final.auroc === 'number' ? r.final.auroc : undefined;
      const auroc = given ?? (r.sites ? finalAuroc(r.sites, r.pooledEvaluation?.training) : undefined);
      const missing = Array.isArray(r.final?.missing) ? r.final.missing.filter((s): s is string => typeof s === 'string') : [];
      return {
        name,
        ...(typeof r.complete === 'boolean' ? { complete: r.complete } : {}),
        ...(r.model ? { model: r.model } : {}),
        ...(typeof r.rounds === 'number' ? { rounds: r.rounds } : {}),
        ...(auroc !== undefined ? { finalAuroc: auroc } : {}),
        ...(missing.length ? { missing } : {}),
      };
    } catch {
      return { name };
    }
}

export function dashboardStatus(s: DashboardSources): DashboardStatus {
  return {
    ...(s.current ? { current: currentRound(s.current, s.transfers) } : {}),
    siteDetails: siteDetails(s),
    siteCurves: (s.window ?? statusWindow(s.history)).map((h) => ({
      round: h.round,
      sites: Object.fromEntries(Object.entries((h.siteEvaluations as RoundRecord['siteEvaluations'] | undefined) ?? {}) /* absent in rounds restored from an older state file */.map(([site, e]) => [site, { auroc: e.auroc, ...(e.loss !== undefined ? { loss: e.loss } : {}) }])),
      failed: h.failed.map((f) => ({ site: f.site, reason: f.reason })),
    })),
    events: s.events.list(),
    ...(s.summary ? { priorDetail: { minCount: s.summary.prior.minCount, suppressed: s.summary.prior.suppressed, modalities: s.summary.schema.modalities } } : {}),
    ...(s.runDir ? { pastRuns: pastRuns(s.runDir) } : {}),
  };
}

/**
 * The coordinator at 4, 16, 32 and 50 sites: a synthetic cohort (`fedcausal synth`),
 * one real site process per site (the same `site start` a hospital runs), the
 * coordinator's peak memory (VmHWM) and its CPU time per round read from /proc, and
 * the rounds' wall time from its log. Every process shares this machine's cores, so the
 * round time is mostly the sites' training queueing for them; the coordinator's CPU
 * per round is its own cost.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../../tests/e2e/helpers/cli.ts';
import type { LogLine, RoleProcess } from '../../tests/e2e/helpers/federation.ts';
import { exitText, settle } from './facts.ts';
import { inFederation } from './phases.ts';
import { availableMemory, cpuSeconds, PeakWatcher } from './proc.ts';

export const SCALE_SITES = [4, 16, 32, 50];
const ROUNDS = 3;
const ROWS_PER_SITE = 200;
/** Assumed peak of one site process until one is measured (about 200 MiB on wasm, measured here). */
const SITE_RSS_GUESS = 260 * 1024 * 1024;
const MiB = 1024 * 1024;

export interface ScalePoint {
  sites: number;
  /** How the sites were run: 'site processes' (real `fedcausal site start`), or why none ran. */
  driver: string;
  rounds: number;
  rowsPerSite: number;
  coordinatorPeakRssMiB?: number;
  /** Mean wall time from a round's tasks going out to its commit. */
  meanRoundSeconds?: number;
  roundSeconds?: number[];
  /** Coordinator CPU (user + system) from the first round's start to the last commit, per round. */
  coordinatorCpuSecondsPerRound?: number;
  /** From "coordinator ready" to the first round's tasks (every site started, joined and sent its statistics). */
  startSeconds?: number;
  /** Median and largest peak RSS of the site processes. */
  siteRssMiB?: { median: number; max: number };
  coordinatorExit?: number | null;
  complete?: boolean;
  /** Sites whose update each round aggregated. */
  participants?: number[];
  /** The results file's problems, where the run was incomplete (the first few). */
  problems?: string[];
  /** Sites the coordinator saw disconnect before the federation ended (e.g. a keepalive timeout). */
  dropped?: string[];
  /** How the site processes ended: "exit 0" -> count. */
  siteExits?: Record<string, number>;
  /** The machine's 1-minute load average when this point started and ended: other work shares the cores. */
  loadAverage?: number[];
  ranAt: string;
  commit: string;
}

/** Per round: seconds from 'federation state training' to 'round committed', from the log's timestamps. */
export function roundSeconds(logs: LogLine[]): number[] {
  const at = (pred: (l: LogLine) => boolean) => logs.filter(pred).map((l) => ({ round: Number(l.round), t: Date.parse(String(l.timestamp)) }));
  const starts = at((l) => l.message === 'federation state' && l.state === 'training');
  const commits = new Map(at((l) => l.message === 'round committed').map((c) => [c.round, c.t]));
  return starts.flatMap((s) => (commits.has(s.round) ? [(commits.get(s.round)! - s.t) / 1000] : []));
}

const countBy = (xs: string[]) => xs.reduce<Record<string, number>>((m, x) => ({ ...m, [x]: (m[x] ?? 0) + 1 }), {});
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
const mib = (b: number) => Math.round((b / MiB) * 10) / 10;

/** Site peak memory seen so far in this run (the smallest scale measures it for the larger ones). */
let measuredSiteRss: number | undefined;

export async function measureScale(n: number, commit: string, say: (m: string) => void): Promise<ScalePoint> {
  const load = loadavg()[0]!;
  const base = { sites: n, rounds: ROUNDS, rowsPerSite: ROWS_PER_SITE, ranAt: new Date().toISOString(), commit };
  const need = n * (measuredSiteRss ?? SITE_RSS_GUESS) * 1.2 + 512 * MiB;
  if (need > availableMemory())
    return { ...base, driver: `not run: ${n} site processes need about ${(need / 1024 / MiB).toFixed(1)} GiB, ${(availableMemory() / 1024 / MiB).toFixed(1)} GiB available` };
  const dir = mkdtempSync(join(tmpdir(), 'fedcausal-scale-'));
  try {
    const synth = await runCli(['synth', '--out', dir, '--sites', String(n), '--rows', String(ROWS_PER_SITE)], 120_000);
    if (synth.code !== 0) throw new Error(`synth failed: ${synth.stderr.slice(-500)}`);
    const names = Array.from({ length: n }, (_, i) => `site${i + 1}`);
    const cohort = { schema: join(dir, 'schema.json'), files: Object.fromEntries(names.map((s) => [s, join(dir, `${s}.csv`)])) };
    return await inFederation(
      {
        sites: names,
        cohort,
        rounds: ROUNDS,
        model: { kind: 'baseline', localEpochs: 1 },
        quorum: { startTimeoutSeconds: 600, roundDeadlineSeconds: 600 },
        // Long enough to come back from a dropped connection, short enough not to linger long after the end.
        siteConnectTimeoutSeconds: 60,
        hardTimeoutMs: 20 * 60_000,
      },
      async (fed) => {
        const coordinator = await fed.startCoordinator();
        const ready = Date.now();
        const sites: RoleProcess[] = names.map((s) => fed.startSite(s));
        const watcher = new PeakWatcher(() => [coordinator, ...sites].flatMap((p) => (p.alive && p.child.pid ? [p.child.pid] : [])));
        const pid = coordinator.child.pid!;
        const first = await coordinator.waitForLog((l) => l.message === 'federation state' && l.state === 'training' && l.round === 1, 15 * 60_000, 'round 1');
        const cpu0 = cpuSeconds(pid);
        await coordinator.waitForLog((l) => l.message === 'round committed' && l.round === ROUNDS, 15 * 60_000, `round ${ROUNDS} committed`);
        const cpu1 = cpuSeconds(pid);
        watcher.stop();
        say(`  ${n} sites: rounds done, waiting for the processes to end`);
        const facts = await settle(fed, coordinator, sites, 120_000, ready);
        const siteRss = sites.flatMap((p) => (p.child.pid && watcher.peaks.has(p.child.pid) ? [watcher.peaks.get(p.child.pid)!] : []));
        if (siteRss.length) measuredSiteRss = Math.max(measuredSiteRss ?? 0, ...siteRss);
        const rounds = roundSeconds(coordinator.logs);
        return {
          ...base,
          driver: 'site processes',
          coordinatorPeakRssMiB: mib(watcher.peaks.get(pid) ?? NaN),
          meanRoundSeconds: rounds.reduce((a, b) => a + b, 0) / rounds.length,
          roundSeconds: rounds,
          coordinatorCpuSecondsPerRound: cpu0 !== undefined && cpu1 !== undefined ? (cpu1 - cpu0) / ROUNDS : NaN,
          startSeconds: (Date.parse(String(first.timestamp)) - ready) / 1000,
          siteRssMiB: { median: mib(median(siteRss)), max: mib(Math.max(...siteRss)) },
          coordinatorExit: facts.coordinator.code,
          complete: facts.results?.complete ?? false,
          participants: facts.results?.history.map((h) => h.participants) ?? [],
          ...(facts.results?.problems.length ? { problems: facts.results.problems.slice(0, 5) } : {}),
          dropped: [...new Set(coordinator.logs.filter((l) => l.message === 'site disconnected').map((l) => String(l.site)))],
          siteExits: countBy(facts.sites.map((e) => exitText(e).replace(/ after .*/, ''))),
          loadAverage: [load, loadavg()[0]!],
        };
      },
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

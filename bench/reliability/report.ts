/** docs/reliability.md, rendered from the rows in docs/reliability.json (nothing in it is typed by hand). */
import { markdownTable, type Cell } from '../../shared/report/table.ts';
import type { ScalePoint } from './scale.ts';
import type { ScenarioResult } from './scenario.ts';

export interface ReliabilityReport {
  generatedAt: string;
  commit: string;
  /** loadAverage: the 1-minute load average at the start and the end of the last run (other work shares the cores). */
  machine: { node: string; cpus: number; memoryGiB: number; loadAverage?: number[] };
  /** Wall time of the last whole run (every scenario and scale), in seconds. */
  fullRunSeconds?: number;
  scenarios: ScenarioResult[];
  scale: ScalePoint[];
}

/**
 * Faults the issue names that no scenario covers yet, and why: the work that makes
 * them testable is under way. Remove a line when its scenarios land in ./scenarios.
 */
const NOT_COVERED = [
  'A corrupt, foreign or newer-version state file, and a second coordinator on the same state: refused (tests/coordinator/state/store.test.ts), not run here.',
  'A site whose local training takes about a minute, and 16 sites with a ~1M-parameter model: tests/e2e/long-training.test.ts and many-sites.test.ts, not run here.',
  'A second connection for a site already connected (tests/e2e/duplicate-site.test.ts) and SIGTERM through start.sh (tests/e2e/start-script.test.ts): not run here.',
];

const VERDICT: Record<ScenarioResult['verdict'], string> = { 'as expected': 'as expected', differs: '**DIFFERS**', error: '**not measured**' };

function lostText(r: ScenarioResult): string {
  if (!r.roundsLost) return 'n/a';
  return `${r.roundsLost.lost} of ${r.roundsLost.of}${r.roundsLost.note ? ` (${r.roundsLost.note})` : ''}`;
}

function failedChecks(r: ScenarioResult): string {
  return r.checks
    .filter((c) => !c.ok)
    .map((c) => `${c.what}: got ${c.got}`)
    .join('; ');
}

function faultTables(rows: ScenarioResult[]): string {
  const groups = [...new Set(rows.map((r) => r.group))];
  return groups
    .map((g) => {
      const body: Cell[][] = rows
        .filter((r) => r.group === g)
        .map((r) => [r.id, r.fault, r.expected, r.outcome, lostText(r), r.verdict === 'differs' ? `${VERDICT[r.verdict]}: ${failedChecks(r)}` : VERDICT[r.verdict]]);
      return `### ${g}\n\n${markdownTable(['id', 'fault', 'expected', 'observed', 'rounds lost', 'verdict'], body, { align: Array(6).fill('left') })}`;
    })
    .join('\n');
}

function differences(rows: ScenarioResult[]): string {
  const bad = rows.filter((r) => r.verdict !== 'as expected');
  if (!bad.length) return 'Every fault gave the expected outcome.\n';
  return bad.map((r) => `- \`${r.id}\` (${r.verdict === 'error' ? 'not measured' : 'differs'}): ${r.verdict === 'error' ? r.outcome : failedChecks(r)}`).join('\n') + '\n';
}

const n1 = (v: number | undefined) => (v === undefined || !Number.isFinite(v) ? '-' : v.toFixed(1));
const n2 = (v: number | undefined) => (v === undefined || !Number.isFinite(v) ? '-' : v.toFixed(2));

function scaleTable(points: ScalePoint[]): string {
  if (!points.length) return 'Not measured yet (`npm run reliability -- --only scale`).\n';
  const rows: Cell[][] = points.map((p) => [
    p.sites,
    p.driver,
    n1(p.coordinatorPeakRssMiB),
    n2(p.meanRoundSeconds),
    p.roundSeconds ? p.roundSeconds.map((s) => s.toFixed(1)).join(', ') : '-',
    n2(p.coordinatorCpuSecondsPerRound),
    n1(p.startSeconds),
    p.siteRssMiB ? `${p.siteRssMiB.median.toFixed(0)} / ${p.siteRssMiB.max.toFixed(0)}` : '-',
    p.participants?.length ? p.participants.join(', ') : '-',
    p.coordinatorExit === undefined ? '-' : `exit ${p.coordinatorExit}${p.complete ? ', complete' : ', incomplete'}${p.dropped?.length ? `; ${p.dropped.length} site${p.dropped.length === 1 ? '' : 's'} dropped` : ''}`,
    p.loadAverage ? p.loadAverage.map((l) => l.toFixed(0)).join(' → ') : '-',
  ]);
  const table = markdownTable(
    ['sites', 'sites run as', 'coordinator peak RSS (MiB)', 'mean round (s)', 'rounds (s)', 'coordinator CPU per round (s)', 'start (s)', 'site peak RSS median / max (MiB)', 'participants per round', 'run', 'load average'],
    rows,
    { align: ['right', 'left', 'right', 'right', 'left', 'right', 'right', 'right', 'left', 'left', 'right'] },
  );
  const notes = points
    .filter((p) => p.problems?.length || p.dropped?.length)
    .map((p) => `- ${p.sites} sites: ${p.dropped?.length ? `dropped by the coordinator during the run: ${p.dropped.join(', ')}. ` : ''}${p.problems?.length ? `Problems (the first ${p.problems.length}): ${p.problems.join('; ')}. ` : ''}${p.siteExits ? `Site processes ended: ${Object.entries(p.siteExits).map(([k, v]) => `${v} ${k}`).join(', ')}.` : ''}`);
  return notes.length ? `${table}\n${notes.join('\n')}\n` : table;
}

export function renderReport(r: ReliabilityReport): string {
  const count = (v: ScenarioResult['verdict']) => r.scenarios.filter((s) => s.verdict === v).length;
  const commits = [...new Set([...r.scenarios.map((s) => s.commit), ...r.scale.map((s) => s.commit)])];
  const scale = r.scale[0];
  return `# Reliability report

Written by \`npm run reliability\` (bench/reliability/run.ts) from docs/reliability.json; do
not edit it by hand. Each fault is injected into real processes: a coordinator and
hospital site agents (\`node bin/fedcausal.js ...\`), talking gRPC on loopback, with
their exit codes, logs and results file read from outside as an operator would.

Generated ${r.generatedAt} from rows measured at commit ${commits.join(', ')} (each row in the JSON
names its own), on ${r.machine.cpus} CPU cores, ${r.machine.memoryGiB} GiB, node ${r.machine.node}${
    r.machine.loadAverage ? `; the last run saw a load average of ${r.machine.loadAverage.map((l) => l.toFixed(1)).join(' at its start and ')} at its end (other work shares the cores)` : ''
  }${r.fullRunSeconds ? `; a full run took ${(r.fullRunSeconds / 60).toFixed(1)} min` : ''}.

**${count('as expected')} of ${r.scenarios.length} faults gave the expected outcome; ${count('differs')} differ${count('error') ? `; ${count('error')} could not be measured` : ''}.**

## Where the outcome differs from the expected

${differences(r.scenarios)}
## Method

- Fault runs: sites cleveland, hungary and va (UCI heart disease), a baseline model,
  3 rounds of 5 local epochs. Timeouts are cut from the defaults' 10 minutes so a
  stuck run ends in seconds: start 20 s, round deadline 30 s, site reconnect window
  15 s. "Default quorum" is what \`fedcausal provision\` writes: max(2, half the sites)
  = 2 of 3 to start (after waiting 60 s for every site) and to accept a round; the
  statistics and the final evaluation wait 30 s for an offline site to come back.
- Phases are those of the coordinator's round machine. Most last milliseconds on this
  model, so the site the fault hits (or, for faults of the coordinator, a site whose
  answer would end the phase) is frozen with SIGSTOP until the fault is in, and thawed
  within seconds (before the 10 s keepalive could drop it). "Aggregating" for a site
  means its round-2 update is in and the round still open; for the coordinator, the
  signal is sent when it logs the phase (it lands in it or just after).
- Rounds lost: rounds of the run not accepted or not run, as its results file records
  them; where no results file was written (a stopped or lost coordinator), the rounds
  not yet committed to its state file count too: a restart resumes from the last commit
  (the coordinator-kill rows show it).
- A row **DIFFERS** when any of its expectations failed; the failed ones are named.

## Faults

${faultTables(r.scenarios)}
## Scale

${scaleTable(r.scale)}
${scale ? `Synthetic cohort (\`fedcausal synth\`, ${scale.rowsPerSite} rows per site), baseline model, one local
epoch, ${scale.rounds} rounds, every site a real \`fedcausal site start\` process on this machine. The
coordinator's peak RSS is VmHWM from /proc; its CPU per round is user + system time from
the first round's start to the last commit, divided by the rounds; round 1 includes each
site setting up its model. All site processes share the machine's ${r.machine.cpus} cores, so the
round time is mostly the sites' local training queueing for them, not the coordinator:
compare the coordinator's CPU per round. The load average (1 minute, at the point's start
and end) counts other work on the same cores. Sites run their model in a worker
thread, so a site starved of CPU still answers the gRPC keepalive (10 s ping, 5 s
timeout); the participants per round show whether any was dropped.
` : ''}
## Not covered yet

${NOT_COVERED.map((l) => `- ${l}`).join('\n')}
`;
}

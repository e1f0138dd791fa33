/**
 * Start-up time of the `fedcausal` command: `--help` and `--version`, from the compiled
 * dist/ (what an installed package runs) and through tsx (a checkout), each against
 * `node -e 0` timed in the same loop, interleaved, so a busy machine slows all alike.
 * The target is --help within HELP_TARGET_SECONDS (on an idle machine; the ratio to
 * `node -e 0` is the figure that travels between machines).
 *
 * Alone: `node --import tsx bench/cli-startup.ts [--repeats N]` prints one JSON line.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { f, table, x } from './report-format.ts';
import { median } from './workload.ts';

const ROOT = join(import.meta.dirname, '..');
const BIN = join(ROOT, 'bin', 'fedcausal.js');
export const HELP_TARGET_SECONDS = 0.5;
const DEFAULT_REPEATS = 7;

export interface StartupCase {
  name: string;
  /** Median wall seconds over the repeats. */
  seconds: number;
  /** seconds / the reference's median in the same run. */
  ratio: number;
  samples: number[];
}

export interface StartupResult {
  repeats: number;
  reference: { name: string; seconds: number; samples: number[] };
  cases: StartupCase[];
  /** How dist/ came to be measured: built by this run, already there, or not measured. */
  dist: string;
  targetSeconds: number;
}

interface Cmd {
  name: string;
  args: string[];
  env?: Record<string, string>;
}

function timeOnce(c: Cmd): number {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(process.execPath, c.args, { cwd: ROOT, env: { ...process.env, ...c.env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  if (r.status !== 0) throw new Error(`${c.name} exited with ${r.status}: ${String(r.stderr).slice(-300)}`);
  return s;
}

/** Builds dist/ when it is missing (npm run build's TypeScript step), so the installed form is measured too. */
function ensureDist(): string {
  if (existsSync(join(ROOT, 'dist', 'cli', 'entry.js'))) return 'dist/ as found (run `npm run build` first to measure the current sources)';
  const r = spawnSync(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json'], { cwd: ROOT, encoding: 'utf8' });
  if (r.status !== 0) return `not measured: the build failed (${(r.stdout + r.stderr).trim().split('\n').slice(-1)[0]})`;
  return 'built by this run (tsc -p tsconfig.build.json; build time not counted)';
}

export function measureStartup(repeats = DEFAULT_REPEATS): StartupResult {
  const dist = ensureDist();
  const reference: Cmd = { name: 'node -e 0', args: ['-e', '0'] };
  const cmds: Cmd[] = [
    ...(dist.startsWith('not measured') ? [] : [
      { name: 'fedcausal --help (dist)', args: [BIN, '--help'], env: { FEDCAUSAL_RUN_FROM: 'dist' } },
      { name: 'fedcausal --version (dist)', args: [BIN, '--version'], env: { FEDCAUSAL_RUN_FROM: 'dist' } },
    ]),
    { name: 'fedcausal --help (tsx, checkout)', args: [BIN, '--help'] },
    { name: 'fedcausal --version (tsx, checkout)', args: [BIN, '--version'] },
  ];
  // One warm-up of each (disk cache), then interleaved repeats.
  for (const c of [reference, ...cmds]) timeOnce(c);
  const samples = new Map<string, number[]>([reference, ...cmds].map((c) => [c.name, []]));
  for (let i = 0; i < repeats; i++) for (const c of [reference, ...cmds]) samples.get(c.name)!.push(timeOnce(c));
  const ref = median(samples.get(reference.name)!);
  return {
    repeats,
    reference: { name: reference.name, seconds: ref, samples: samples.get(reference.name)! },
    cases: cmds.map((c) => {
      const s = samples.get(c.name)!;
      return { name: c.name, seconds: median(s), ratio: median(s) / ref, samples: s };
    }),
    dist,
    targetSeconds: HELP_TARGET_SECONDS,
  };
}

export function renderStartup(r: StartupResult | undefined): string[] {
  if (!r) return [];
  const help = r.cases.find((c) => c.name === 'fedcausal --help (dist)');
  const verdict = help
    ? `\`fedcausal --help\` from dist/ took ${f(help.seconds, 3)} s (${x(help.ratio)} \`node -e 0\`): ` +
      `${help.seconds <= r.targetSeconds ? 'within' : 'over'} the ${r.targetSeconds} s target on this machine, ` +
      `and ${f(Math.max(0, help.seconds - r.reference.seconds), 3)} s above starting Node itself.`
    : 'dist/ was not measured, so the target is not judged.';
  return [
    '## 4. CLI start-up',
    '',
    `Wall time of each command, median of ${r.repeats} runs interleaved with \`node -e 0\` (${f(r.reference.seconds, 3)} s in this run). ` +
      `dist/: ${r.dist}. The tsx rows include compiling the TypeScript on the fly (a checkout); an installed package runs dist/.`,
    '',
    table(['command', 'seconds', 'x node -e 0'], r.cases.map((c) => [c.name, f(c.seconds, 3), x(c.ratio)])),
    '',
    verdict,
    '',
  ];
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === import.meta.filename) {
  const i = process.argv.indexOf('--repeats');
  console.log(JSON.stringify(measureStartup(i > 0 ? Number(process.argv[i + 1]) : DEFAULT_REPEATS)));
}

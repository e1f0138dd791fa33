/**
 * `npm run bench`: runs the benchmark suite and writes docs/benchmarks.md (the report)
 * and docs/benchmarks.json (the raw numbers).
 *
 * 1. Local training throughput of the baseline backbone on the encoded heart-disease
 *    rows, per tfjs backend (a child process each: bench/train-throughput.ts), beside
 *    a PyTorch port on the same batches (bench/torch_reference.py). On wasm the
 *    debiased variants train on the same batches, and that child runs DEBIASED_RUNS
 *    times: the step-cost ratios' spread over the runs is part of the result.
 * 2. Round overhead of a ~1M-parameter model, 4 sites, loopback gRPC, against a
 *    transport floor measured in the same run (bench/round-overhead.ts).
 * 3. Envelope seal + open throughput, encrypted vs plain (bench/envelope-throughput.ts).
 * 4. Start-up of `fedcausal --help` / `--version`, dist/ and tsx, against `node -e 0` (bench/cli-startup.ts).
 * 5. A secure-aggregation fit round vs a plain one, 10 sites, ~1M parameters
 *    (bench/secure-round.ts, which writes its own section of docs/benchmarks.md).
 *
 * This process loads no tfjs backend: each child picks its own. Timings are medians of
 * repeats, and every comparison is a ratio against a reference measured in this run,
 * because the machine's cores are shared with other work.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { measureEnvelope, type EnvelopeResult } from './envelope-throughput.ts';
import { measureStartup } from './cli-startup.ts';
import { renderReport, type BenchReport, type TorchResult } from './report.ts';
import type { RoundOverheadResult } from './round-overhead.ts';
import type { ModelRun, ThroughputResult } from './train-throughput.ts';
import { lastJsonLine, median } from './workload.ts';

const ROOT = join(import.meta.dirname, '..');
const PYTHON = '/usr/bin/python3'; // Debian's python, where python3-torch installs (a pyenv python3 on PATH would not see it)
const EPOCHS_PER_REPEAT = 10;
const REPEATS = 5;
const ROUNDS = 8;
const FLOOR_REPEATS = 5;
/** Separate wasm processes timing the debiased variants against the baseline (the ratio is the median over them). */
const DEBIASED_RUNS = 3;

const started = Date.now();
const say = (m: string) => console.log(`[bench +${((Date.now() - started) / 1000).toFixed(0)}s] ${m}`);

function runNode(script: string, args: string[]): Promise<string> {
  return runCommand(process.execPath, ['--import', 'tsx', join(import.meta.dirname, script), ...args], script);
}

/** Runs a command, passing its stderr (progress) through and returning its stdout. */
function runCommand(cmd: string, args: string[], who: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (d: string) => (out += d));
    child.stderr.setEncoding('utf8');
    // tfjs prints a long "install tfjs-node" banner on the cpu backend; keep our progress lines.
    child.stderr.on('data', (d: string) => {
      for (const line of d.split('\n')) if (line.startsWith('  [') || /error|warn/i.test(line)) console.log(line);
    });
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`${who} exited with code ${code}; output: ${out.slice(-400)}`))));
  });
}

function cpuModel(): string {
  try {
    const m = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'));
    if (m) return m[1]!.trim();
  } catch {
    /* not Linux */
  }
  return os.cpus()[0]?.model ?? 'unknown';
}

/** Makes sure Debian's PyTorch is importable, installing python3-torch when missing and allowed (root). */
function ensureTorch(): { ok: boolean; note: string } {
  const importable = () => spawnSync(PYTHON, ['-c', 'import torch, numpy'], { encoding: 'utf8' });
  if (!existsSync(PYTHON)) return { ok: false, note: `${PYTHON} not found: the PyTorch reference needs Debian's python3` };
  if (importable().status === 0) return { ok: true, note: 'python3-torch already installed' };
  if (process.getuid?.() !== 0) return { ok: false, note: 'python3-torch is not installed and this is not root, so it cannot be installed (apt-get install -y python3-torch)' };
  say('python3-torch missing: apt-get install -y python3-torch (once; can take minutes)');
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  let r = spawnSync('apt-get', ['install', '-y', '-q', 'python3-torch'], { encoding: 'utf8', env });
  if (r.status !== 0) {
    spawnSync('apt-get', ['update', '-q'], { encoding: 'utf8', env });
    r = spawnSync('apt-get', ['install', '-y', '-q', 'python3-torch'], { encoding: 'utf8', env });
  }
  if (r.status === 0 && importable().status === 0) return { ok: true, note: 'python3-torch installed by this run (install time not counted)' };
  return { ok: false, note: `apt-get install python3-torch failed: ${(r.stderr || r.stdout || String(r.error)).trim().split('\n').slice(-2).join(' ')}` };
}

function sayRatios(r: ThroughputResult, run: number): void {
  const base = r.baseline;
  if (!base || !r.debiased?.registered) return;
  const cpu = (m: ModelRun) => median(m.cpuSeconds) / median(base.cpuSeconds);
  say(`  run ${run}: ${r.debiased.runs.map((d) => `${d.role ?? 'debiased'} ${(d.msPerStep / base.msPerStep).toFixed(2)}x (CPU time ${cpu(d).toFixed(2)}x)`).join(', ')} a baseline step`);
}

async function main(): Promise<void> {
  const date = new Date().toISOString();
  say('probing tfjs backends');
  const probe = lastJsonLine<{ probe: Record<string, boolean>; tfjsVersion: string }>(await runNode('train-throughput.ts', ['--probe']), 'probe');
  const machine = {
    cpuModel: cpuModel(),
    logicalCores: os.cpus().length,
    availableParallelism: os.availableParallelism(),
    node: process.version,
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
    totalMemoryGiB: os.totalmem() / 2 ** 30,
    loadAverageAtStart: os.loadavg(),
    tfjsVersion: probe.tfjsVersion,
    tfjsBackends: probe.probe,
  };
  say(`machine: ${machine.cpuModel}, ${machine.logicalCores} cores, node ${machine.node}, tfjs backends ${JSON.stringify(probe.probe)}`);

  // ---- 1. training throughput ----
  const dump = mkdtempSync(join(os.tmpdir(), 'fedcausal-bench-train-'));
  const tfjs: ThroughputResult[] = [];
  const debiasedRuns: ThroughputResult[] = [];
  let torch: TorchResult;
  try {
    const order = ['cpu', 'wasm', 'node', 'node-gpu'].filter((b) => probe.probe[b]);
    for (const [i, b] of order.entries()) {
      say(`training throughput: tfjs ${b} (${REPEATS} x ${EPOCHS_PER_REPEAT} epochs${b === 'wasm' ? ', plus debiased on the same batches' : ''})`);
      const args = ['--backend', b, '--epochs', String(EPOCHS_PER_REPEAT), '--repeats', String(REPEATS)];
      if (i === 0) args.push('--dump', dump);
      if (b === 'wasm') args.push('--debiased');
      const r = lastJsonLine<ThroughputResult>(await runNode('train-throughput.ts', args), `train-throughput ${b}`);
      tfjs.push(r);
      if (r.baseline) say(`  ${b}: ${r.baseline.samplesPerSec.toFixed(0)} samples/s, ${r.baseline.msPerStep.toFixed(2)} ms/step`);
      if (b !== 'wasm') continue;
      debiasedRuns.push(r);
      sayRatios(r, 1);
      for (let k = 2; k <= DEBIASED_RUNS; k++) {
        say(`training throughput: tfjs wasm again, baseline and debiased (run ${k} of ${DEBIASED_RUNS}, for the step-cost spread)`);
        const again = lastJsonLine<ThroughputResult>(
          await runNode('train-throughput.ts', ['--backend', b, '--epochs', String(EPOCHS_PER_REPEAT), '--repeats', String(REPEATS), '--debiased']),
          `train-throughput ${b} run ${k}`,
        );
        debiasedRuns.push(again);
        sayRatios(again, k);
      }
    }
    say('training throughput: PyTorch reference');
    const t = ensureTorch();
    if (!t.ok || order.length === 0) {
      torch = { available: false, note: order.length === 0 ? 'no tfjs backend ran, so there is no dump to replay' : t.note };
      say(`  PyTorch skipped: ${torch.note}`);
    } else {
      const out = await runCommand(PYTHON, [join(import.meta.dirname, 'torch_reference.py'), dump], 'torch_reference.py');
      torch = { available: true, note: t.note, ...lastJsonLine<Omit<TorchResult, 'available' | 'note'>>(out, 'torch_reference.py') };
      for (const r of torch.runs ?? []) say(`  torch threads=${r.threads}: ${r.samplesPerSec.toFixed(0)} samples/s`);
    }
  } finally {
    rmSync(dump, { recursive: true, force: true });
  }

  // ---- 2. round overhead ----
  say(`round overhead: ~1M-parameter baseline, 4 sites over loopback gRPC, ${ROUNDS} rounds`);
  const round = lastJsonLine<RoundOverheadResult>(
    await runNode('round-overhead.ts', ['--rounds', String(ROUNDS), '--floor-repeats', String(FLOOR_REPEATS)]),
    'round-overhead',
  );
  say(`  overhead ${round.overheadMs.toFixed(0)} ms, floor ${round.floor.medianMs.toFixed(0)} ms, ratio ${round.ratio.toFixed(2)} (target <= ${round.target}: ${round.met ? 'met' : 'NOT met'})`);

  // ---- 3. envelope ----
  say('envelope throughput: 64 MiB sealed and opened, encrypted vs plain');
  const envelope: EnvelopeResult = measureEnvelope(64 * 2 ** 20, 5);
  for (const m of envelope.modes)
    say(`  ${m.mode}: seal ${m.sealMiBps.toFixed(0)} MiB/s, open ${m.openMiBps.toFixed(0)} MiB/s, seal+open ${m.roundTripMiBps.toFixed(0)} MiB/s`);

  // ---- 4. CLI start-up ----
  say('CLI start-up: fedcausal --help and --version (dist/ and tsx) against node -e 0');
  const startup = measureStartup();
  for (const c of startup.cases) say(`  ${c.name}: ${c.seconds.toFixed(3)} s (${c.ratio.toFixed(2)}x node -e 0 at ${startup.reference.seconds.toFixed(3)} s)`);

  const report: BenchReport = {
    date,
    durationSeconds: (Date.now() - started) / 1000,
    machine,
    settings: { epochsPerRepeat: EPOCHS_PER_REPEAT, repeats: REPEATS, rounds: ROUNDS, floorRepeats: FLOOR_REPEATS },
    training: { tfjs, torch, debiasedRuns },
    round,
    envelope,
    startup,
  };
  writeFileSync(join(ROOT, 'docs/benchmarks.json'), JSON.stringify(report, null, 2) + '\n');
  writeFileSync(join(ROOT, 'docs/benchmarks.md'), renderReport(report));
  // ---- 4. secure aggregation: a secure vs a plain fit round; it writes its own section ----
  say('secure aggregation: a secure vs a plain fit round, 10 sites, ~1M parameters');
  await runNode('secure-round.ts', ['--write']);
  say(`wrote docs/benchmarks.md and docs/benchmarks.json (${report.durationSeconds.toFixed(0)} s in all)`);
}

main().catch((e: Error) => {
  console.error(`bench failed: ${e.stack ?? e.message}`);
  process.exit(1);
});

/** The debiased model's step cost against a baseline step, across the wasm runs (docs/benchmarks.md). */
import type { Cell } from '../shared/report/table.ts';
import { f, table, x } from './report-format.ts';
import type { DebiasedRole, ModelRun, ThroughputResult } from './train-throughput.ts';
import { median } from './workload.ts';

/**
 * Step-cost targets on wasm, as multiples of a baseline step: the default debiased
 * step (a reading flagged and dropped, Part 1's confounder head, balancing; no dual
 * branch) is the headline; the dual branch keeps its earlier target.
 */
export const DEBIASED_TARGETS: Record<DebiasedRole, number> = { default: 1.5, 'dual-branch': 2.5 };
const ROLE_LABEL: Record<DebiasedRole, string> = { default: 'default (flagged, drop)', 'dual-branch': 'dual branch' };

/** One debiased configuration across the runs: its ModelRun per run and the step-cost ratio against that run's baseline. */
interface RoleRuns {
  role: DebiasedRole | undefined;
  runs: ModelRun[];
  /** Per run: median timed call over the baseline's median timed call, in wall-clock time. */
  ratios: number[];
  /** The same in CPU time of the process (NaN for results without it). */
  cpuRatios: number[];
}

/** Groups the debiased runs by configuration (its role, or its position for results without roles). */
function byRole(runs: ThroughputResult[]): RoleRuns[] {
  const groups = new Map<string, RoleRuns>();
  for (const t of runs)
    (t.debiased?.runs ?? []).forEach((run, i) => {
      const key = run.role ?? `#${i}`;
      const e = groups.get(key) ?? { role: run.role, runs: [], ratios: [], cpuRatios: [] };
      e.runs.push(run);
      e.ratios.push(run.msPerStep / t.baseline!.msPerStep);
      // Results written before CPU time was measured have no cpuSeconds.
      const cpu = (m: { cpuSeconds?: number[] }) => (m.cpuSeconds?.length ? median(m.cpuSeconds) : NaN);
      e.cpuRatios.push(cpu(run) / cpu(t.baseline!));
      groups.set(key, e);
    });
  return [...groups.values()];
}

const spread = (v: number[]) => (v.length > 1 ? `${x(Math.min(...v))} - ${x(Math.max(...v))}` : '-');
const perRun = (v: number[]) => v.map((r) => (Number.isFinite(r) ? r.toFixed(2) : '-')).join(' / ');
const ms = (rs: ModelRun[]) => rs.map((r) => f(r.msPerStep, 3)).join(' / ');

export function renderDebiased(runs: ThroughputResult[]): string[] {
  const out = ['### Debiased model step cost (wasm)', ''];
  if (runs.length === 0) return [...out, 'The wasm backend was not available, so the debiased step cost was not measured.', ''];
  const d = runs[0]!.debiased;
  if (!d) return [...out, 'Not measured in this run.', ''];
  if (!d.registered)
    return [
      ...out,
      `Not measured: no debiased model is registered in the model factory (\`createModel('debiased', ...)\` threw: "${d.error}"). ` +
        'Once shared/model/factory.ts registers it, the next `npm run bench` measures it on the same batches as the baseline.',
      '',
    ];
  const measured = runs.filter((t) => t.baseline && t.debiased?.registered);
  const roles = byRole(measured);
  const n = measured.length;
  const runLabel = n > 1 ? ` 1${Array.from({ length: n - 1 }, (_, k) => ` / ${k + 2}`).join('')}` : '';
  const rows = debiasedRows(measured, roles);
  const head = roles.find((e) => e.role === 'default');
  const dual = roles.find((e) => e.role === 'dual-branch');
  out.push(
    `The debiased variant as a site trains it once a reading is flagged (\`mode: 'on'\`): with the default weighting (\`drop\`: the flagged ` +
      'columns leave the inputs, so the dual branch is off and the step is the backbone plus Part 1\'s confounder head h(z, c_m) and ' +
      'pattern-balancing weights), and with the dual branch on (`weighting: \'adaptive\'`: bias encoder, feature swap, independence penalty, on top of Part 1). ' +
      `Same batches and trainLocal settings as the baseline (its ModelConfig); in each run the timed calls of the three models are interleaved, ` +
      'and the warm-up is 2 epochs so the feature swap (after its warm-up epochs) is on in the timed calls. ' +
      `The wasm child ran ${n} time${n === 1 ? '' : 's'} (separate processes); a ratio is the debiased model's median timed call over the baseline's in the same run, ` +
      'in wall-clock time (the target\'s measure) and in CPU time of the process (user + system), which load from other processes on the shared cores inflates much less.',
    '',
    ...(head ? [`Default debiased step: ${verdict(head)}.`, ''] : []),
    ...(dual ? [`Dual branch on: ${verdict(dual)}.`, ''] : []),
    table(
      [
        'model',
        'raw model settings',
        'what runs',
        'parameters',
        `ms/step (run${runLabel})`,
        `vs baseline, wall (run${runLabel})`,
        'median',
        'spread',
        `vs baseline, CPU (run${runLabel})`,
        'median',
        'target',
        'met',
      ],
      rows,
    ),
    '',
  );
  return out;
}

/** The table's rows: the baseline, then each debiased role with its ratios over the runs and its target. */
function debiasedRows(measured: ThroughputResult[], roles: RoleRuns[]): Cell[][] {
  const rows: Cell[][] = [['baseline', '{}', 'the backbone, linear head', measured[0]!.baseline!.params, ms(measured.map((t) => t.baseline!)), '1.00', '', '', '1.00', '', '', '']];
  for (const e of roles) {
    const run = e.runs[0]!;
    const desc = run.describe ?? {};
    const partOne = (run.raw.debiasing as Record<string, unknown> | undefined)?.deconfound === false ? 'linear head' : 'confounder head';
    const what =
      `weighting ${typeof desc.weighting === 'string' ? desc.weighting : '?'}: dual branch ${desc.dualBranch ? 'on' : 'off'}, ` +
      `${partOne}, balancing ${run.usesBalancing ? 'on' : 'off'}`;
    const target = e.role ? DEBIASED_TARGETS[e.role] : undefined;
    const med = median(e.ratios);
    rows.push([
      e.role ? ROLE_LABEL[e.role] : 'debiased',
      JSON.stringify(run.raw),
      what,
      run.params,
      ms(e.runs),
      perRun(e.ratios),
      x(med),
      spread(e.ratios),
      perRun(e.cpuRatios),
      x(median(e.cpuRatios)),
      target === undefined ? '-' : `<= ${target}x`,
      target === undefined ? '' : med <= target ? 'yes' : '**no**',
    ]);
  }
  return rows;
}

/** A role's median ratio, spread and CPU-time ratio against its target, in words. */
function verdict(e: RoleRuns): string {
  const med = median(e.ratios);
  const cpu = median(e.cpuRatios);
  const target = DEBIASED_TARGETS[e.role!];
  return (
    `**${x(med)}** a baseline step (median of ${e.ratios.length} run${e.ratios.length === 1 ? '' : 's'}${e.ratios.length > 1 ? `, spread ${spread(e.ratios)}` : ''}` +
    `${Number.isFinite(cpu) ? `; in CPU time ${x(cpu)}` : ''}; target <= ${target}x: ${med <= target ? 'met' : '**not met**'})`
  );
}

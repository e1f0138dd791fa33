/**
 * Pattern-outcome balancing's trade-off on a cohort family (docs/pattern-balancing.md).
 * Balancing (METHOD.md Part 1, on in every debiased run) trains as if the missingness
 * pattern told nothing of the label. That protects a hospital whose ordering habits the
 * training sites do not share, and costs accuracy where every hospital orders tests the
 * same way; the data cannot tell the two apart, so the run must say so
 * (PATTERN_SIGNAL_NOTE_AUROC). This runs the plain baseline, the default and the default
 * with balancing off on `fedcausal synth` cohorts of both kinds, and checks that every
 * run where the default falls more than COST_TOLERANCE below the baseline carried the note.
 *
 *   node --import tsx eval/pattern-family.ts [--seeds 1,2,3] [--out docs/pattern-balancing.md]
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { runSimulation } from '../cli/simulate.ts';
import { silentLogger } from '../shared/logger.ts';
import { PATTERN_SIGNAL_NOTE_AUROC } from '../shared/model/variants/debiased/config.ts';
import { markdownTable } from '../shared/report/table.ts';
import { compileSynthOptions } from '../shared/synth/options.ts';
import { writeCohort } from '../shared/synth/write.ts';
import { simOptions } from './jobs.ts';

/** A cost of more than this (AUROC, debiased minus baseline) must not pass in silence. */
const COST_TOLERANCE = 0.01;
const ROWS = '600';

interface Cohort {
  label: string;
  /** shared: every hospital, the held-out one included, orders tests this way; habit: the training sites only. */
  kind: 'shared' | 'habit';
  knobs: Record<string, string>;
}

const noReading = { 'spurious-strength': '0' };
const COHORTS: Cohort[] = [
  ...['0.3', '0.6', '0.9', '1.2'].map((b): Cohort => ({ label: `imaging ordered on the outcome at every site, bias ${b}`, kind: 'shared', knobs: { ...noReading, 'missing-bias': b, 'missing-held-out': 'true' } })),
  ...['1', '2', '3'].map((l): Cohort => ({ label: `labs ordered on severity at every site, slope ${l}`, kind: 'shared', knobs: { ...noReading, 'missing-bias': '0', 'labs-severity': l } })),
  ...['0.3', '0.6', '1.2'].map((b): Cohort => ({ label: `imaging ordered on the outcome at the training sites only, bias ${b}`, kind: 'habit', knobs: { ...noReading, 'missing-bias': b } })),
];

const MODELS = [
  { id: 'baseline', model: 'baseline', settings: {} },
  { id: 'default', model: 'debiased', settings: {} },
  { id: 'no-balancing', model: 'debiased', settings: { debiasing: { balancing: false } } },
] as const;

interface Row {
  cohort: string;
  kind: Cohort['kind'];
  seed: number;
  pattern: number;
  noted: boolean;
  /** Mean AUROC over the training sites' held-out rows, and the held-out site's, per model. */
  auroc: Record<string, { inDist: number; heldOut: number }>;
}

async function runOne(c: Cohort, seed: number): Promise<Row> {
  const dir = mkdtempSync(join(tmpdir(), 'fedcausal-pattern-'));
  try {
    const options = compileSynthOptions({ ...c.knobs, rows: ROWS, seed: String(seed) });
    await writeCohort(dir, options);
    const train = ['site1', 'site2', 'site3'];
    const row: Row = { cohort: c.label, kind: c.kind, seed, pattern: NaN, noted: false, auroc: {} };
    for (const m of MODELS) {
      const o = simOptions({
        schema: join(dir, 'schema.json'),
        sites: train.map((name) => ({ name, path: join(dir, `${name}.csv`) })),
        testSites: [{ name: 'site4', path: join(dir, 'site4.csv') }],
        model: m.model,
        rounds: 20,
        seed,
        modelSettings: m.settings,
      });
      const { results } = await runSimulation(o, silentLogger);
      const inDist = train.map((s) => results.sites[s]!.auroc);
      row.auroc[m.id] = { inDist: inDist.reduce((a, b) => a + b, 0) / inDist.length, heldOut: results.testSites.site4!.auroc };
      if (m.id === 'default') {
        const p = results.debiasing!.pattern!;
        row.pattern = p.auroc;
        row.noted = p.note !== undefined;
      }
    }
    return row;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The default's cost against the baseline where it matters: in distribution, and at a held-out site that shares the practice. */
function cost(r: Row): number {
  const d = r.auroc.default!;
  const b = r.auroc.baseline!;
  return Math.min(d.inDist - b.inDist, r.kind === 'shared' ? d.heldOut - b.heldOut : 0);
}

const f3 = (x: number) => (x >= 0 ? '+' : '') + x.toFixed(3);
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

function render(rows: Row[], seeds: number[]): string {
  const table = COHORTS.map((c) => {
    const rs = rows.filter((r) => r.cohort === c.label);
    const diff = (id: string, k: 'inDist' | 'heldOut') => f3(mean(rs.map((r) => r.auroc[id]![k] - r.auroc.baseline![k])));
    return [c.label, c.kind, mean(rs.map((r) => r.pattern)).toFixed(3), `${rs.filter((r) => r.noted).length} of ${rs.length}`,
      mean(rs.map((r) => r.auroc.baseline!.inDist)).toFixed(3), diff('default', 'inDist'), diff('default', 'heldOut'), diff('no-balancing', 'inDist'), diff('no-balancing', 'heldOut')];
  });
  const costly = rows.filter((r) => cost(r) < -COST_TOLERANCE);
  const silent = costly.filter((r) => !r.noted);
  const lowest = costly.length ? Math.min(...costly.map((r) => r.pattern)).toFixed(3) : '-';
  return [
    '# Pattern-outcome balancing: what it costs and what it buys',
    '',
    `Generated by \`node --import tsx eval/pattern-family.ts --seeds ${seeds.join(',')}\` on ${new Date().toISOString()}. Each cohort is \`fedcausal synth --rows ${ROWS}\` (4 sites; site4 held out, scored whole; no planted reading: \`--spurious-strength 0\`) with the knobs its label names; \`simulate\`, 20 rounds, FedAvg; the same rows for the three models. AUROC differences are against the plain baseline, mean over seeds; "in distribution" is the mean over the training sites' held-out rows.`,
    '',
    'A *shared* practice orders tests the same way at the held-out site (`--missing-held-out true`, or labs ordered on severity, which synth does at every site); a *habit* is the training sites\' own (`--missing-held-out false`, the default). From the training rows the two look alike: only the held-out column tells them apart.',
    '',
    markdownTable(
      ['cohort', 'kind', 'pattern AUROC', 'noted', 'baseline, in distribution', 'default - baseline, in distribution', 'default - baseline, held out', 'balancing off - baseline, in distribution', 'balancing off - baseline, held out'],
      table,
    ),
    '',
    `**Check**: every run where the default is more than ${COST_TOLERANCE} AUROC below the baseline (in distribution, or at a held-out site that shares the practice) carries the pattern note (a warning at start, PATTERN_SIGNAL_NOTE_AUROC = ${PATTERN_SIGNAL_NOTE_AUROC}): ${costly.length} such runs of ${rows.length}, lowest pattern AUROC among them ${lowest}; without the note: ${silent.length}${silent.length ? ` (${silent.map((r) => `${r.cohort} seed ${r.seed}, pattern ${r.pattern.toFixed(3)}`).join('; ')})` : ''}: **${silent.length ? 'missed' : 'met'}**.`,
    '',
  ].join('\n');
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { seeds: { type: 'string', default: '1,2,3' }, out: { type: 'string', default: 'docs/pattern-balancing.md' }, help: { type: 'boolean' } } });
  if (values.help) {
    console.log('usage: node --import tsx eval/pattern-family.ts [--seeds 1,2,3] [--out docs/pattern-balancing.md]\n\nRuns the pattern-balancing cohort family (10 synth cohorts x each seed x 3 models: baseline, default,\nbalancing off; about 5 minutes for 3 seeds on 2 cores) and writes the table and its check to --out\n(and the runs beside it as .json). The default --out is the committed docs/pattern-balancing.md: give\nanother path to keep it.');
    return;
  }
  const seeds = values.seeds.split(',').map(Number);
  if (seeds.some((s) => !Number.isInteger(s) || s < 0)) throw new Error(`--seeds: expected comma-separated integers, got ${JSON.stringify(values.seeds)}`);
  const rows: Row[] = [];
  for (const c of COHORTS)
    for (const seed of seeds) {
      const r = await runOne(c, seed);
      rows.push(r);
      console.error(`${c.label}, seed ${seed}: pattern ${r.pattern.toFixed(3)}${r.noted ? ' (noted)' : ''}, default - baseline ${f3(cost(r))}`);
    }
  writeFileSync(values.out, render(rows, seeds));
  writeFileSync(values.out.replace(/\.md$/, '.json'), JSON.stringify({ seeds, rows }, null, 2) + '\n');
  console.error(`wrote ${values.out}`);
}

await main();

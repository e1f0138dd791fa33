/** Researcher-data probes: synthetic cohorts, plain vs --secure-aggregation (run: node --import tsx tests/probes/researcher.ts CASE). */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runSimulation } from '../../cli/simulate.ts';
import { simOptions } from '../../eval/jobs.ts';
import { silentLogger } from '../../shared/logger.ts';

let seed = 7;
const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);

function cohortMixed(dir: string) {
  const schema = {
    columns: ['big', 'allmiss', 'ward', 'one', 'undecl', 'reading', 'y'],
    label: { column: 'y', threshold: 0 },
    modalities: { m1: ['big', 'allmiss'], m2: ['ward', 'one'], m3: ['reading'], m4: ['undecl'] },
    categorical: ['ward', 'one', 'undecl'],
    categories: { ward: ['A', 'B', 'C'], one: ['K'] },
    missingValues: ['', 'NA'],
  };
  writeFileSync(join(dir, 'schema.json'), JSON.stringify(schema));
  for (const [k, site] of ['s1', 's2', 's3', 's4'].entries()) {
    const lines = ['big,allmiss,ward,one,undecl,reading,y'];
    for (let i = 0; i < 90; i++) {
      const y = rnd() < 0.4 ? 1 : 0;
      const full = site === 's3'; // one pattern for every row
      const big = !full && rnd() < 0.2 ? '' : (1e12 + y * 3e10 + rnd() * 1e11).toFixed(0);
      const reading = !full && rnd() < 0.3 ? '' : (y * 1.5 + rnd()).toFixed(3);
      const undecl = !full && rnd() < 0.1 ? '' : ['x', 'yy', 'zz'][Math.floor(rnd() * 3)]! + (rnd() < 0.05 ? `rare${k}${i}` : '');
      lines.push(`${big},,${'ABC'[Math.floor(rnd() * 3)]},K,${undecl},${reading},${y}`);
    }
    writeFileSync(join(dir, `${site}.csv`), lines.join('\n') + '\n');
  }
}

function cohortModalities(dir: string, m: number) {
  const cols = Array.from({ length: m }, (_, j) => `f${j}`);
  writeFileSync(join(dir, 'schema.json'), JSON.stringify({ columns: [...cols, 'y'], label: { column: 'y', threshold: 0 }, modalities: Object.fromEntries(cols.map((c) => [`mod_${c}`, [c]])), missingValues: [''] }));
  for (const site of ['s1', 's2', 's3', 's4']) {
    const lines = [[...cols, 'y'].join(',')];
    for (let i = 0; i < 120; i++) {
      const y = rnd() < 0.5 ? 1 : 0;
      lines.push([...cols.map((_, j) => (j > 0 && rnd() < 0.15 ? '' : (y * (j === 0 ? 2 : 0.3) + rnd()).toFixed(3))), y].join(','));
    }
    writeFileSync(join(dir, `${site}.csv`), lines.join('\n') + '\n');
  }
}

async function sim(dir: string, secure: boolean, debiasing: Record<string, unknown>, testOnly = true) {
  const o = simOptions({
    schema: join(dir, 'schema.json'),
    sites: ['s1', 's2', 's3'].map((name) => ({ name, path: join(dir, `${name}.csv`) })),
    testSites: testOnly ? [{ name: 's4', path: join(dir, 's4.csv') }] : [],
    model: 'debiased',
    rounds: 2,
    seed: 1,
    modelSettings: { localEpochs: 1, debiasing },
    secureAggregation: secure,
  });
  const t0 = Date.now();
  try {
    const { results } = await runSimulation(o, silentLogger);
    return { ms: Date.now() - t0, results };
  } catch (e) {
    return { ms: Date.now() - t0, error: (e as Error).message };
  }
}

const which = process.argv[2] ?? 'mixed';
const dir = `/tmp/probe-attack/${which}`;
mkdirSync(dir, { recursive: true });
if (which === 'mixed') cohortMixed(dir);
else cohortModalities(dir, Number(which.replace('m', '')));
const debiasing = which === 'mixed' ? { suspect: ['reading'], weighting: 'outcome' } : { suspect: ['f0'], weighting: 'outcome' };
for (const secure of [false, true]) {
  const r = await sim(dir, secure, debiasing);
  if ('error' in r) {
    console.log(`${which} secure=${secure}: ERROR after ${r.ms} ms: ${r.error}`);
    continue;
  }
  const res = r.results;
  console.log(`${which} secure=${secure} ${r.ms} ms complete=${res.complete} problems=${JSON.stringify(res.problems ?? [])}`);
  console.log(`  prior(${res.prior.length}) ${JSON.stringify(res.prior.slice(0, 4))}`);
  const d = res.debiasing as { decision?: string; flagged?: { feature: string }[]; balance?: unknown } | undefined;
  console.log(`  debias ${d?.decision} flagged=${JSON.stringify(d?.flagged?.map((f) => f.feature))} balance=${JSON.stringify(d?.balance).slice(0, 300)}`);
  console.log(`  sites ${JSON.stringify(Object.fromEntries(Object.entries(res.sites).map(([s, e]) => [s, e.auroc?.toFixed(4)])))} test ${JSON.stringify(Object.fromEntries(Object.entries(res.testSites).map(([s, e]) => [s, e.auroc?.toFixed(4)])))}`);
  console.log(`  calibration a=${res.calibration?.a} b=${res.calibration?.b} pooled=${JSON.stringify(res.pooledEvaluation)}`);
}

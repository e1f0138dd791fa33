/**
 * `npm run eval`: runs the sections of docs/results.md through the in-process
 * federation (in a pool of child processes), merges them into results.json, and
 * renders results.md and the synthetic plot from whatever results.json holds.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { InputError } from '../shared/errors.ts';
import { EVAL_HELP, parseEvalArgs, type EvalArgs } from './args.ts';
import type { EvalContext } from './context.ts';
import { renderDiscussion, type SectionsData } from './discussion.ts';
import { runFlamby } from './flamby.ts';
import { renderFlamby } from './flamby-render.ts';
import { renderHeartSites, runHeartSites } from './heart-sites.ts';
import { renderLoso, runLoso } from './loso.ts';
import { renderDocument, type RenderedSection } from './markdown.ts';
import { renderCalibration } from './calibration.ts';
import { renderFamily, runFamily } from './family.ts';
import { formatElapsed, SimulationPool } from './pool.ts';
import { evalSettings } from './settings.ts';
import { renderSynthetic, runSynthetic, syntheticSvg } from './synthetic.ts';
import { pickedSpec, renderTuning, runTuning } from './tuning.ts';

export const SVG_NAME = 'results-synthetic.svg';

export interface ResultsJson {
  generatedAt: string;
  command: string;
  sections: SectionsData;
}


/** The report from the stored sections (pure). */
export function renderReport(j: ResultsJson): { markdown: string; svg?: string } {
  const s = j.sections;
  const parts: RenderedSection[] = [];
  if (s.heartSites) parts.push({ id: '1', title: '1. Heart disease, four sites: per-site held-out metrics', settings: s.heartSites.settings, body: renderHeartSites(s.heartSites) + renderCalibration(s.heartSites.runs, s.heartSites.configs) });
  if (s.flamby) parts.push({ id: '2', title: "2. FLamby's Fed-Heart-Disease split", settings: s.flamby.settings, body: renderFlamby(s.flamby) });
  if (s.loso) parts.push({ id: '3', title: '3. Heart disease, leave one site out', settings: s.loso.settings, body: renderLoso(s.loso) + renderCalibration(s.loso.runs, s.loso.configs) });
  if (s.synthetic || s.tuning) {
    const body = [
      s.synthetic ? renderSynthetic(s.synthetic, SVG_NAME) : '',
      s.tuning ? `### Settings tried on separate tuning seeds\n\n${renderTuning(s.tuning)}` : '',
    ].join('\n');
    parts.push({ id: '4', title: '4. Synthetic cohorts: ablation, oracle and sweep', settings: s.synthetic?.settings ?? s.tuning!.settings, body });
  }
  if (parts.length) parts.push({ id: '5', title: '5. Discussion', body: renderDiscussion(s) });
  if (s.family) parts.push({ id: '6', title: '6. The debiasing default across a cohort family and data sizes', settings: s.family.settings, body: renderFamily(s.family) });
  return { markdown: renderDocument(parts, j.generatedAt, j.command), svg: s.synthetic ? syntheticSvg(s.synthetic) : undefined };
}

function loadExisting(path: string): ResultsJson | undefined {
  if (!existsSync(path)) return undefined;
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as ResultsJson;
  } catch (e) {
    throw new Error(`${path}: cannot merge into it, it is not valid JSON (${(e as Error).message}); move it away or run every section`);
  }
}

/** NaN and Infinity are not JSON: stored as null, read back as "-" in tables. */
function toJson(v: unknown): string {
  return JSON.stringify(v, (_k, x: unknown) => (typeof x === 'number' && !Number.isFinite(x) ? null : x), 2) + '\n';
}

function writeReport(outDir: string, jsonPath: string): void {
  // Rendered from the JSON as stored, so a later --render from the file alone gives the same report.
  const report = renderReport(JSON.parse(readFileSync(jsonPath, 'utf8')) as ResultsJson);
  writeFileSync(join(outDir, 'results.md'), report.markdown);
  if (report.svg) writeFileSync(join(outDir, SVG_NAME), report.svg);
  console.log(`eval: wrote ${join(outDir, 'results.md')}${report.svg ? ` and ${SVG_NAME}` : ''} from ${jsonPath}`);
}

async function evaluate(a: EvalArgs): Promise<void> {
  const settings = evalSettings(a.quick);
  const jsonPath = join(a.outDir, 'results.json');
  const previous = a.sections.length < 5 ? loadExisting(jsonPath) : undefined;
  const tmpRoot = mkdtempSync(join(tmpdir(), 'fedcausal-eval-'));
  const pool = new SimulationPool({ size: a.jobs });
  const cleanup = () => rmSync(tmpRoot, { recursive: true, force: true });
  const onSignal = () => {
    cleanup();
    process.exit(130);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const ctx = (name: string, extra: Partial<EvalContext> = {}): EvalContext => {
    const dir = join(tmpRoot, name);
    mkdirSync(dir, { recursive: true });
    return { settings, runner: pool, tmp: dir, heartDir: a.heartDir, ...extra };
  };
  const partial = (key: keyof SectionsData): Partial<EvalContext> => {
    if (!a.onlyConfigs) return {};
    const stored = previous?.sections[key];
    if (!stored) throw new InputError(`--only-configs keeps the other runs of ${key} from ${jsonPath}, which holds none`);
    return { only: { ids: new Set(a.onlyConfigs), stored } };
  };
  const started = new Date();
  console.log(
    `eval: sections ${a.sections.join(',')}${a.quick ? ' (quick)' : ''}, ${settings.rounds} rounds x ${settings.localEpochs} local epochs, ` +
      `seeds ${settings.seeds.join(',')}, ${a.jobs} at once; report in ${a.outDir}`,
  );
  const fresh: SectionsData = {};
  try {
    // Every section queues its runs at once; the pool keeps the cores busy across sections.
    const tasks: Promise<void>[] = [];
    const want = (n: number) => a.sections.includes(n);
    const section = <K extends keyof SectionsData>(key: K, name: string, run: () => Promise<SectionsData[K]>) =>
      tasks.push(
        run().then((data) => {
          fresh[key] = data;
          console.log(`eval: ${name} done (elapsed ${formatElapsed(pool.elapsed())})`);
        }),
      );
    if (want(1)) section('heartSites', 'section 1 (heart, four sites)', () => runHeartSites(ctx('s1', partial('heartSites'))));
    if (want(2)) section('flamby', 'section 2 (FLamby split)', () => runFlamby(ctx('s2', partial('flamby'))));
    if (want(6)) section('family', 'section 6 (cohort family and data size)', () => runFamily(ctx('s6')));
    // Sections 3 and 4 report the setting the tuning picks beside the shipped default: the tuning
    // (its own seeds) runs first, sections 1 and 2 keep the pool busy meanwhile.
    if (want(3) || want(4)) {
      const tuning = runTuning(ctx('tuning')).then((t) => {
        fresh.tuning = t;
        console.log(`eval: tuning done, picked ${t.picked ?? 'nothing'} (elapsed ${formatElapsed(pool.elapsed())})`);
        return pickedSpec(t);
      });
      tasks.push(tuning.then(() => undefined));
      if (want(3)) section('loso', 'section 3 (leave one site out)', async () => runLoso(ctx('s3', { candidate: await tuning })));
      if (want(4)) section('synthetic', 'section 4 (synthetic)', async () => runSynthetic(ctx('s4', { candidate: await tuning })));
    }
    const settled = await Promise.allSettled(tasks);
    const failed = settled.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    for (const f of failed) console.error(`eval: a section failed: ${(f.reason as Error).message}`);
    const merged: ResultsJson = {
      generatedAt: started.toISOString(),
      command: `npm run eval${process.argv.length > 2 ? ' -- ' + process.argv.slice(2).join(' ') : ''}`,
      sections: { ...(previous?.sections ?? {}), ...fresh },
    };
    if (Object.keys(fresh).length === 0 && !want(5)) throw new Error('no section finished; nothing written');
    mkdirSync(a.outDir, { recursive: true });
    writeFileSync(jsonPath, toJson(merged));
    writeReport(a.outDir, jsonPath);
    console.log(`eval: done (elapsed ${formatElapsed(pool.elapsed())})`);
    if (failed.length) process.exitCode = 1;
  } finally {
    await pool.close();
    cleanup();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

async function main(argv: string[]): Promise<number> {
  try {
    const a = parseEvalArgs(argv);
    if (a === 'help') {
      process.stdout.write(EVAL_HELP);
      return 0;
    }
    if (a.render) {
      const jsonPath = join(a.outDir, 'results.json');
      if (!existsSync(jsonPath)) throw new InputError(`--render: ${jsonPath} does not exist; run the evaluation first`);
      writeReport(a.outDir, jsonPath);
    } else await evaluate(a);
    return process.exitCode === 1 ? 1 : 0;
  } catch (e) {
    console.error(`eval: ${(e as Error).message}`);
    return e instanceof InputError ? 2 : 1;
  }
}

// Only when run as the entry point, so tests can import renderReport.
if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.exitCode = await main(process.argv.slice(2));
}

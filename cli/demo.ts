import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { prepareOutputDir } from '../shared/output-path.ts';
import { dirname, join, resolve } from 'node:path';
import YAML from 'yaml';
import { z } from 'zod';
import { InputError } from '../shared/errors.ts';
import { residualWarnings, unjudgedWarning, type DebiasingReport } from '../shared/federation/debiasing-report.ts';
import { figure } from '../shared/federation/final-evaluation.ts';
import { formatTable } from '../shared/report/table.ts';
import { choiceFlag, numberFlag } from '../shared/config/fields.ts';
import { MODEL_KINDS } from '../shared/model/factory.ts';
import { DEFAULT_MODEL_DIR } from '../shared/model/bundle.ts';
import { provisionFederation } from './provision.ts';
import type { ResultsFile } from './results.ts';
import { freePorts } from '../shared/net/free-port.ts';
import { PACKAGE_ROOT } from '../shared/package-root.ts';
import { HTTP_TOKEN_FILE } from '../shared/net/http-token.ts';

const REPO = PACKAGE_ROOT;
const BIN = join(REPO, 'bin', 'fedcausal.js');
const SITES = [
  { name: 'cleveland', file: 'processed.cleveland.data' },
  { name: 'hungary', file: 'processed.hungarian.data' },
  { name: 'switzerland', file: 'processed.switzerland.data' },
  { name: 'va', file: 'processed.va.data' },
];

export const DEMO_HELP = `usage: fedcausal demo [--rounds R] [--model debiased|baseline|logreg] [--run-dir DIR]
       fedcausal demo --cohort synthetic [--rounds R] [--run-dir DIR]

Provisions a four-hospital federation over the UCI Heart Disease data
(../shared/data/heart-disease, or FEDCAUSAL_HEART_DATA), starts a coordinator and four
site agents as separate processes on loopback, shows round-by-round progress, and ends
with per-site held-out AUROC and accuracy of the federated model next to each site
training alone, and (for the default, debiased) what the debiasing decided and why, with
its health figures. Writes results.json, metrics.svg and every process's log under the run
folder (default runs/demo-<time>).

--cohort synthetic shows what debiasing is for, in about a minute: a synthetic cohort with a
planted shortcut (fedcausal synth) is trained twice in one process, baseline and debiased,
and the held-out site, where the shortcut is reversed, is scored side by side (default 10 rounds).
`;


function heartDataDir(): string {
  const dir = process.env.FEDCAUSAL_HEART_DATA ?? resolve(REPO, '..', 'shared', 'data', 'heart-disease');
  if (!existsSync(join(dir, 'schema.json')))
    throw new InputError(`heart-disease data not found in ${dir} (set FEDCAUSAL_HEART_DATA to the folder holding schema.json)`);
  return dir;
}

function spawnRole(args: string[], logFile: string): ChildProcess {
  const log = createWriteStream(logFile);
  const child = spawn(process.execPath, [BIN, ...args], {
    env: { ...process.env, FEDCAUSAL_LOG: 'json' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout.pipe(log);
  child.stderr.pipe(log);
  return child;
}

/** The fields of the coordinator's JSON log lines that the demo prints. */
interface LogLine {
  level?: string;
  message?: string;
  state?: string;
  site?: string;
  /** The configuration setting a warning is about. */
  setting?: string;
  round?: number;
  participants?: number;
  failures?: number;
  train_loss?: number;
  eval_auroc?: number;
}

function exited(c: ChildProcess): Promise<number> {
  return new Promise((r) => (c.exitCode !== null ? r(c.exitCode) : c.once('exit', (code) => r(code ?? 1))));
}

/** The debiasing decision in words, and how the last round's health figures read. */
export function debiasingLines(d: DebiasingReport): string {
  const f = (v: number | null | undefined) => figure(v, 2);
  const on = d.decision === 'on';
  const flagged = d.flagged;
  const warn = (w: string) => `  warning: ${w}`;
  const head = on
    ? `on (${d.weighting}), flagged ${flagged.map((x) => `${x.feature} [${x.source}]`).join(', ')}`
    : flagged.length
      ? `off by configuration (mode ${d.mode}; auto would flag ${flagged.map((x) => x.feature).join(', ')}), ${d.weighting}`
      : `nothing flagged, ${d.weighting}`;
  const lines = [
    `\ndebiasing: ${head}`,
    `  why: ${d.reason}`,
    // Balancing's trade-off, which only the user can judge (model-hooks.ts patternSignal): said where the run ends, not only in the log.
    ...(d.pattern?.note ? [`  warning: ${d.pattern.note}`] : []),
    ...[unjudgedWarning(d)].filter((w) => w !== undefined).map(warn),
    ...residualWarnings(d).map(warn),
  ];
  const last = d.health?.at(-1);
  // Pattern balancing weights the rows even with nothing flagged: its figures are said too (an outside try found them only in results.json).
  if (last && !(on && flagged.length))
    lines.push(`  health at round ${last.round}: weight on up-weighted rows ${f(last.conflictingShare)}, effective sample size ${f(last.effectiveSampleSize)} of the training rows`);
  if (last && on && flagged.length) {
    const per = flagged.map((x) => {
      // A categorical flagged by its values grouped: the figure reads its strongest single value, which tells less than the group.
      const what = x.columnLabelCorr !== undefined ? 'its strongest single value' : 'it';
      const association = f(last.weightedAssociation[x.feature]);
      // Under drop the model never sees the reading: its figures describe the rows, and the score can follow it only through other features.
      return d.weighting === 'drop'
        ? `${x.feature}: dropped from the model's inputs (in the training rows ${what} tells the label at AUROC ${association}; the score's within-class correlation with it is ${f(last.reliance[x.feature])}, through other features only)`
        : `${x.feature}: weighted association ${association}${what === 'it' ? '' : ` (${what})`}, model reliance ${f(last.reliance[x.feature])}`;
    });
    lines.push(`  health at round ${last.round}: ${per.join('; ')}; effective sample size ${f(last.effectiveSampleSize)} of the training rows`);
    const tempered = (d.health ?? []).filter((h) => h.tempered).map((h) => h.round);
    if (tempered.length) lines.push(`  weights tempered after round(s) ${tempered.join(', ')}: a flagged reading was reversed in the weighted rows`);
  }
  return lines.join('\n') + '\n';
}

/** Where each hospital's copy of the model went, and how to score with one. */
function modelLines(siteKits: readonly { name: string; dir: string }[]): string {
  const saved = siteKits.flatMap((s) => {
    const dir = join(s.dir, DEFAULT_MODEL_DIR);
    return existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.model.json')).map((f) => join(dir, f)) : [];
  });
  if (!saved.length) return '';
  return `models:  ${saved.length} saved, one in each hospital's kit (${join(siteKits[0]!.dir, DEFAULT_MODEL_DIR)}, ...)
` +
    `score rows with one: npx fedcausal predict --model ${saved[0]} --data FILE.csv
`;
}

/** The flags of `fedcausal demo`. */
export const DEMO_FLAGS = {
  rounds: numberFlag({ min: 1, max: 1000, int: true }).optional(),
  cohort: choiceFlag(['heart', 'synthetic']).default('heart'),
  model: choiceFlag(MODEL_KINDS).default('debiased'),
  'run-dir': z.string().optional(),
};

/** Rounds when --rounds is not given: the heart-disease federation, the synthetic comparison (two runs). */
const DEFAULT_ROUNDS = { heart: 20, synthetic: 10 };

export async function runDemo(o: { rounds?: number; model: string; runDir?: string; cohort?: 'heart' | 'synthetic' }, out: (s: string) => void): Promise<number> {
  const cohort = o.cohort ?? 'heart';
  const rounds = o.rounds ?? DEFAULT_ROUNDS[cohort];
  const { model } = o;
  const runDir = resolve(o.runDir ?? join(REPO, 'runs', `demo-${new Date().toISOString().replace(/[:.]/g, '-')}`));
  if (cohort === 'synthetic') {
    prepareOutputDir(runDir, '--run-dir');
    return (await import('./demo-synthetic.ts')).runSyntheticDemo({ rounds, runDir }, out, debiasingLines);
  }
  const data = heartDataDir();
  prepareOutputDir(runDir, '--run-dir');
  const { kits, coordYaml, httpPort } = await provisionDemo(data, runDir, rounds, model);
  out(`fedcausal demo: ${SITES.length} hospitals, ${rounds} rounds of ${model} (FedAvg), separate processes on loopback\n`);
  // The dashboard answers only with the coordinator kit's token; the page takes it from the address.
  const token = readFileSync(join(kits.coordinatorKit, HTTP_TOKEN_FILE), 'utf8').trim();
  out(`  run folder: ${runDir}\n  dashboard:  http://127.0.0.1:${httpPort}/#token=${token} (while the demo runs)\n\n`);
  const children: ChildProcess[] = [];
  const killAll = () => children.forEach((c) => c.exitCode === null && c.kill('SIGTERM'));
  // Ctrl-C or a kill ends the children too: no process outlives the demo.
  for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, killAll);
  process.once('exit', killAll);
  try {
    const coord = spawnRole(['coordinator', 'start', '--config', coordYaml], join(runDir, 'coordinator.log'));
    children.push(coord);
    const coordinator = followCoordinator(coord, rounds, out);
    for (const s of kits.siteKits)
      children.push(spawnRole(['site', 'start', '--config', join(s.dir, 'site.yaml')], join(runDir, `site-${s.name}.log`)));
    const codes = await Promise.all(children.map(exited));
    const resultsPath = coordinator.resultsPath();
    if (codes[0] !== 0 || !resultsPath) {
      out(`\ncoordinator failed (exit ${codes[0]}); see ${join(runDir, 'coordinator.log')}\n`);
      return 1;
    }
    const bad = codes.slice(1).map((c, i) => [SITES[i]!.name, c] as const).filter(([, c]) => c !== 0);
    if (bad.length) out(`\nwarning: site agents exited with errors: ${bad.map(([n, c]) => `${n} (${c})`).join(', ')}; see their logs\n`);
    const results = JSON.parse(readFileSync(resultsPath, 'utf8')) as ResultsFile;
    const rows = SITES.map(({ name }) => {
      const f = results.sites[name];
      const l = results.localSites?.[name];
      return [name, f?.n ?? 0, f?.auroc ?? NaN, f?.accuracy ?? NaN, l?.auroc ?? NaN, l?.accuracy ?? NaN];
    });
    out(`\nper-site held-out results (federated ${model} vs the same model trained on the site alone):\n`);
    out(formatTable(['site', 'test rows', 'federated AUROC', 'federated acc', 'alone AUROC', 'alone acc'], rows) + '\n');
    const d = results.debiasing;
    if (d) out(debiasingLines(d));
    out(`\nresults: ${resultsPath}\nplot:    ${join(dirname(resultsPath), 'metrics.svg')}\nlogs:    ${runDir}/*.log\n`);
    out(modelLines(kits.siteKits));
    return bad.length ? 1 : 0;
  } finally {
    killAll();
    for (const ev of ['SIGINT', 'SIGTERM', 'exit'] as const) process.removeListener(ev, killAll);
  }
}

/** The demo's federation provisioned into `runDir`: the heart-disease hospitals, a coordinator that also trains each site alone and does not linger. */
async function provisionDemo(data: string, runDir: string, rounds: number, model: string): Promise<{ kits: Awaited<ReturnType<typeof provisionFederation>>; coordYaml: string; httpPort: number }> {
  const [grpcPort, httpPort] = (await freePorts(2)) as [number, number];
  const fedFile = join(runDir, 'federation.yaml');
  writeFileSync(
    fedFile,
    YAML.stringify({
      name: 'heart-demo',
      coordinator: { host: '127.0.0.1', grpcPort, httpPort },
      rounds,
      model,
      seed: 1,
      schema: join(data, 'schema.json'),
      roundDeadlineSeconds: 300,
      sites: SITES.map((s) => ({ name: s.name, data: join(data, s.file) })),
    }),
  );
  const kits = await provisionFederation(fedFile, join(runDir, 'kits'));
  // The demo also trains each site alone, for the comparison table.
  const coordYaml = join(kits.coordinatorKit, 'coordinator.yaml');
  const cfg = YAML.parse(readFileSync(coordYaml, 'utf8')) as Record<string, unknown>;
  // No linger after the end (provision's is for a deployment's dashboard and Prometheus): the demo ends with its run.
  writeFileSync(coordYaml, YAML.stringify({ ...cfg, localBaseline: true, runDir, listen: { ...(cfg.listen as object), httpLingerSeconds: 0 } }));
  return { kits, coordYaml, httpPort };
}

/** The coordinator's progress, a line per round, from its log; and the results path it prints at the end. */
function followCoordinator(coord: ChildProcess, rounds: number, out: (s: string) => void): { resultsPath(): string | undefined } {
  let resultsPath: string | undefined;
  let lineBuf = '';
  coord.stdout!.on('data', (b: Buffer) => {
    const m = /results: (.*)/.exec(b.toString());
    if (m) resultsPath = m[1]!.trim();
  });
  coord.stderr!.on('data', (b: Buffer) => {
    lineBuf += b.toString();
    const lines = lineBuf.split('\n');
    lineBuf = lines.pop()!;
    for (const l of lines) {
      let e: LogLine;
      try {
        e = JSON.parse(l) as LogLine;
      } catch {
        continue;
      }
      const said = progressLine(e, rounds);
      if (said) out(said);
    }
  });
  return { resultsPath: () => resultsPath };
}

/** What the demo prints of one coordinator log line, if anything. */
function progressLine(e: LogLine, rounds: number): string | undefined {
  if (e.message === 'round committed') {
    const auc = Number(e.eval_auroc);
    return `  round ${String(e.round).padStart(3)}/${rounds}  sites ${e.participants}  train loss ${Number(e.train_loss).toFixed(4)}  held-out AUROC (global model so far) ${Number.isFinite(auc) ? auc.toFixed(3) : '-'}${Number(e.failures) ? `  failures ${e.failures}` : ''}\n`;
  }
  if (e.message === 'federation state' && (e.state === 'stats' || e.state === 'evaluating'))
    return `  ${e.state === 'stats' ? 'agreeing feature scaling and the pattern prior (sums only)' : 'final evaluation, and each site training alone for comparison'}...\n`;
  // The demo sets no linger on purpose (above): the coordinator's start-up warning about it is not news here.
  if (e.level === 'error' || (e.level === 'warn' && e.message !== 'federation state' && e.setting !== 'listen.httpLingerSeconds')) return `  [coordinator] ${e.message}${e.site ? ` (${e.site})` : ''}\n`;
  return undefined;
}

/**
 * `npm run reliability`: starts real federations (separate coordinator and site
 * processes on loopback), injects each fault of issue 12 into them, and writes
 * docs/reliability.md (the report) and docs/reliability.json (the raw rows), together
 * with the coordinator's peak memory and round time at 4, 16, 32 and 50 sites.
 *
 *   npm run reliability -- [--only ID[,ID...]] [--quick] [--list] [--no-scale] [--scale-sites 4,16] [--render]
 *
 * --only takes ids or id prefixes ("site-kill", "scale"); --quick runs the scenarios
 * marked quick and the two smallest scales. A partial run (--only, --quick) replaces
 * its rows in docs/reliability.json and keeps the others, each row dated, so the
 * report is always whole. --render only rewrites the .md from the .json.
 */
import { readFileSync, existsSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { REPO } from '../../tests/e2e/helpers/federation.ts';
import { commitId, execute } from './execute.ts';
import { loadScenarios, select } from './registry.ts';
import { renderReport, type ReliabilityReport } from './report.ts';
import { measureScale, SCALE_SITES, type ScalePoint } from './scale.ts';

const { values } = parseArgs({
  options: {
    only: { type: 'string' },
    quick: { type: 'boolean', default: false },
    list: { type: 'boolean', default: false },
    'no-scale': { type: 'boolean', default: false },
    'scale-sites': { type: 'string' },
    render: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (values.help) {
  console.log(`usage: npm run reliability -- [--only ID[,ID...]] [--quick] [--list] [--no-scale] [--scale-sites 4,16] [--render]

Injects each fault into real federations (coordinator and site processes on loopback) and
writes docs/reliability.md and docs/reliability.json. A full run takes about 30 min on 2 cores.
  --only IDS         scenario ids or id prefixes (site-kill, scale); their rows replace the old ones
  --quick            the scenarios marked quick and the two smallest scales
  --list             list the scenarios and exit
  --no-scale         skip the scale measurements (coordinator memory and round time by site count)
  --scale-sites N,M  the site counts of the scale measurements
  --render           only rewrite the .md from the .json`);
  process.exit(0);
}
const started = Date.now();
const loadAtStart = os.loadavg()[0]!;
const say = (m: string) => console.log(`[reliability +${((Date.now() - started) / 1000).toFixed(0)}s] ${m}`);
const JSON_PATH = join(REPO, 'docs', 'reliability.json');
const MD_PATH = join(REPO, 'docs', 'reliability.md');

if (values.render) {
  writeFileSync(MD_PATH, renderReport(JSON.parse(readFileSync(JSON_PATH, 'utf8')) as ReliabilityReport));
  say(`rewrote ${MD_PATH} from ${JSON_PATH}`);
  process.exit(0);
}
const all = await loadScenarios();
if (values.list) {
  for (const s of all) console.log(`${s.id}${s.quick ? ' (quick)' : ''}\n    ${s.fault}`);
  process.exit(0);
}
const only = values.only?.split(',').map((s) => s.trim()).filter(Boolean);
const scenarios = select(all, only, values.quick);
const scaleSites = values['no-scale'] || (only && !only.some((o) => o.startsWith('scale')))
  ? []
  : values['scale-sites']
    ? values['scale-sites'].split(',').map(Number)
    : values.quick
      ? SCALE_SITES.slice(0, 2)
      : SCALE_SITES;
const commit = commitId(REPO);

const rows = await execute(scenarios, commit, say);
const scale: ScalePoint[] = [];
for (const n of scaleSites) {
  say(`scale: ${n} sites`);
  const p = await measureScale(n, commit, say);
  say(`  -> ${JSON.stringify(p)}`);
  scale.push(p);
}

// Rows of this run replace the stored ones; the others stay, so a partial run keeps the report whole.
const previous: ReliabilityReport | undefined = existsSync(JSON_PATH) ? (JSON.parse(readFileSync(JSON_PATH, 'utf8')) as ReliabilityReport) : undefined;
const ranIds = new Set(rows.map((r) => r.id));
const keptRows = (previous?.scenarios ?? []).filter((r) => !ranIds.has(r.id) && all.some((s) => s.id === r.id));
const order = new Map(all.map((s, i) => [s.id, i]));
const ranSites = new Set(scale.map((p) => p.sites));
const whole = !only && !values.quick && !values['no-scale'] && !values['scale-sites'];
const report: ReliabilityReport = {
  generatedAt: new Date().toISOString(),
  commit,
  machine: { node: process.version, cpus: os.cpus().length, memoryGiB: Math.round(os.totalmem() / 2 ** 30), loadAverage: [loadAtStart, os.loadavg()[0]!] },
  ...(whole ? { fullRunSeconds: (Date.now() - started) / 1000 } : previous?.fullRunSeconds ? { fullRunSeconds: previous.fullRunSeconds } : {}),
  scenarios: [...keptRows, ...rows].sort((a, b) => order.get(a.id)! - order.get(b.id)!),
  scale: [...(previous?.scale ?? []).filter((p) => !ranSites.has(p.sites)), ...scale].sort((a, b) => a.sites - b.sites),
};
writeFileSync(JSON_PATH, JSON.stringify(report, null, 2) + '\n');
writeFileSync(MD_PATH, renderReport(report));
const counts = (v: string) => report.scenarios.filter((r) => r.verdict === v).length;
say(`wrote ${MD_PATH}: ${counts('as expected')} as expected, ${counts('differs')} differ, ${counts('error')} not measured; this run took ${((Date.now() - started) / 60000).toFixed(1)} min`);

// `fedcausal site check` as a hospital's IT person runs it (a child process) from a
// provisioned kit: the verdict table and exit codes for a ready site, a site with
// warnings, a not-ready site (cholesterol in mmol/L), a summary fetched from the
// coordinator's /api/summary, and bad input.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startHttpServer } from '../../coordinator/http/server.ts';
import { CoordinatorMetrics, metricsSourceFromStatus } from '../../coordinator/metrics/coordinator-metrics.ts';
import type { FederationStatus } from '../../shared/federation/status.ts';
import { provisionFederation } from '../../cli/provision.ts';
import { describeRun, runCli } from '../e2e/helpers/cli.ts';
import { editedCsv, HEART, HEART_SITES, heartSums, summaryOf } from '../shared/readiness/heart.ts';

let dir: string;
let summaryFile: string;
const summary = summaryOf(Object.values(heartSums()));
const kit = (site: string) => join(dir, 'kits', 'sites', site, 'site.yaml');

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'fedcausal-site-check-'));
  const sites = Object.entries(HEART_SITES).map(([name, file]) => `  - { name: ${name}, data: ${HEART}${file} }`);
  writeFileSync(
    join(dir, 'federation.yaml'),
    `name: heart\ncoordinator: { host: 127.0.0.1, grpcPort: 7443, httpPort: 8080 }\nrounds: 2\nmodel: debiased\nschema: ${HEART}schema.json\nsites:\n${sites.join('\n')}\n`,
  );
  await provisionFederation(join(dir, 'federation.yaml'), join(dir, 'kits'));
  summaryFile = join(dir, 'summary.json');
  writeFileSync(summaryFile, JSON.stringify(summary, null, 2));
});
after(() => rmSync(dir, { recursive: true, force: true }));

/** The reasons table: [severity, check, about] of each row under the dashed rule. */
function reasonRows(stdout: string): string[][] {
  const lines = stdout.split('\n');
  const rule = lines.findIndex((l) => /^-+(\s+-+)+$/.test(l));
  if (rule < 0) return [];
  return lines.slice(rule + 1).filter((l) => l.trim()).map((l) => l.trim().split(/\s{2,}/).slice(0, 3));
}

test('cleveland is ready: exit 0, no reasons', async () => {
  const r = await runCli(['site', 'check', '--config', kit('cleveland'), '--summary', summaryFile]);
  assert.equal(r.code, 0, describeRun(r));
  assert.match(r.stdout, /^site "cleveland" against federation "heart" \(summary: .*summary\.json; 920 rows, prior v1\)\nverdict: ready\nlargest shift: thalach 0\.467 SDs\n$/);
});

test('switzerland: ready with warnings, exit 0; 1 under --strict; --json carries the figures', async () => {
  const r = await runCli(['site', 'check', '--config', kit('switzerland'), '--summary', summaryFile]);
  assert.equal(r.code, 0, describeRun(r));
  assert.match(r.stdout, /\nverdict: ready-with-warnings\n/);
  assert.deepEqual(reasonRows(r.stdout), [
    ['note', 'suppressed-pattern', '1111001'],
    ['warning', 'shifted-mean', 'thalach'],
    ['warning', 'label-rate', '-'],
  ]);
  const strict = await runCli(['site', 'check', '--config', kit('switzerland'), '--summary', summaryFile, '--strict', '--json']);
  assert.equal(strict.code, 1, describeRun(strict));
  const doc = JSON.parse(strict.stdout) as { site: string; verdict: string; reasons: { kind: string; figures?: Record<string, number> }[] };
  assert.equal(doc.site, 'switzerland');
  assert.equal(doc.verdict, 'ready-with-warnings');
  assert.equal(doc.reasons.find((x) => x.kind === 'label-rate')!.figures!.siteRate, 115 / 123);
});

test('a site whose cholesterol is in mmol/L is not ready: exit 1, the reason names chol and the shift', async () => {
  const data = join(dir, 'mmol.csv');
  writeFileSync(data, editedCsv('cleveland', (row) => void (row.chol = (Number(row.chol) / 38.67).toFixed(2))));
  const config = join(dir, 'kits', 'sites', 'cleveland', 'mmol.yaml');
  writeFileSync(config, readFileSync(kit('cleveland'), 'utf8').replace(/^data: .*$/m, `data: ${data}`));
  const r = await runCli(['site', 'check', '--config', config, '--summary', summaryFile]);
  assert.equal(r.code, 1, describeRun(r));
  assert.match(r.stdout, /\nverdict: not-ready\n/);
  assert.deepEqual(reasonRows(r.stdout), [
    ['blocking', 'shifted-mean', 'chol'],
    ['blocking', 'sd-ratio', 'chol'],
  ]);
  assert.match(r.stdout, /chol: site mean 6\.\d+ vs federation 247 \(SD 58\.5\): shifted by -4\.1\d SDs/);
});

test('the summary from the coordinator: GET /api/summary, 503 before the statistics rounds (exit 1)', async (t) => {
  let published: typeof summary | undefined;
  const status = () => ({ federation: 'heart', round: 0, rounds: 2, state: 'stats', strategy: 'fedavg', model: 'debiased', sites: [], history: [] }) as FederationStatus;
  const server = await startHttpServer({ host: '127.0.0.1', port: 0, status, summary: () => published, metrics: new CoordinatorMetrics(metricsSourceFromStatus(status), []) });
  t.after(() => server.close());
  const url = `http://127.0.0.1:${server.port}`;
  const early = await runCli(['site', 'check', '--config', kit('hungary'), '--summary', url]);
  assert.equal(early.code, 1, describeRun(early));
  assert.match(early.messages.join('\n'), /api\/summary: the coordinator has no summary yet \(HTTP 503/);
  published = summary;
  const r = await runCli(['site', 'check', '--config', kit('hungary'), '--summary', url]);
  assert.equal(r.code, 0, describeRun(r));
  assert.match(r.stdout, new RegExp(`summary: ${url}/api/summary;`));
  assert.deepEqual(reasonRows(r.stdout), [['warning', 'shifted-mean', 'age']]);
  // A coordinator it cannot reach with a proxy set: said that site check went directly, and what to do.
  await server.close();
  process.env.https_proxy = 'http://proxy.hospital:3128';
  try {
    const gone = await runCli(['site', 'check', '--config', kit('hungary'), '--summary', url]);
    assert.equal(gone.code, 1, describeRun(gone));
    assert.match(gone.messages.join('\n'), /cannot reach the coordinator at .*\(dialled directly: site check does not go through https_proxy; .* --summary FILE; before a federation.s first run there is none: check the data with fedcausal check-data\)/);
  } finally {
    delete process.env.https_proxy;
  }
  const direct = await runCli(['site', 'check', '--config', kit('hungary'), '--summary', url]);
  assert.match(direct.messages.join('\n'), /cannot reach the coordinator at .*\(its HTTP side is often reachable only from its own host: ask the coordinator's operator for the summary file/);
});

test('bad input exits 2: a summary of another federation, a file that is not a summary', async () => {
  const other = join(dir, 'other.json');
  writeFileSync(other, JSON.stringify({ ...summary, federation: 'lungs' }));
  const r = await runCli(['site', 'check', '--config', kit('cleveland'), '--summary', other]);
  assert.equal(r.code, 2, describeRun(r));
  assert.deepEqual(r.messages, [`fedcausal site: ${other}: summary of federation "lungs", not "heart" (the site's)`]);
  const junk = join(dir, 'junk.json');
  writeFileSync(junk, '{"format": "something else"}');
  const j = await runCli(['site', 'check', '--config', kit('cleveland'), '--summary', junk]);
  assert.equal(j.code, 2, describeRun(j));
  assert.match(j.messages[0]!, /junk\.json: not a federation summary: field "format"/);
});

test('a site with too few rows to train on: site check and site start refuse it alike (exit 2), naming the file, its rows and the setting', async () => {
  const data = join(dir, 'small.csv');
  writeFileSync(data, readFileSync(HEART + HEART_SITES.cleveland!, 'utf8').split('\n').slice(0, 25).join('\n') + '\n');
  const config = join(dir, 'kits', 'sites', 'cleveland', 'small.yaml');
  writeFileSync(config, readFileSync(kit('cleveland'), 'utf8').replace(/^data: .*$/m, `data: ${data}`));
  const reason = `${data}: 17 rows to train on (25 rows in the file, a share of 0.3 held out for testing), fewer than the minimum of 20 (site.yaml: minTrainingRows)`;
  const check = await runCli(['site', 'check', '--config', config, '--summary', summaryFile]);
  assert.equal(check.code, 2, describeRun(check));
  assert.match(check.messages[0]!, new RegExp(`^fedcausal site: ${reason.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')};`));
  // Refused before the network: no coordinator is listening, and none is needed to refuse.
  const start = await runCli(['site', 'start', '--config', config], 30_000);
  assert.equal(start.code, 2, describeRun(start));
  assert.ok(start.messages.some((m) => m.includes(reason)), describeRun(start));
  // The setting, lowered on purpose, lets it through the row check.
  writeFileSync(config, readFileSync(config, 'utf8') + 'minTrainingRows: 15\n');
  const lowered = await runCli(['site', 'check', '--config', config, '--summary', summaryFile]);
  assert.notEqual(lowered.code, 2, describeRun(lowered));
});

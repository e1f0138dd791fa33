/**
 * Issue 11, measured as from outside: a free-text category value in one row of one
 * site's file must not reach any site in a task, nor the status (readiness) or the
 * results. Every task each site receives is tapped on its transport (tasks are signed,
 * not encrypted, so its bytes are what a site sees), and searched for the value.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildResults } from '../../cli/results.ts';
import { compileSchema } from '../../shared/data/schema.ts';
import { parseSiteTable } from '../../shared/data/table.ts';
import type { Logger, LogFields } from '../../shared/logger.ts';
import type { SiteTransport } from '../../shared/transport/types.ts';
import { prepareLocalData } from '../../site-agent/local-data.ts';
import { inProcessFederation } from './in-process-federation.ts';

const RARE = 'Doe, Jane 1957-03-14';
const SITES = ['north', 'south', 'east'];
const schema = compileSchema(
  { label: { column: 'y', threshold: 0 }, modalities: { vitals: ['x'], admin: ['ward'] }, categorical: ['ward'] },
  'inline',
);

/** 40 rows: x noisy in y, ward A/B/C; at `rareRow` the ward is RARE. */
function siteCsv(k: number, rareRow?: number): string {
  const lines = ['x,ward,y'];
  for (let i = 0; i < 40; i++) {
    const y = (i + k) % 2;
    lines.push(`${(y * 2 + ((i * 7 + k) % 5) / 2).toFixed(2)},${i === rareRow ? `"${RARE}"` : 'ABC'[(i + k) % 3]},${y}`);
  }
  return lines.join('\n') + '\n';
}

/** Keeps every log entry (any level, any child) as JSON text. */
function recordingLogger(lines: string[], base: LogFields = {}): Logger {
  const at = (level: string) => (message: string, fields?: LogFields) => lines.push(JSON.stringify({ level, message, ...base, ...fields }));
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error'), child: (f) => recordingLogger(lines, { ...base, ...f }) };
}

async function run(minCategoryCount: number | undefined) {
  const logs: string[] = [];
  const log = recordingLogger(logs);
  /** Per receiving site, the bytes of every task it got. */
  const received = new Map<string, Buffer[]>(SITES.map((s) => [s, []]));
  const tap = (site: string, t: SiteTransport): SiteTransport => ({
    ...t,
    async subscribe(join) {
      const sub = await t.subscribe(join);
      const tasks = (async function* () {
        for await (const task of sub.tasks) {
          const chunks: Uint8Array[] = [];
          for await (const c of task.chunks) chunks.push(c);
          received.get(site)!.push(Buffer.concat([Buffer.from(task.header), ...chunks]));
          yield { ...task, chunks };
        }
      })();
      return { welcome: sub.welcome, tasks };
    },
  });
  const sites = Object.fromEntries(
    SITES.map((site, k) => [site, prepareLocalData(parseSiteTable(schema, siteCsv(k, site === 'north' ? 3 : undefined), `${site}.csv`), { testFraction: 0.3, seed: 1, minTrainingRows: 20 })]),
  );
  const { fed, agents } = inProcessFederation({
    schema,
    sites,
    settings: { federation: 'vocab', ...(minCategoryCount !== undefined ? { minCategoryCount } : {}) },
    wrap: tap,
    log,
  });
  try {
    const outcome = await fed.loop.run();
    await fed.loop.end('done', 'complete');
    await Promise.all(agents.map((a) => a.done));
    return { received, outcome, logs, readiness: fed.loop.agreed.readiness, results: buildResults(outcome) };
  } finally {
    for (const a of agents) a.transport.close();
  }
}

test('a category value in one row at one site reaches no site, nor the status or the results', async () => {
  const r = await run(undefined);
  const tasks = [...r.received.values()].flat();
  assert.ok(tasks.length >= 3 * 3, `every site got its stats, fit, evaluate and end tasks (${tasks.length})`);
  for (const [site, got] of r.received)
    for (const bytes of got) {
      assert.ok(!bytes.includes('Doe'), `a task to ${site} carries the value`);
      assert.ok(bytes.includes('"ward"') || !bytes.includes('featureSpace'), 'the feature space still names the feature');
    }
  const ward = r.outcome.featureSpace.columns.filter((c) => c.feature === 'ward').map((c) => c.category);
  assert.deepEqual(ward, ['A', 'B', 'C'], 'the common values stay');
  assert.ok(!JSON.stringify(r.readiness).includes('Doe'), 'readiness (/api/status, /api/summary)');
  assert.ok(!JSON.stringify(r.results).includes('Doe'), 'results file');
  assert.ok(!JSON.stringify(r.outcome).includes('Doe'), 'the outcome kept by the coordinator');
  const leaks = r.logs.filter((l) => l.includes('Doe'));
  assert.deepEqual(leaks, [], 'no log entry at any level');
  // The site that holds it is told, unnamed, and its count under the minimum cell count not said exactly.
  const north = r.readiness!.sites.north!.reasons.find((x) => x.kind === 'unseen-category');
  assert.match(north!.message, /"\(other\)" \(fewer than 5 rows\)/);
});

test('control: with no minimum (minCategoryCount 1) the same run sends the value to every site', async () => {
  const r = await run(1);
  for (const site of SITES) assert.ok(r.received.get(site)!.some((b) => b.includes(RARE)), `the tap sees the value at ${site}`);
});

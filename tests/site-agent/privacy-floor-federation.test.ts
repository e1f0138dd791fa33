// The hospital's floor against a real coordinator (in one process): the coordinator's round
// failure carries the refusing site's own words, and a federation that states what the floor
// asks for runs to its end. The coordinator states its protections in every task for this.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadSchema } from '../../shared/data/schema.ts';
import { loadSiteTable } from '../../shared/data/table.ts';
import { prepareLocalData } from '../../site-agent/local-data.ts';
import type { PrivacyFloor } from '../../site-agent/privacy-floor.ts';
import { inProcessFederation } from '../coordinator/in-process-federation.ts';

const DIR = new URL('../../../shared/data/heart-disease/', import.meta.url).pathname;
const schema = loadSchema(DIR + 'schema.json');
const FILES: Record<string, string> = { cleveland: 'processed.cleveland.data', hungary: 'processed.hungarian.data' };
const FLOOR: PrivacyFloor = { requireSecureAggregation: false, requireDifferentialPrivacy: false, minCellCount: 10, minCategoryCount: 8 };

async function run(minCellCount: number) {
  const sites = Object.fromEntries(Object.entries(FILES).map(([site, file]) => [site, prepareLocalData(loadSiteTable(schema, DIR + file), { testFraction: 0.3, seed: 1 })]));
  const s = inProcessFederation({ schema, sites, settings: { minCellCount, minCategoryCount: 8 }, privacy: { cleveland: FLOOR } });
  const done = s.agents.map((a) => a.done.then(() => 'ended', (e: Error) => `error: ${e.message}`));
  try {
    const outcome = await s.fed.loop.run().then(
      () => 'complete',
      (e: Error) => e.message,
    );
    await s.fed.loop.end('done', outcome === 'complete' ? 'complete' : 'failed');
    const leftOut = s.fed.directory.states().find((x) => x.name === 'cleveland')?.leftOut;
    return { outcome, sites: await Promise.all(done), withdrawn: s.fed.directory.withdrawal('cleveland'), leftOut };
  } finally {
    for (const a of s.agents) a.transport.close();
  }
}

test('a coordinator below a site\'s floor: its statistics round fails with the site\'s words', async () => {
  const { outcome, sites } = await run(5);
  const words = 'this site requires minCellCount of at least 10 (site.yaml privacy.minCellCount) and the statistics task of round 0 has 5';
  assert.ok(outcome.includes(`cleveland: site reported a failure: ${words}`), outcome);
  assert.ok(sites[0]!.startsWith(`error: ${words}: this site takes no part`), sites[0]);
  // It withdrew: no later round waits for it (the final evaluation waited its 30 s rejoin grace: a hospital IT try).
  const { withdrawn, leftOut } = await run(5);
  assert.equal(withdrawn, `it withdrew from this run: ${words}`);
  assert.match(leftOut ?? '(none)', /its site\.yaml privacy floor and this federation's settings differ: raise the setting it names/);
});

test('a coordinator that states what the floor asks for is served to the end', async () => {
  const { outcome, sites } = await run(10);
  assert.equal(outcome, 'complete');
  assert.deepEqual(sites, ['ended', 'ended']);
});

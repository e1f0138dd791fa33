// A hospital whose schema.json is not the federation's (an outside try changed one kit's label
// threshold between runs: another outcome definition) used to join and train through a run
// that ended "complete", its accuracy at 0.378 with no word of why. Its join now carries its
// schema; the coordinator refuses another one naming what differs, the site exits 2 (a restart
// meets the same refusal), and the run names it in its warnings.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { withFederation } from './helpers/federation.ts';

test("a site whose schema is not the federation's is refused at its join, exits 2 naming what differs, and the run says so", { timeout: 120_000 }, async () => {
  const quorum = { minSitesToStart: 2, minSitesToAccept: 2, waitForAllSeconds: 3, rejoinGraceSeconds: 1 };
  await withFederation({ sites: ['cleveland', 'hungary', 'va'], rounds: 2, quorum, hardTimeoutMs: 110_000 }, async (fed) => {
    const file = join(fed.siteKit('va'), 'schema.json');
    const schema = JSON.parse(readFileSync(file, 'utf8')) as { label: Record<string, unknown> };
    chmodSync(file, 0o600);
    writeFileSync(file, JSON.stringify({ ...schema, label: { ...schema.label, threshold: 2 } }));
    const coordinator = await fed.startCoordinator();
    const va = fed.startSite('va');
    const others = ['cleveland', 'hungary'].map((s) => fed.startSite(s));
    assert.equal(await va.exitCode(60_000), 2, va.tail());
    assert.match(va.otherStderr.join("\n"), /the coordinator refused this site: site "va" uses another schema than the federation's: give it the schema\.json of the coordinator's kit .* It differs in label: the site's \{"column":"num","threshold":2\}, the federation's \{"column":"num","threshold":0\}/);
    assert.equal(await coordinator.exitCode(90_000), 0, fed.describe());
    for (const s of others) assert.equal(await s.exitCode(10_000), 0, s.tail());
    const r = fed.results<{ complete: boolean; warnings?: string[]; sites: Record<string, unknown> }>(coordinator);
    assert.ok(!r.sites.va, 'va took no part');
    assert.ok(
      r.warnings?.some((w) => w.includes('its join was refused for another schema than the federation\'s') && w.includes("give the site the schema.json of the coordinator's kit")),
      JSON.stringify(r.warnings),
    );
  });
});

// Issue 11 from outside, with real processes on loopback: one row of Cleveland's file
// holds a thallium code no one else has (4242). It reaches no other process's output:
// not /api/status, /api/summary, the results file, nor any log line of the coordinator
// or the sites. With privacy.dp on, /api/status and the results carry the ε spent.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ResultsFile } from '../../cli/results.ts';
import { HEART_FILES, HEART_SCHEMA, until, withFederation } from './helpers/federation.ts';

const SITES = ['cleveland', 'hungary', 'va'];
const RARE = '4242';
// The code as a value of its own: '4242', 'thal=4242', 4242.0. Digits of a figure or a
// digest (0.74242..., a ms timestamp, 'e4242f') are not the code: the results hold
// hundreds of such figures, and one failed CI run found these four digits in one.
const RARE_TOKEN = new RegExp(`(?<![0-9A-Za-z.])${RARE}(?![0-9A-Za-z])`);
const mentionsRare = (text: string): boolean => RARE_TOKEN.test(text);

test('a rare category value stays at its site; differential privacy reports what it spent', { timeout: 150_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'fedcausal-privacy-e2e-'));
  try {
    const lines = readFileSync(HEART_FILES.cleveland!, 'utf8').split('\n');
    const f = lines[9]!.split(',');
    f[12] = RARE; // thal
    lines[9] = f.join(',');
    const cleveland = join(dir, 'cleveland.csv');
    writeFileSync(cleveland, lines.join('\n'));
    const cohort = { schema: HEART_SCHEMA, files: { ...HEART_FILES, cleveland } };
    const coordinatorExtra = { privacy: { dp: { enabled: true, noiseMultiplier: 2, clipNorm: 1 } } };
    await withFederation({ sites: SITES, cohort, rounds: 3, model: { kind: 'logreg', localEpochs: 1 }, coordinatorExtra, hardTimeoutMs: 140_000 }, async (fed) => {
      const coordinator = await fed.startCoordinator();
      const sites = SITES.map((s) => fed.startSite(s));
      const live = await until(
        async () => {
          const st = await fed.status();
          return st.privacy && st.privacy.epsilon > 0 ? st : undefined;
        },
        90_000,
        'privacy spent on /api/status',
      );
      assert.equal(live.privacy!.delta, 1e-5);
      assert.ok(!mentionsRare(JSON.stringify(live)), 'not in /api/status');
      assert.ok(!mentionsRare(JSON.stringify(await fed.getJson('/api/summary'))), 'not in /api/summary');
      assert.equal(await coordinator.exitCode(90_000), 0, 'coordinator exit code');
      for (const s of sites) assert.equal(await s.exitCode(10_000), 0, `${s.name} exit code`);
      const r = fed.results<ResultsFile>(coordinator);
      assert.ok(!mentionsRare(JSON.stringify(r)), 'not in the results');
      assert.deepEqual(r.privacy!.perRound.map((x) => x.round), [1, 2, 3]);
      assert.ok(r.privacy!.epsilon >= live.privacy!.epsilon);
      console.log(`# ε after 3 rounds at noiseMultiplier 2: ${r.privacy!.epsilon.toFixed(3)} (δ 1e-5); site AUROCs ${Object.values(r.sites).map((m) => m.auroc.toFixed(3)).join(', ')}`);
      for (const p of [coordinator, ...sites])
        assert.deepEqual(p.logs.filter((l) => mentionsRare(JSON.stringify(l))), [], `${p.name}'s log lines`);
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

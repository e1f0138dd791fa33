// `fedcausal simulate --dp` as a user runs it (a child process): the run completes, the
// results file carries the privacy spent (ε at δ, per round, rising), and a run without
// --dp carries none and trains another model. A --dp-* setting without --dp is refused, not silently ignored.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ResultsFile } from '../../cli/results.ts';
import { dpSpent } from '../../shared/privacy/dp.ts';
import { describeRun, runCli } from '../e2e/helpers/cli.ts';
import { HEART_FILES, HEART_SCHEMA } from '../e2e/helpers/federation.ts';

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'fedcausal-simulate-dp-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

const sites = ['cleveland', 'hungary', 'va'].flatMap((s) => ['--site', `${s}=${HEART_FILES[s]!}`]);
/** The DP run's model, to set against the same run without DP. */
let dpModel: string | undefined;

test('simulate --dp completes, and the results carry ε at δ per round, rising', { timeout: 180_000 }, async () => {
  const out = join(dir, 'dp.json');
  const r = await runCli(['simulate', '--schema', HEART_SCHEMA, ...sites, '--model', 'logreg', '--rounds', '3', '--dp', '--dp-noise-multiplier', '2', '--dp-clip-norm', '0.5', '--out', out], 180_000);
  assert.equal(r.code, 0, describeRun(r));
  const res = JSON.parse(readFileSync(out, 'utf8')) as ResultsFile;
  assert.ok(res.complete);
  const p = res.privacy!;
  assert.ok(p, 'results.privacy');
  assert.equal(p.delta, 1e-5);
  assert.deepEqual(p.perRound.map((x) => x.round), [1, 2, 3]);
  for (let i = 1; i < 3; i++) assert.ok(p.perRound[i]!.epsilon > p.perRound[i - 1]!.epsilon);
  assert.equal(p.epsilon, p.perRound[2]!.epsilon);
  // What the accountant says for 3 rounds at z = 2 (clipNorm does not enter ρ).
  assert.ok(Math.abs(p.epsilon - dpSpent({ clipNorm: 0.5, noiseMultiplier: 2, delta: 1e-5 }, [1, 2, 3]).epsilon) < 1e-9, `ε ${p.epsilon}`);
  for (const m of Object.values(res.sites)) assert.ok(m.auroc >= 0 && m.auroc <= 1);
  dpModel = res.modelSha256;
});

test('simulate without --dp writes no privacy figures; a --dp-* setting without --dp is refused', { timeout: 180_000 }, async () => {
  const out = join(dir, 'plain.json');
  const r = await runCli(['simulate', '--schema', HEART_SCHEMA, ...sites, '--model', 'logreg', '--rounds', '3', '--out', out], 180_000);
  assert.equal(r.code, 0, describeRun(r));
  const plain = JSON.parse(readFileSync(out, 'utf8')) as ResultsFile;
  assert.equal(plain.privacy, undefined);
  // The same run with DP trained another model: the sites clipped and noised (a coordinator that never told them to passed every other test).
  assert.ok(dpModel && plain.modelSha256 && plain.modelSha256 !== dpModel, `models ${plain.modelSha256} and ${dpModel}`);
  const bad = await runCli(['simulate', '--schema', HEART_SCHEMA, ...sites, '--model', 'logreg', '--dp-noise-multiplier', '2'], 30_000);
  assert.equal(bad.code, 2, describeRun(bad));
  assert.match(bad.messages[0]!, /--dp-noise-multiplier: has no effect without --dp/);
  const scaffold = await runCli(['simulate', '--schema', HEART_SCHEMA, ...sites, '--model', 'logreg', '--dp', '--strategy', 'scaffold'], 30_000);
  assert.equal(scaffold.code, 2, describeRun(scaffold));
  assert.match(scaffold.messages[0]!, /--dp: cannot be used with --strategy scaffold: its sites send an un-noised gradient/);
});

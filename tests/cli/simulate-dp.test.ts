// `fedcausal simulate --dp` as a user runs it (a child process): the run completes, the
// results file carries the privacy spent (ε at δ, per round, rising), and a run without
// --dp carries none and trains another model. A --dp-* setting without --dp is refused, not silently ignored.
// A run planned past ε 10 is warned of on stderr; --dp-max-epsilon refuses one planned past it (exit 2) and is reported.
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
/** simulate's differential-privacy warnings, from its JSON log lines on stderr. */
const dpWarnings = (stderr: string) =>
  stderr
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as { level: string; message: string; remedy?: string })
    .filter((l) => l.level === 'warn' && l.message.startsWith('differential privacy'))
    .map(({ message, remedy }) => ({ message, remedy }));
/** The DP run's model, to set against the same run without DP. */
let dpModel: string | undefined;

test('simulate --dp completes, and the results carry ε at δ per round, rising', { timeout: 180_000 }, async () => {
  const out = join(dir, 'dp.json');
  const r = await runCli(['simulate', '--schema', HEART_SCHEMA, ...sites, '--model', 'logreg', '--rounds', '3', '--dp', '--dp-noise-multiplier', '2', '--dp-clip-norm', '0.5', '--out', out], 180_000);
  assert.equal(r.code, 0, describeRun(r));
  // 3 rounds at z = 2 spend 10.31: warned of at start, with how to bound it.
  assert.deepEqual(dpWarnings(r.stderr), [
    {
      message: 'differential privacy: this run would spend ε = 10.31 at δ = 1e-5 over its 3 fit rounds at --dp-noise-multiplier 2, above 10: little formal protection of a patient',
      remedy: '--dp-max-epsilon sets the most ε a run may spend (a run planned past it does not start); within 10: --rounds 2 or fewer at --dp-noise-multiplier 2, or --dp-noise-multiplier 2.06 or more for 3 rounds',
    },
  ]);
  const res = JSON.parse(readFileSync(out, 'utf8')) as ResultsFile;
  assert.ok(res.complete);
  const p = res.privacy!;
  assert.ok(!('maxEpsilon' in p), 'no budget set, none reported');
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

test('simulate --dp-max-epsilon: a run planned past it exits 2 naming ε and what fits; one within it runs, unwarned, and reports the budget', { timeout: 180_000 }, async () => {
  const over = await runCli(['simulate', '--schema', HEART_SCHEMA, ...sites, '--model', 'logreg', '--dp', '--dp-max-epsilon', '8'], 30_000);
  assert.equal(over.code, 2, describeRun(over));
  assert.equal(
    over.messages[0],
    'fedcausal simulate: --dp-max-epsilon: is 8, but this run would spend ε = 96.04 at δ = 1e-5 over its 20 fit rounds at --dp-noise-multiplier 1; within 8: not one round at --dp-noise-multiplier 1, or --dp-noise-multiplier 6.38 or more for 20 rounds',
  );
  // 2 rounds at z = 2 spend 8.10: within a budget of 9, and under 10.
  const out = join(dir, 'budget.json');
  const r = await runCli(['simulate', '--schema', HEART_SCHEMA, ...sites, '--model', 'logreg', '--rounds', '2', '--dp', '--dp-noise-multiplier', '2', '--dp-max-epsilon', '9', '--out', out], 180_000);
  assert.equal(r.code, 0, describeRun(r));
  assert.deepEqual(dpWarnings(r.stderr), []);
  const p = (JSON.parse(readFileSync(out, 'utf8')) as ResultsFile).privacy!;
  assert.equal(p.maxEpsilon, 9);
  assert.ok(p.epsilon <= 9 && Math.abs(p.epsilon - dpSpent({ clipNorm: 1, noiseMultiplier: 2, delta: 1e-5 }, [1, 2]).epsilon) < 1e-9, `ε ${p.epsilon}`);
  const without = await runCli(['simulate', '--schema', HEART_SCHEMA, ...sites, '--model', 'logreg', '--dp-max-epsilon', '8'], 30_000);
  assert.equal(without.code, 2, describeRun(without));
  assert.match(without.messages[0]!, /--dp-max-epsilon: has no effect without --dp/);
});

// Output paths are checked before the work: an unwritable --out fails at once with exit 2
// and the path, never after training (simulate) or spinning in mkdir (synth --out /proc/...).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HEART_FILES, HEART_SCHEMA } from '../e2e/helpers/federation.ts';
import { describeRun, runCli } from '../e2e/helpers/cli.ts';

const SIM = ['simulate', '--schema', HEART_SCHEMA, '--site', `c=${HEART_FILES.cleveland}`, '--site', `h=${HEART_FILES.hungary}`, '--model', 'logreg', '--rounds', '2'];

test('synth --out under /proc fails at once (it used to spin at 100% CPU)', async () => {
  const r = await runCli(['synth', '--out', '/proc/nope'], 30_000);
  assert.equal(r.code, 2, describeRun(r));
  assert.deepEqual(r.messages, ['fedcausal synth: --out /proc/nope: cannot write there (ENOENT)']);
});

test('simulate: an unwritable --out or --predictions is refused before any training; a writable one is named at the end with per-round progress', async (t) => {
  for (const flag of ['--out', '--predictions']) {
    const r = await runCli([...SIM, flag, '/proc/nope/r.json']);
    assert.equal(r.code, 2, describeRun(r));
    assert.match(r.messages.join('\n'), new RegExp(`^fedcausal simulate: ${flag} /proc/nope/r\\.json: folder /proc/nope: cannot write there`));
    assert.doesNotMatch(r.stderr, /round trained/, 'no training before the refusal');
  }
  const dir = mkdtempSync(join(tmpdir(), 'fedcausal-sim-out-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const out = join(dir, 'sub', 'results.json');
  const ok = await runCli([...SIM, '--out', out]);
  assert.equal(ok.code, 0, describeRun(ok));
  assert.match(ok.stdout, /^round 1\/2: 2 sites.*\nround 2\/2: 2 sites, AUROC at its start \d\.\d{3}\nfinal evaluation, the model after 2 rounds: AUROC \d\.\d{3} \(the training sites' AUROCs weighted by their held-out rows\); per site: \w+ \d\.\d{3}, \w+ \d\.\d{3}\nresults: .*results\.json\n$/);
  assert.equal((JSON.parse(readFileSync(out, 'utf8')) as { rounds: number }).rounds, 2);
});

// `fedcausal demo --cohort synthetic`: the planted shortcut, baseline and debiased side by
// side at the held-out site, and the decision in words, from the command as a user runs it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeRun, runCli } from '../e2e/helpers/cli.ts';

test('demo --cohort synthetic shows baseline and debiased at the held-out site and the decision', { timeout: 240_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'fedcausal-demo-syn-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const r = await runCli(['demo', '--cohort', 'synthetic', '--rounds', '4', '--run-dir', dir], 220_000);
  assert.equal(r.code, 0, describeRun(r));
  assert.match(r.stdout, /planted shortcut: reading tracks the outcome at site1, site2, site3 and is reversed at site4/);
  const auroc = (model: string) => Number(new RegExp(`^${model}\\s+(\\d\\.\\d{3})\\s`, 'm').exec(r.stdout)?.[1]);
  assert.ok(auroc('baseline') >= 0 && auroc('debiased') >= 0, r.stdout);
  assert.match(r.stdout, /^debiasing: on \(drop\), flagged reading \[auto\]$/m);
  assert.match(r.stdout, /^ {2}why: auto: flagged reading/m);
  assert.match(r.stdout, /^debiasing (kept \d\.\d{3} AUROC at site4|did not beat the baseline at site4)/m);
  assert.ok(existsSync(join(dir, 'cohort', 'truth.json')), 'the cohort is kept in the run folder');
  // The demo sets no linger on purpose: the coordinator's warning about it is in its log, not the demo's output.
  assert.doesNotMatch(r.stdout, /go away 0s after the run ends/);
  const bad = await runCli(['demo', '--cohort', 'nope']);
  assert.equal(bad.code, 2, describeRun(bad));
  assert.match(bad.messages.join('\n'), /--cohort: must be one of heart, synthetic \(got "nope"\)/);
});

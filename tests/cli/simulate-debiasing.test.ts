// The debiased model through the in-process federation on a synthetic cohort with a
// planted label-only reading: the decision, the outcome weights' stats stage, and the
// per-round health figures in the results file (INTERFACES.md `debiasing`).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { DebiasHealth as Health } from '../../coordinator/debias-monitor.ts';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runSimulation } from '../../cli/simulate.ts';
import { parseSimulateArgs } from '../../cli/simulate-args.ts';
import { simOptions } from '../../eval/jobs.ts';
import { silentLogger } from '../../shared/logger.ts';
import { captureWarnings } from '../shared/capture-logger.ts';
import { compileSynthOptions } from '../../shared/synth/options.ts';
import { writeCohort } from '../../shared/synth/write.ts';

let dir: string;
before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'fedcausal-debias-'));
  await writeCohort(dir, compileSynthOptions({ rows: '600', seed: '1' }));
});
after(() => rmSync(dir, { recursive: true, force: true }));


async function simulate(debiasing: Record<string, unknown>, rounds: number, cohort = dir, localEpochs = 1) {
  const o = simOptions({
    schema: join(cohort, 'schema.json'),
    sites: ['site1', 'site2', 'site3'].map((name) => ({ name, path: join(cohort, `${name}.csv`) })),
    testSites: [{ name: 'site4', path: join(cohort, 'site4.csv') }],
    model: 'debiased',
    rounds,
    seed: 1,
    modelSettings: { localEpochs, debiasing },
  });
  const { results } = await runSimulation(o, silentLogger);
  return results.debiasing as { decision: string; weighting: string; flagged: { feature: string; source: string }[]; health: Health[]; balance?: unknown };
}

/** One round on the cohort's three training sites, no test site: what the statistics rounds decide and say. */
const oneRound = (modelSettings: Record<string, unknown>) =>
  simOptions({
    schema: join(dir, 'schema.json'),
    sites: ['site1', 'site2', 'site3'].map((name) => ({ name, path: join(dir, `${name}.csv`) })),
    model: 'debiased',
    rounds: 1,
    seed: 1,
    modelSettings,
  });

test('default: the planted reading is flagged and dropped; health figures come every round and move', async () => {
  const d = await simulate({}, 3);
  assert.equal(d.decision, 'on');
  assert.equal(d.weighting, 'drop');
  assert.deepEqual(d.flagged.map((f) => [f.feature, f.source]), [['reading', 'auto']]);
  assert.deepEqual(d.health.map((h) => h.round), [1, 2, 3]);
  for (const h of d.health) {
    assert.ok(h.weightedAssociation.reading! > 0.5 && h.weightedAssociation.reading! <= 1);
    assert.ok(Number.isFinite(h.reliance.reading) && Math.abs(h.reliance.reading!) < 0.5, `the model cannot lean on a dropped reading: ${h.reliance.reading}`);
    assert.ok(h.effectiveSampleSize > 0 && h.effectiveSampleSize <= 1);
    assert.equal(h.priorDrift, 0, 'the same sites every round');
    assert.equal(h.tempered, false);
  }
  assert.notEqual(d.health[0]!.reliance.reading, d.health[2]!.reliance.reading, 'the model changes, so does its reliance');
});

test('outcome weighting: a stats stage fits the weights, and the reading is far closer to balanced in the weighted rows', async () => {
  const d = await simulate({ weighting: 'outcome', suspect: ['reading'] }, 2);
  assert.equal(d.weighting, 'outcome');
  assert.ok(d.balance, 'the published table is reported');
  const drop = await simulate({ suspect: ['reading'] }, 1);
  const weighted = d.health[0]!.weightedAssociation.reading!;
  const plain = drop.health[0]!.weightedAssociation.reading!;
  assert.ok(weighted < plain - 0.1, `outcome weights ${weighted} against pattern weights only ${plain}`);
  assert.ok(weighted >= 0.45, 'never past independence');
});

test('the guard on a cohort built to over-correct: LfF weights push a strong reading past balance, and the weights are tempered', async () => {
  // A strong reading recorded for every row, LfF's raw weights and long local training:
  // its weighted association falls through 0.5 within a few rounds (measured 0.96 -> 0.48 by round 6).
  const oc = join(dir, 'over-correct');
  await writeCohort(oc, compileSynthOptions({ rows: '400', seed: '1', 'imaging-rate': '1', 'spurious-strength': '1.5' }));
  const d = await simulate({ weighting: 'lff', suspect: ['reading'], reversalTolerance: 0.5 }, 8, oc, 6);
  const first = d.health.findIndex((h) => h.tempered);
  assert.ok(first >= 0, `tempered in some round: ${d.health.map((h) => h.weightedAssociation.reading!.toFixed(3)).join(' ')}`);
  assert.ok(d.health[first]!.weightedAssociation.reading! < 0.5);
  assert.ok(d.health.slice(0, first).every((h) => h.temper === 1 && !h.tempered));
  if (first + 1 < d.health.length) assert.equal(d.health[first + 1]!.temper, 0.5, 'halved from the next round on');
});

test('the run warns when auto flags a reading (and how to trust it) and when balancing removes a strong pattern signal', async () => {
  const { log, warnings, fields } = captureWarnings();
  const o = oneRound({ localEpochs: 1 });
  const { results } = await runSimulation(o, log);
  const flagged = fields[warnings.indexOf('readings flagged as shortcuts')];
  assert.deepEqual(flagged?.features, ['reading'], warnings.join('; '));
  assert.match(String(flagged?.note), /model\.debiasing\.trusted/);
  // synth's imaging is ordered for about 75% of positives and 25% of negatives at the training sites.
  const pattern = (results.debiasing as { pattern: { auroc: number; balanced: boolean; note?: string } }).pattern;
  assert.ok(pattern.auroc > 0.7 && pattern.balanced && pattern.note, JSON.stringify(pattern));
  assert.ok(warnings.includes('pattern balancing removes a label signal'));
  // Both are in the results' warnings too, short, for a reader of that list alone.
  assert.deepEqual(results.warnings.filter((w) => w.startsWith('debiasing: ')).map((w) => w.slice(0, 60)), [
    'debiasing: reading flagged as a shortcut by auto and dropped',
    'debiasing: the missingness pattern alone tells the label at ',
  ]);
});

test('--model-config: the model section from a file (coordinator.yaml or the section alone), checked as coordinator.yaml is', async () => {
  const args = (file: string) => ['--schema', join(dir, 'schema.json'), '--site', `site1=${join(dir, 'site1.csv')}`, '--model', 'debiased', '--model-config', file];
  const section = join(dir, 'model.yaml');
  writeFileSync(section, 'debiasing:\n  balancing: false\n  trusted: [reading]\n');
  const parsed = parseSimulateArgs([...args(section), '--local-epochs', '2']);
  assert.ok(parsed !== 'help');
  assert.deepEqual(parsed.modelSettings, { debiasing: { balancing: false, trusted: ['reading'] }, localEpochs: 2 });
  const coordinatorYaml = join(dir, 'coordinator.yaml');
  writeFileSync(coordinatorYaml, 'federation: x\nmodel:\n  kind: debiased\n  debiasing: { suspect: [lab1] }\n');
  const whole = parseSimulateArgs([...args(coordinatorYaml), '--local-epochs', '3']) as { modelSettings: unknown; notices: string[] };
  assert.deepEqual(whole.modelSettings, { debiasing: { suspect: ['lab1'] }, localEpochs: 3 });
  assert.deepEqual(whole.notices, [`--model-config ${coordinatorYaml}: only its model section is read; federation come from simulate's flags (--rounds, --strategy, --seed...)`]);
  writeFileSync(section, 'localEpochs: 1\n');
  assert.deepEqual((parseSimulateArgs([...args(section), '--local-epochs', '3']) as { notices: string[] }).notices, [`--local-epochs 3 overrides ${section}'s localEpochs 1`]);
  writeFileSync(section, 'debiasing:\n  suspect: [lab1]\n');
  const baseline = args(section).map((a) => (a === 'debiased' ? 'baseline' : a));
  assert.deepEqual((parseSimulateArgs(baseline) as { notices: string[] }).notices, [`${section}: model.debiasing is read by --model debiased only; this baseline run does not use it`]);
  writeFileSync(section, 'kind: baseline\n');
  assert.throws(() => parseSimulateArgs(args(section)), /model\.kind is "baseline" but --model is debiased/);
  writeFileSync(section, 'debiasing:\n  balancng: false\n');
  assert.throws(() => parseSimulateArgs(args(section)), new RegExp(`${section.replace(/[.]/g, '\\.')}: debiasing\\.balancng: is not a known field`));
  // What the run's decision sets is not configuration: a file may not pose as a decision.
  writeFileSync(section, 'debiasing:\n  flagged: [{ feature: lab1, labelCorr: 0.5, withinClassCorr: 0 }]\n');
  assert.throws(() => parseSimulateArgs(args(section)), /model\.yaml: debiasing\.flagged: is set by the run's debiasing decision, not by configuration: use mode \(on, off, auto\), suspect or trusted/);
  // A feature the schema lacks is refused before any data is read, naming the file.
  writeFileSync(section, 'debiasing:\n  trusted: [troponin]\n');
  const o = parseSimulateArgs(args(section));
  assert.ok(o !== 'help');
  await assert.rejects(runSimulation(o, silentLogger), /model\.yaml: model\.debiasing\.trusted\[0\]: "troponin" is not a feature of the schema/);
});

test('balancing off (--model-config) is reported as such: nothing balanced, no pattern note', async () => {
  const o = oneRound({ localEpochs: 1, debiasing: { balancing: false, trusted: ['reading'] } });
  const { results } = await runSimulation(o, silentLogger);
  assert.deepEqual(results.modelSettings, { localEpochs: 1, debiasing: { balancing: false, trusted: ['reading'] } }, 'a reader of the results can tell what was set');
  const d = results.debiasing as { weighting: string; flagged: unknown[]; pattern: { balanced: boolean; note?: string } };
  assert.deepEqual(d.flagged, []);
  assert.equal(d.weighting, 'none (balancing off)');
  assert.equal(d.pattern.balanced, false);
  assert.equal(d.pattern.note, undefined);
});

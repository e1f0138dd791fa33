// A site whose training rows hold one class (a referral clinic that sees only positives)
// trains in the in-process federation: a warning at start names the site, the class and
// what is not computed; its own recalibration and local-only baseline are absent (never
// NaN); the debiasing stats (class moments, cell counts), the calibration sums and the
// evaluation go through with every number finite.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runSimulation } from '../../cli/simulate.ts';
import { simOptions } from '../../eval/jobs.ts';
import { HEART_FILES, HEART_SCHEMA } from '../e2e/helpers/federation.ts';
import { captureWarnings } from '../shared/capture-logger.ts';

let dir: string;
let positives: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'fedcausal-one-class-'));
  // Switzerland's positive rows only (num > 0 is the last column).
  const lines = readFileSync(HEART_FILES.switzerland!, 'utf8').split('\n').filter((l) => l.trim() !== '' && Number(l.split(',').at(-1)) > 0);
  positives = join(dir, 'referral.csv');
  writeFileSync(positives, lines.join('\n') + '\n');
});
after(() => rmSync(dir, { recursive: true, force: true }));


/** Every number in the object, with its path: none may be NaN or infinite. */
function nonFinite(v: unknown, path = ''): string[] {
  if (typeof v === 'number') return Number.isFinite(v) ? [] : [path];
  if (Array.isArray(v)) return v.flatMap((x, i) => nonFinite(x, `${path}[${i}]`));
  if (v && typeof v === 'object') return Object.entries(v).flatMap(([k, x]) => nonFinite(x, `${path}.${k}`));
  return [];
}

async function simulate(model: string, modelSettings: Record<string, unknown>, holdout: boolean) {
  const { log, warnings } = captureWarnings();
  const o = simOptions({
    schema: HEART_SCHEMA,
    sites: [
      { name: 'hungary', path: HEART_FILES.hungary! },
      { name: 'va', path: HEART_FILES.va! },
      { name: 'referral', path: positives },
    ],
    // With the holdout, the referral site is scored on rows of both classes (Switzerland's whole file).
    holdouts: holdout ? [{ name: 'referral', path: HEART_FILES.switzerland! }] : [],
    model,
    rounds: 2,
    seed: 3,
    localBaseline: true,
    modelSettings: { localEpochs: 1, ...modelSettings },
  });
  const { results } = await runSimulation(o, log);
  return { results, warnings };
}

const CASES: [string, string, Record<string, unknown>][] = [
  ['logistic regression', 'logreg', {}],
  ['debiased, auto (class moments)', 'debiased', {}],
  ['debiased, outcome weights on a flagged reading (cell counts, the balance fit)', 'debiased', { debiasing: { weighting: 'outcome', suspect: ['chol'] } }],
];

for (const [what, model, settings] of CASES)
  test(`a one-class site trains with a warning and no NaN: ${what}`, { timeout: 120_000 }, async () => {
    const { results, warnings } = await simulate(model, settings, true);
    const said = warnings.filter((w) => w.includes('site "referral"'));
    assert.equal(said.length, 2, `two warnings at start: ${JSON.stringify(warnings)}`);
    assert.match(said[0]!, /^site "referral": all \d+ training rows are of class 1; the site trains .*own recalibration and its local-only baseline are reported as absent$/);
    // Its held-out rows hold a few of class 0 (the file's): its AUROC there is computed, and wide.
    assert.match(said[1]!, /^site "referral": its \d+ held-out rows hold \d+ of class 1 and [1-9] of class 0, so its AUROC rests on \d+ pairs/);
    assert.ok(!warnings.some((w) => w.includes('site "hungary"') || w.includes('site "va"')), 'sites of both classes are not warned');
    // It trained: every round all three sites answered, none failed.
    for (const h of results.history) assert.ok(h.accepted && h.participants === 3 && h.failures === 0, JSON.stringify(h));
    const own = results.calibration?.sites.referral;
    assert.ok(own, 'its calibration sums over its held-out rows are there');
    assert.equal(own.own, undefined, 'no own recalibration from one class');
    assert.ok(results.calibration?.sites.hungary?.own, 'the other sites fit theirs');
    assert.equal(results.localSites?.referral, undefined, 'no local-only baseline from one class');
    assert.ok(results.localSites?.hungary, 'the other sites have theirs');
    for (const k of ['auroc', 'accuracy', 'balancedAccuracy', 'ece'] as const) assert.ok(results.sites.referral![k] >= 0 && results.sites.referral![k] <= 1, `${k} = ${results.sites.referral![k]}`);
    assert.deepEqual(nonFinite(results), []);
  });

test('held-out rows of one class too: the site still trains; their AUROC is absent (null in the results), nothing else', { timeout: 120_000 }, async () => {
  const { results, warnings } = await simulate('logreg', {}, false);
  assert.ok(warnings.some((w) => /site "referral".*its held-out rows hold one class too/.test(w)), JSON.stringify(warnings));
  const json = JSON.parse(JSON.stringify(results)) as typeof results;
  assert.equal(json.sites.referral!.auroc, null);
  assert.ok(json.sites.referral!.accuracy >= 0 && json.sites.referral!.accuracy <= 1);
  assert.equal(json.calibration?.sites.referral?.own, undefined);
});

test('a federation whose training rows all hold one class is refused at the statistics round, naming the missing label', { timeout: 60_000 }, async () => {
  const o = simOptions({
    schema: HEART_SCHEMA,
    sites: [
      { name: 'referral', path: positives },
      { name: 'referral2', path: positives },
    ],
    model: 'logreg',
    rounds: 1,
    seed: 1,
    modelSettings: { localEpochs: 1 },
  });
  await assert.rejects(runSimulation(o, captureWarnings().log), /the training sites hold no row of label 0 \(label 0: 0 rows, label 1: \d+ rows in all\)/);
});

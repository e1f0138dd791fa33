// One compromised site (its own keys, so everything it sends is signed and sealed as
// genuine) against an in-process federation: an inflated example count, invented and
// negative pattern counts, and a huge update are refused or clipped, and the federation's
// AUROC stays within 0.02 of the clean run's.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runSimulation, type SimulateOptions } from '../../cli/simulate.ts';
import { simOptions } from '../../eval/jobs.ts';
import { silentLogger } from '../../shared/logger.ts';
import { HEART_FILES, HEART_SCHEMA } from '../e2e/helpers/federation.ts';
import { hostileTransport, type Tamper } from './hostile-site.ts';

const SITES = ['cleveland', 'hungary', 'switzerland', 'va'];
const HOSTILE = 'va';
const TOLERANCE = 0.02;

function options(tamper?: Tamper): SimulateOptions {
  return {
    ...simOptions({
      schema: HEART_SCHEMA,
      sites: SITES.map((name) => ({ name, path: HEART_FILES[name]! })),
      model: 'logreg',
      rounds: 5,
      seed: 1,
      modelSettings: { localEpochs: 1 },
    }),
    // A refused site fails its round; the other three carry it.
    minSitesToAccept: 3,
    ...(tamper ? { siteTransport: (site, t, keys) => (site === HOSTILE ? hostileTransport(t, keys, tamper) : t) } : {}),
  };
}

/** The mean over the sites of the final global model's held-out AUROC. */
const meanAuroc = (sites: Record<string, { auroc: number }>) => SITES.reduce((a, s) => a + sites[s]!.auroc, 0) / SITES.length;

let clean: number | undefined;
async function cleanAuroc(): Promise<number> {
  clean ??= meanAuroc((await runSimulation(options(), silentLogger)).results.sites);
  return clean;
}

test('an inflated example count is refused every round: the model stays the honest sites\'', { timeout: 120_000 }, async () => {
  const { results } = await runSimulation(options((meta, weights) => (meta.kind === 'fit' ? { meta: { ...meta, numExamples: 1e12 }, weights } : { meta, weights })), silentLogger);
  for (const h of results.history) {
    const f = h.failed.find((x) => x.site === HOSTILE);
    assert.match(f?.reason ?? '', /^update refused: fit from site "va": numExamples must be an integer from 0 to limits\.maxExamplesPerSite/, `round ${h.round}`);
    assert.equal(h.participants, 3);
  }
  const auroc = meanAuroc(results.sites);
  assert.ok(Math.abs(auroc - (await cleanAuroc())) <= TOLERANCE, `AUROC ${auroc} vs clean ${clean}`);
});

test('an example count that differs from the statistics stage is refused, even under the cap', { timeout: 120_000 }, async () => {
  const { results } = await runSimulation(options((meta, weights) => (meta.kind === 'fit' ? { meta: { ...meta, numExamples: meta.numExamples * 1000 }, weights } : { meta, weights })), silentLogger);
  assert.match(results.history[0]!.failed.find((x) => x.site === HOSTILE)?.reason ?? '', /numExamples \d+ differs from the \d+ rows it reported at the statistics stage/);
  const auroc = meanAuroc(results.sites);
  assert.ok(Math.abs(auroc - (await cleanAuroc())) <= TOLERANCE, `AUROC ${auroc} vs clean ${clean}`);
});

test('negative and invented pattern counts are refused at the statistics stage: no fake pattern in the prior', { timeout: 120_000 }, async () => {
  const { results } = await runSimulation(
    options((meta, weights) => (meta.kind === 'stats' ? { meta: { ...meta, patternCounts: { ...meta.patternCounts, '0000000': [-5, 1_000_000] } }, weights } : { meta, weights })),
    silentLogger,
  );
  assert.ok(!results.prior.some((p) => p.pattern === '0000000'), 'the invented pattern is not in the prior');
  assert.ok(results.prior.every((p) => p.p < 0.9), JSON.stringify(results.prior));
  // Its statistics were not counted: it is sent no training task (it has no weight to claim), and the results say so.
  assert.ok(results.history.every((h) => h.participants === 3 && !h.failed.some((x) => x.site === HOSTILE)), JSON.stringify(results.history.map((h) => h.failed)));
  assert.ok(results.warnings?.some((w) => w.startsWith(`site "${HOSTILE}" trained in no round: its statistics were not counted (update refused: `)), JSON.stringify(results.warnings));
  const auroc = meanAuroc(results.sites);
  assert.ok(Math.abs(auroc - (await cleanAuroc())) <= TOLERANCE, `AUROC ${auroc} vs clean ${clean}`);
});

test('a huge update is clipped to a few median steps: the round counts, the model barely moves', { timeout: 120_000 }, async () => {
  const { results } = await runSimulation(options((meta, weights) => (meta.kind === 'fit' ? { meta, weights: weights.map((w, i) => w + (i % 2 ? 1e6 : -1e6)) } : { meta, weights })), silentLogger);
  for (const h of results.history) assert.equal(h.participants, 4, `round ${h.round}: the clipped update still counts`);
  const auroc = meanAuroc(results.sites);
  assert.ok(Math.abs(auroc - (await cleanAuroc())) <= TOLERANCE, `AUROC ${auroc} vs clean ${clean}`);
});

test('figures out of range are refused on arrival, each for its round: an AUROC of 57 every fit round, a mean score of 5 at the final evaluation; the run ends with results', { timeout: 120_000 }, async () => {
  const { results } = await runSimulation(
    options((meta, weights) => {
      if (meta.kind === 'fit') return { meta: { ...meta, evaluation: { ...meta.evaluation!, auroc: 57 } }, weights };
      if (meta.kind === 'evaluate' && meta.siteCalibration) return { meta: { ...meta, siteCalibration: { ...meta.siteCalibration, meanScore: 5 } }, weights };
      return { meta, weights };
    }),
    silentLogger,
  );
  for (const h of results.history) {
    assert.match(h.failed.find((x) => x.site === HOSTILE)?.reason ?? '', /^update refused: fit from site "va": evaluation\.auroc must be a number in \[0, 1\], or null where undefined \(got 57\)$/, `round ${h.round}`);
    assert.ok(h.metrics.eval_auroc! <= 1, `round ${h.round}: eval_auroc ${h.metrics.eval_auroc}`);
  }
  assert.ok(results.warnings?.includes(`final evaluation missing from ${HOSTILE}: update refused: evaluate from site "${HOSTILE}": siteCalibration: meanScore is 5; must be in [0, 1]`), JSON.stringify(results.warnings));
  assert.deepEqual(Object.keys(results.sites).sort(), SITES.filter((s) => s !== HOSTILE).sort());
});

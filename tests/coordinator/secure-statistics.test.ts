/**
 * Issue 11's privacy tap, on a 3-site secure run of the debiased model (every statistics
 * stage: summary, vocabulary, class moments, cell counts; a fit round; the final
 * evaluation): everything the
 * coordinator can decrypt is recorded as it arrives (each result's meta, after the envelope
 * is opened) and searched for any one site's count, sum or category value. The sums it
 * decodes must equal the plain run's: the same feature space, prior and decision.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RoundLoop } from '../../coordinator/round-loop.ts';
import { compileSchema } from '../../shared/data/schema.ts';
import { computeFeatureStats } from '../../shared/data/stats.ts';
import { parseSiteTable } from '../../shared/data/table.ts';
import type { ResultMeta } from '../../shared/protocol/messages.ts';
import { compileSecAggConfig } from '../../shared/secagg/config.ts';
import { prepareLocalData, type LocalData } from '../../site-agent/local-data.ts';
import { DEFAULT_RESULT_BOUNDS } from '../../coordinator/result-bounds.ts';
import { inProcessFederation } from './in-process-federation.ts';

const RARE = 'Doe, Jane 1957-03-14';
const SITES = ['north', 'south', 'east'];
const schema = compileSchema(
  { label: { column: 'y', threshold: 0 }, modalities: { vitals: ['x', 'z'], admin: ['ward'] }, categorical: ['ward'] },
  'inline',
);

/** 60 rows: x tied to y, z noise, ward A/B/C (and RARE in two rows of one site); z missing in every fifth row. */
function siteCsv(k: number, rare: boolean): string {
  const lines = ['x,z,ward,y'];
  for (let i = 0; i < 60; i++) {
    const y = (i + k) % 2;
    const ward = rare && (i === 3 || i === 8) ? `"${RARE}"` : 'ABC'[(i + k) % 3];
    lines.push(`${(y * 2 + ((i * 7 + k) % 5) / 2).toFixed(2)},${i % 5 === 0 ? '' : (((i * 13 + k) % 11) / 3).toFixed(2)},${ward},${y}`);
  }
  return lines.join('\n') + '\n';
}

const data = (): Record<string, LocalData> =>
  Object.fromEntries(SITES.map((site, k) => [site, prepareLocalData(parseSiteTable(schema, siteCsv(k, site === 'north'), `${site}.csv`), { testFraction: 0.3, seed: 1, minTrainingRows: 20 })]));

async function run(secure: boolean) {
  const sites = data();
  const { fed, agents } = inProcessFederation({
    schema,
    sites,
    settings: {
      federation: 'tap',
      model: { kind: 'debiased', raw: { localEpochs: 1, debiasing: { suspect: ['x'], weighting: 'outcome' } }, seed: 1 },
      quorum: { minSitesToStart: 3, minSitesToAccept: 3, roundDeadlineMs: 60_000, startTimeoutMs: 10_000, rejoinGraceMs: 0, waitForAllMs: 0 },
      bounds: { ...DEFAULT_RESULT_BOUNDS, updateNormMultiple: 1e9 },
      ...(secure ? { secureAggregation: compileSecAggConfig({}) } : {}),
    },
  });
  try {
    const outcome = await fed.loop.run();
    const decision = fed.loop.agreed.decisionReport;
    await fed.loop.end('done', 'complete');
    await Promise.all(agents.map((a) => a.done));
    return { outcome, decision, sites };
  } finally {
    for (const a of agents) a.transport.close();
  }
}

/** Every figure a site's training rows give, as the numbers a tap would look for. */
function siteFigures(d: LocalData): number[] {
  const s = computeFeatureStats(schema, d.train);
  const out = [d.train.values.length];
  for (const v of Object.values(s.numeric)) out.push(v.sum, v.sumSq);
  return out.filter((x) => Math.abs(x) > 1);
}

/** Every number anywhere in a decoded meta (base64 keys and signatures are strings, not searched as digits). */
function numbersIn(v: unknown): number[] {
  if (typeof v === 'number') return [v];
  if (Array.isArray(v)) return v.flatMap(numbersIn);
  if (typeof v === 'object' && v !== null) return Object.values(v).flatMap(numbersIn);
  return [];
}

test('the coordinator decrypts no site\'s count, sum or category value in a secure run, and its sums give the plain run\'s setup and evaluation', { timeout: 180_000 }, async (t) => {
  const tapped: { site: string; meta: ResultMeta }[] = [];
  const deliver = RoundLoop.prototype.deliver;
  t.mock.method(RoundLoop.prototype, 'deliver', function (this: RoundLoop, site: string, meta: ResultMeta, ...rest: unknown[]) {
    tapped.push({ site, meta: structuredClone(meta) });
    return (deliver as (...a: unknown[]) => void).call(this, site, meta, ...rest);
  });
  const secure = await run(true);
  t.mock.restoreAll();
  const plain = await run(false);

  const kinds = new Set(tapped.map((x) => `${x.meta.kind}-${(x.meta as { stage?: number }).stage ?? ''}`));
  assert.ok(['stats-', 'fit-', 'secagg-', 'evaluate-'].every((k) => [...kinds].some((x) => x.startsWith(k))), `tapped ${[...kinds].join(', ')}`);
  // Nothing of a site's own but its report (rates on its held-out rows, no row count: the run's output).
  for (const { site, meta } of tapped) {
    for (const f of ['featureStats', 'patternCounts', 'classMoments', 'cellCounts', 'health', 'evaluation', 'localEvaluation', 'calibration'] as const)
      assert.equal(meta[f], undefined, `${site}'s ${meta.kind} result carries ${f}`);
    assert.equal(meta.numExamples, 0, `${site}'s ${meta.kind} result claims ${meta.numExamples} examples`);
  }
  for (const { meta } of tapped.filter((x) => x.meta.kind === 'evaluate')) {
    assert.ok(meta.report?.evaluation && meta.report.evaluation.n === undefined, 'the report has the metrics and no row count');
    assert.deepEqual(Object.keys(meta.report.evaluation).filter((k) => k !== 'loss').sort(), ['accuracy', 'auroc', 'balancedAccuracy', 'ece']);
  }
  const numbers = new Set(tapped.flatMap((x) => numbersIn(x.meta)));
  for (const [site, d] of Object.entries(secure.sites))
    for (const x of siteFigures(d)) assert.ok(!numbers.has(x), `${site}'s figure ${x} reached the coordinator`);
  // The whole value: its comma and spaces never occur in base64, while any three letters turn up in
  // the keys and sealed shares by chance (in about one run in three, "Doe" did).
  assert.ok(!JSON.stringify(tapped).includes(RARE), 'the rare value reached the coordinator');
  // No result names a category value: the names of heavy buckets come summed too.
  assert.ok(!['"A"', '"B"', '"C"'].some((v) => JSON.stringify(tapped).includes(v)), 'a result names a ward');

  // The sums give the plain run's setup.
  const ward = (o: typeof plain.outcome) => o.featureSpace.columns.filter((c) => c.feature === 'ward').map((c) => c.category);
  assert.deepEqual(ward(secure.outcome), ward(plain.outcome));
  assert.deepEqual(ward(secure.outcome), ['A', 'B', 'C']);
  plain.outcome.featureSpace.columns.forEach((c, i) => {
    const s = secure.outcome.featureSpace.columns[i]!;
    assert.ok(Math.abs(c.mean - s.mean) < 1e-6 && Math.abs(c.std - s.std) < 1e-6, `column ${i} (${c.feature}): plain ${c.mean}/${c.std}, secure ${s.mean}/${s.std}`);
  });
  assert.deepEqual(secure.outcome.prior, plain.outcome.prior, 'pattern counts are exact');
  assert.deepEqual(secure.decision?.flagged.map((f) => f.feature), plain.decision?.flagged.map((f) => f.feature));
  assert.ok(Math.abs(secure.decision!.flagged[0]!.labelCorr - plain.decision!.flagged[0]!.labelCorr) < 1e-6, 'class moments');
  assert.deepEqual(secure.decision?.balance, plain.decision?.balance, 'cell counts are exact');
  // The final evaluation: per site its report, pooled from the sum, the recalibration from summed sums.
  for (const site of SITES) {
    assert.equal(secure.outcome.sites[site]!.n, undefined);
    assert.ok(Math.abs(secure.outcome.sites[site]!.auroc - plain.outcome.sites[site]!.auroc) < 0.02, `${site} auroc`);
  }
  const pooled = secure.outcome.pooledEvaluation!;
  const heldOut = Object.values(plain.outcome.sites).reduce((a, m) => a + m.n!, 0);
  assert.equal(pooled.training!.n, heldOut, 'the held-out rows, counted in the sum');
  assert.equal(pooled.test, undefined, 'no test-only site');
  const plainPooled = Object.values(plain.outcome.sites).reduce((a, m) => a + m.n! * m.auroc, 0) / heldOut;
  assert.ok(Math.abs(pooled.training!.auroc! - plainPooled) < 0.02, `pooled auroc ${pooled.training!.auroc} vs ${plainPooled}`);
  assert.ok(secure.outcome.calibration && plain.outcome.calibration);
  assert.deepEqual(secure.outcome.calibration.fittedOn, SITES);
  assert.ok(Math.abs(secure.outcome.calibration.a - plain.outcome.calibration.a) < 0.2, `slope ${secure.outcome.calibration.a} vs ${plain.outcome.calibration.a}`);
  assert.ok(Math.abs(secure.outcome.calibration.b - plain.outcome.calibration.b) < 0.3, `intercept ${secure.outcome.calibration.b} vs ${plain.outcome.calibration.b}`);
  assert.ok(secure.outcome.calibration.pooled!.training.eceBefore > 0 && secure.outcome.calibration.pooled!.training.eceAfter > 0);
});

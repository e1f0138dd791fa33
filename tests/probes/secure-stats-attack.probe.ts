/** Attack probes on secure statistics (not part of the suite: findings, printed). */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RoundLoop } from '../../coordinator/round-loop.ts';
import { SecureAggregator, type SecureSum } from '../../coordinator/secure-round.ts';
import { compileSchema, type Schema } from '../../shared/data/schema.ts';
import { parseSiteTable } from '../../shared/data/table.ts';
import type { ResultMeta } from '../../shared/protocol/messages.ts';
import { compileSecAggConfig } from '../../shared/secagg/config.ts';
import { VectorLayout } from '../../shared/secagg/layout.ts';
import { prepareLocalData, type LocalData } from '../../site-agent/local-data.ts';
import { DEFAULT_RESULT_BOUNDS } from '../../coordinator/result-bounds.ts';
import { inProcessFederation } from '../coordinator/in-process-federation.ts';

const SITES = ['north', 'south', 'east'];
const schema = compileSchema({ label: { column: 'y', threshold: 0 }, modalities: { vitals: ['x', 'z'], admin: ['ward'] }, categorical: ['ward'] }, 'inline');

function siteCsv(k: number, extra: (i: number) => string | undefined): string {
  const lines = ['x,z,ward,y'];
  for (let i = 0; i < 60; i++) {
    const y = (i + k) % 2;
    const ward = extra(i) ?? 'ABC'[(i + k) % 3];
    lines.push(`${(y * 2 + ((i * 7 + k) % 5) / 2).toFixed(2)},${i % 5 === 0 ? '' : (((i * 13 + k) % 11) / 3).toFixed(2)},${ward},${y}`);
  }
  return lines.join('\n') + '\n';
}

async function run(sch: Schema, sites: Record<string, LocalData>, secure: boolean, model = { kind: 'logreg' as const, raw: { localEpochs: 1 }, seed: 1 } as never) {
  const { fed, agents } = inProcessFederation({
    schema: sch,
    sites,
    settings: {
      federation: 'probe',
      model,
      quorum: { minSitesToStart: SITES.length, minSitesToAccept: SITES.length, roundDeadlineMs: 60_000, startTimeoutMs: 10_000, rejoinGraceMs: 0, waitForAllMs: 0 },
      bounds: { ...DEFAULT_RESULT_BOUNDS, updateNormMultiple: 1e9 },
      ...(secure ? { secureAggregation: compileSecAggConfig({}) } : {}),
    },
  });
  const settled = agents.map((a) => a.done.catch((e: Error) => e.message));
  try {
    const outcome = await fed.loop.run();
    await fed.loop.end('done', 'complete');
    await Promise.all(settled);
    return { outcome, decision: fed.loop.agreed.decisionReport };
  } catch (e) {
    await fed.loop.end(String(e), 'failed').catch(() => undefined);
    throw e;
  } finally {
    for (const a of agents) a.transport.close();
  }
}

test('P1 honest-but-curious: a value only one site holds: its name is attributed and its count is that site\'s own', { timeout: 120_000 }, async (t) => {
  const data = Object.fromEntries(SITES.map((s, k) => [s, prepareLocalData(parseSiteTable(schema, siteCsv(k, (i) => (s === 'north' && i < 14 ? 'D' : undefined)), `${s}.csv`), { testFraction: 0.3, seed: 1, minTrainingRows: 20 })]));
  const tapped: { site: string; meta: ResultMeta }[] = [];
  const sums: SecureSum[] = [];
  const deliver = RoundLoop.prototype.deliver;
  t.mock.method(RoundLoop.prototype, 'deliver', function (this: RoundLoop, site: string, meta: ResultMeta, ...rest: unknown[]) {
    tapped.push({ site, meta: structuredClone(meta) });
    return (deliver as (...a: unknown[]) => void).call(this, site, meta, ...rest);
  });
  const collect = SecureAggregator.prototype.collect;
  t.mock.method(SecureAggregator.prototype, 'collect', async function (this: SecureAggregator, ...a: Parameters<typeof collect>) {
    const s = await collect.apply(this, a);
    sums.push(s);
    return s;
  });
  await run(schema, data, true);
  // Names come summed now (stage 4 is a secure sum): what is left is who took part, and the federation's totals.
  const named = tapped.filter((x) => JSON.stringify(x.meta).includes('"D"')).map((x) => x.site);
  const vocabSum = sums.find((s) => s.sums.candidateCounts);
  console.log('P1 ' + JSON.stringify({ resultsNamingD: named, stage5: vocabSum && [...vocabSum.sums.candidateCounts!] }));
});

test('P2 hostile site: negative pattern count and numeric count in its summary vector', { timeout: 120_000 }, async (t) => {
  const data = Object.fromEntries(SITES.map((s, k) => [s, prepareLocalData(parseSiteTable(schema, siteCsv(k, () => undefined), `${s}.csv`), { testFraction: 0.3, seed: 1, minTrainingRows: 20 })]));
  const encode = VectorLayout.prototype.encode;
  let done = false;
  t.mock.method(VectorLayout.prototype, 'encode', function (this: VectorLayout, values: Record<string, ArrayLike<number>>) {
    const out = encode.call(this, values);
    if (!done && values.patternLabel) {
      done = true;
      const p = this.part('patternLabel');
      out.vector[p.offset + 2 * 0b10] = (out.vector[p.offset + 2 * 0b10]! - 1000) >>> 0; // -1000 negatives in the full pattern
      const c = this.part('numCount');
      out.vector[c.offset] = (out.vector[c.offset]! - 10_000) >>> 0;
      const r = this.part('rows');
      out.vector[r.offset] = (out.vector[r.offset]! + 2 ** 30) >>> 0;
    }
    return out;
  });
  let res: unknown;
  try {
    res = await run(schema, data, true);
  } catch (e) {
    res = e;
  }
  t.mock.restoreAll();
  const plain = await run(schema, data, false);
  console.log('P2 plain: ' + JSON.stringify({ prior: plain.outcome.prior, cols: plain.outcome.featureSpace.columns.slice(0, 2) }));
  const o = res as { outcome?: { prior: unknown; featureSpace: { columns: unknown[] } } };
  console.log('P2 result:', res instanceof Error ? `threw ${res.message}` : JSON.stringify({ prior: o.outcome?.prior, cols: o.outcome?.featureSpace.columns.slice(0, 2) }));
  assert.ok(done);
});

/** Smallest (n, p) with p positives consistent with accuracy, balanced accuracy and AUROC as exact rationals. */
function recoverCounts(r: { accuracy: number; balancedAccuracy: number; auroc: number }, maxN = 400): { n: number; p: number }[] {
  const near = (x: number) => Math.abs(x - Math.round(x)) < 1e-6;
  const out: { n: number; p: number }[] = [];
  for (let n = 2; n <= maxN && out.length < 3; n++) {
    if (!near(r.accuracy * n)) continue;
    const correct = Math.round(r.accuracy * n);
    for (let p = 1; p < n; p++) {
      const q = n - p;
      if (!near(r.auroc * p * q * 2)) continue;
      let ok = false;
      for (let tp = 0; tp <= p && !ok; tp++) {
        const tn = correct - tp;
        if (tn < 0 || tn > q) continue;
        ok = Math.abs((tp / p + tn / q) / 2 - r.balancedAccuracy) < 1e-9;
      }
      if (ok) out.push({ n, p });
    }
  }
  return out;
}

test('P3 a site report\'s rates give away its held-out row count', { timeout: 120_000 }, async (t) => {
  const data = Object.fromEntries(SITES.map((s, k) => [s, prepareLocalData(parseSiteTable(schema, siteCsv(k, () => undefined), `${s}.csv`), { testFraction: 0.3, seed: 1, minTrainingRows: 20 })]));
  const reports: { site: string; r: unknown }[] = [];
  const deliver = RoundLoop.prototype.deliver;
  t.mock.method(RoundLoop.prototype, 'deliver', function (this: RoundLoop, site: string, meta: ResultMeta, ...rest: unknown[]) {
    if (meta.report) reports.push({ site, r: meta.report });
    return (deliver as (...a: unknown[]) => void).call(this, site, meta, ...rest);
  });
  await run(schema, data, true);
  for (const { site, r } of reports) {
    const e = (r as { evaluation: { accuracy: number; balancedAccuracy: number; auroc: number } }).evaluation;
    const labels = data[site]!.test.labels;
    console.log(`P3 ${site}: true n=${labels.length} p=${labels.filter((y) => y === 1).length}; candidates ${JSON.stringify(recoverCounts(e))}; report ${JSON.stringify(r)}`);
  }
});

test('P4 a site silent from the names round on (after the summary sum): vocabulary from the others, or a clear failure', { timeout: 120_000 }, async () => {
  const data = Object.fromEntries([...SITES, 'west'].map((s, k) => [s, prepareLocalData(parseSiteTable(schema, siteCsv(k, (i) => (s === 'east' && i < 30 ? 'E' : undefined)), `${s}.csv`), { testFraction: 0.3, seed: 1, minTrainingRows: 20 })]));
  let n = 0;
  const { fed, agents } = inProcessFederation({
    schema,
    sites: data,
    wrap: (site, tr) => (site !== 'east' ? tr : { ...tr, subscribe: tr.subscribe.bind(tr), submit: (m) => (++n > 5 ? new Promise(() => undefined) : tr.submit(m)) }),
    settings: {
      federation: 'probe',
      quorum: { minSitesToStart: 4, minSitesToAccept: 3, roundDeadlineMs: 3000, startTimeoutMs: 10_000, rejoinGraceMs: 0, waitForAllMs: 0 },
      bounds: { ...DEFAULT_RESULT_BOUNDS, updateNormMultiple: 1e9 },
      secureAggregation: compileSecAggConfig({}),
    },
  });
  const settled = agents.map((a) => a.done.catch((e: Error) => e.message));
  const keepAlive = setInterval(() => undefined, 500);
  const t0 = Date.now();
  try {
    const o = await fed.loop.run();
    console.log(`P4 after ${Date.now() - t0} ms ` + JSON.stringify(o.history.map((h) => h.failed)));
    console.log('P4 ' + JSON.stringify({ ward: o.featureSpace.columns.filter((c) => c.feature === 'ward').map((c) => c.category), prior: o.prior, problems: o.problems }));
  } catch (e) {
    console.log('P4 threw ' + (e as Error).message);
  } finally {
    clearInterval(keepAlive);
    await fed.loop.end('done', 'complete').catch(() => undefined);
    for (const a of agents) a.transport.close();
    await Promise.race([Promise.all(settled), new Promise((r) => setTimeout(r, 2000))]);
  }
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SecAggAbort } from '../../../shared/secagg/errors.ts';
import { runInMemoryRound, type DropPoint, type InMemorySite } from '../../../shared/secagg/in-memory.ts';
import { VectorLayout } from '../../../shared/secagg/layout.ts';
import { federation, seeded, type Federation } from './helpers.ts';

/** Weights and statistics in one vector, as a site would send them. */
function statsLayout(n: number): VectorLayout {
  return new VectorLayout(
    [
      { name: 'update', length: 500, kind: 'real', bound: 5 },
      { name: 'counts', length: 20, kind: 'count', bound: 10_000 },
      { name: 'sums', length: 10, kind: 'integer', bound: 100_000 },
    ],
    n,
  );
}

interface Values {
  update: number[];
  counts: number[];
  sums: number[];
}

function siteValues(seed: number): Values {
  const r = seeded(seed);
  return {
    update: Array.from({ length: 500 }, () => (r() * 2 - 1) * 5),
    counts: Array.from({ length: 20 }, () => Math.floor(r() * 10_000)),
    sums: Array.from({ length: 10 }, () => Math.floor((r() * 2 - 1) * 100_000)),
  };
}

async function round(f: Federation, drops: Record<string, DropPoint> = {}) {
  const layout = statsLayout(f.ids.length);
  const values = new Map(f.ids.map((id, i) => [id, siteValues(100 + i)]));
  const sites = new Map<string, InMemorySite>(
    f.ids.map((id) => [id, { signing: f.signing.get(id)!, input: layout.encode(values.get(id)! as unknown as Record<string, number[]>).vector, dropAt: drops[id] }]),
  );
  const run = await runInMemoryRound(f.plan, sites, layout.length);
  return { run, layout, values, sites };
}

function assertSumOf(included: string[], r: Awaited<ReturnType<typeof round>>): void {
  const d = r.layout.decodeSum(r.run.result.sum);
  const plain = (part: keyof Values, i: number) => included.reduce((a, id) => a + r.values.get(id)![part][i]!, 0);
  const bound = r.layout.errorBound('update', included.length);
  for (let i = 0; i < 500; i++) assert.ok(Math.abs(d.update![i]! - plain('update', i)) <= bound, `update[${i}] off by more than ${bound}`);
  for (let i = 0; i < 20; i++) assert.equal(d.counts![i], plain('counts', i), `counts[${i}]`);
  for (let i = 0; i < 10; i++) assert.equal(d.sums![i], plain('sums', i), `sums[${i}]`);
}

test('with every site present, the unmasked sum is the plain sum: weights within the bound, statistics exactly', async () => {
  const f = federation(5);
  const r = await round(f);
  assert.deepEqual(r.run.result.included, f.ids);
  assert.deepEqual(r.run.result.dropped, []);
  assertSumOf(f.ids, r);
});

test('each masked vector the coordinator receives differs from the site\'s encoding and looks uniform', async () => {
  const f = federation(4);
  const layout = new VectorLayout([{ name: 'x', length: 65536, kind: 'real', bound: 1 }], 4);
  // Encodings near zero: small words or words just below 2^32, far from uniform.
  const sites = new Map<string, InMemorySite>(f.ids.map((id, i) => [id, { signing: f.signing.get(id)!, input: layout.encode({ x: new Float64Array(65536).fill(i * 0.01) }).vector }]));
  const { SecAggCoordinator } = await import('../../../shared/secagg/coordinator.ts');
  const seen: Uint32Array[] = [];
  const original = SecAggCoordinator.prototype.receiveMaskedInput;
  SecAggCoordinator.prototype.receiveMaskedInput = function (m) {
    seen.push(Uint32Array.from(m.masked));
    return original.call(this, m);
  };
  try {
    await runInMemoryRound(f.plan, sites, layout.length);
  } finally {
    SecAggCoordinator.prototype.receiveMaskedInput = original;
  }
  assert.equal(seen.length, 4);
  for (const [k, masked] of seen.entries()) {
    const input = sites.get(f.ids[k]!)!.input;
    let equal = 0;
    const hist = new Array<number>(256).fill(0);
    for (let i = 0; i < masked.length; i++) {
      if (masked[i] === input[i]) equal++;
      hist[masked[i]! >>> 24]!++;
    }
    assert.ok(equal < 5, `${equal} of 65536 words went through unmasked`);
    // Chi-square of the top byte over 256 bins: ~255 +- 23 for uniform words; 370 is p ~ 1e-5.
    const expected = masked.length / 256;
    const chi2 = hist.reduce((a, c) => a + (c - expected) ** 2 / expected, 0);
    assert.ok(chi2 < 370, `top bytes of site ${k}'s masked vector are not uniform (chi-square ${chi2.toFixed(0)})`);
    // The plain encodings would fail that test badly: they sit in one or two bins.
    const plainHist = new Array<number>(256).fill(0);
    for (const w of input) plainHist[w >>> 24]!++;
    assert.ok(plainHist.reduce((a, c) => a + (c - expected) ** 2 / expected, 0) > 10_000);
  }
});

test('one site dropping after key sharing is recovered: the sum is that of the others', async () => {
  const f = federation(6); // threshold 5
  const r = await round(f, { 'site-03': 'mask' });
  assert.deepEqual(r.run.result.dropped, ['site-03']);
  assertSumOf(f.ids.filter((id) => id !== 'site-03'), r);
});

test('two sites dropping after key sharing are recovered', async () => {
  const f = federation(10); // threshold 7
  const r = await round(f, { 'site-01': 'mask', 'site-08': 'mask' });
  assert.deepEqual(r.run.result.dropped, ['site-01', 'site-08']);
  assertSumOf(f.ids.filter((id) => id !== 'site-01' && id !== 'site-08'), r);
});

test('dropouts at every other point are survived too while the threshold holds', async () => {
  const f = federation(10);
  const r = await round(f, { 'site-00': 'advertise', 'site-04': 'share', 'site-07': 'confirm' });
  // site-07 sent its input, then stopped: its input is in the sum, its self-mask rebuilt from others' shares.
  assert.deepEqual(r.run.result.dropped, []);
  const included = f.ids.filter((id) => id !== 'site-00' && id !== 'site-04');
  assert.deepEqual(r.run.result.included, included);
  assertSumOf(included, r);
});

test('a site that stops after signing the survivor list is still in the sum', async () => {
  const f = federation(6);
  const r = await round(f, { 'site-02': 'unmask' });
  assert.deepEqual(r.run.result.included, f.ids);
  assertSumOf(f.ids, r);
});

test('dropouts below the threshold abort the round with the reason, and release no sum', async () => {
  const f = federation(6); // threshold 5
  await assert.rejects(
    round(f, { 'site-01': 'mask', 'site-02': 'mask' }),
    (e: unknown) => e instanceof SecAggAbort && /aborted: only 4 sites sent masked inputs, the threshold is 5; no sum is released/.test(e.message),
  );
  await assert.rejects(
    round(f, { 'site-01': 'advertise', 'site-02': 'advertise' }),
    (e: unknown) => e instanceof SecAggAbort && /only 4 sites sent advertised keys, the threshold is 5/.test(e.message),
  );
  await assert.rejects(
    round(f, { 'site-01': 'confirm', 'site-02': 'confirm' }),
    (e: unknown) => e instanceof SecAggAbort && /only 4 sites signed the survivor list, the threshold is 5/.test(e.message),
  );
  await assert.rejects(
    round(f, { 'site-01': 'unmask', 'site-02': 'unmask' }),
    (e: unknown) => e instanceof SecAggAbort && /only 4 sites answered the unmasking request, the threshold is 5/.test(e.message),
  );
});

test('SecAgg+ sparse graph: masks only with k neighbours, and dropout recovery still gives the sum', async () => {
  const f = federation(12, { neighbours: 4 }); // neighbourhood 5, threshold 4
  assert.equal(f.plan.threshold, 4);
  for (const id of f.ids) assert.equal(f.plan.neighbours(id).length, 4);
  const r = await round(f, { 'site-05': 'mask' });
  assert.deepEqual(r.run.result.dropped, ['site-05']);
  assertSumOf(f.ids.filter((id) => id !== 'site-05'), r);
});

/**
 * Secure aggregation vs the plain sum, in one process (no network, no training):
 * 10 sites, a 1M-parameter model update (example-weighted w*n plus n, as FedAvg sums
 * today), all rounds of Bonawitz et al. (with the ConsistencyCheck) for all sites and the coordinator.
 *
 *   node --import tsx bench/secagg.ts [--sites 10] [--params 1000000] [--repeats 3]
 *
 * Prints a markdown table on stderr and one JSON line on stdout. Times are medians of
 * the repeats after a warm-up round; the machine's cores are shared, so the plain sum
 * is measured in the same run and each secure time is also given as a ratio to it.
 */
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import nacl from 'tweetnacl';
import { WeightedSum } from '../coordinator/strategy/aggregate.ts';
import { compileSecAggConfig } from '../shared/secagg/config.ts';
import { runInMemoryRound, type InMemoryRound, type InMemorySite } from '../shared/secagg/in-memory.ts';
import { modelUpdateLayout, weightedUpdate } from '../shared/secagg/layout.ts';
import { RoundPlan } from '../shared/secagg/round-plan.ts';
import { median } from './workload.ts';

/** Bonawitz et al., CCS 2017 (abstract): 16-bit inputs, expansion over sending the data in the clear. */
const PAPER_EXPANSION = [
  { users: 2 ** 10, dimension: 2 ** 20, expansion: 1.73 },
  { users: 2 ** 14, dimension: 2 ** 24, expansion: 1.98 },
];

const { values: args } = parseArgs({ options: { sites: { type: 'string', default: '10' }, params: { type: 'string', default: '1000000' }, repeats: { type: 'string', default: '3' } } });
const SITES = Number(args.sites);
const PARAMS = Number(args.params);
const REPEATS = Number(args.repeats);

const config = compileSecAggConfig({});
const ids = Array.from({ length: SITES }, (_, i) => `site-${String(i).padStart(2, '0')}`);
const signing = new Map(ids.map((id) => [id, nacl.sign.keyPair()]));
const weights = ids.map(() => Float32Array.from({ length: PARAMS }, () => (Math.random() * 2 - 1) * 0.5));
const examples = ids.map(() => 100 + Math.floor(Math.random() * 900));
const layout = modelUpdateLayout(PARAMS, SITES, config);

function plainSum(): number {
  const t = performance.now();
  const acc = new WeightedSum(PARAMS);
  weights.forEach((w, i) => acc.addChunk(examples[i]!, 0, w));
  acc.mean(examples.reduce((a, b) => a + b, 0));
  return performance.now() - t;
}

function encodeAll(): { inputs: Uint32Array[]; perSiteMs: number[] } {
  const perSiteMs: number[] = [];
  const inputs = weights.map((w, i) => {
    const t = performance.now();
    const v = layout.encode(weightedUpdate(w, examples[i]!, config)).vector;
    perSiteMs.push(performance.now() - t);
    return v;
  });
  return { inputs, perSiteMs };
}

async function secureRound(round: number, dropped: string[] = []): Promise<{ run: InMemoryRound; decodeMs: number; maxErr: number }> {
  const { inputs } = encodeAll();
  const plan = new RoundPlan(`bench/${round}/fit`, new Map(ids.map((id) => [id, signing.get(id)!.publicKey])), config);
  const sites = new Map<string, InMemorySite>(ids.map((id, i) => [id, { signing: signing.get(id)!, input: inputs[i]!, dropAt: dropped.includes(id) ? 'mask' : undefined }]));
  const run = await runInMemoryRound(plan, sites, layout.length);
  const t = performance.now();
  const d = layout.decodeSum(run.result.sum);
  const decodeMs = performance.now() - t;
  // Check the result against the plain weighted sum of the included sites.
  let maxErr = 0;
  const included = ids.map((id, i) => [id, i] as const).filter(([id]) => !dropped.includes(id));
  for (let p = 0; p < PARAMS; p += 997) {
    const plain = included.reduce((a, [, i]) => a + weights[i]![p]! * examples[i]!, 0);
    maxErr = Math.max(maxErr, Math.abs(d.weightedUpdate![p]! - plain));
  }
  if (maxErr > layout.errorBound('weightedUpdate', included.length)) throw new Error(`secure sum off by ${maxErr}, above the quantization bound`);
  if (d.numExamples![0] !== included.reduce((a, [, i]) => a + examples[i]!, 0)) throw new Error('example count is not exact');
  return { run, decodeMs, maxErr };
}

async function main(): Promise<void> {
  const say = (m: string) => process.stderr.write(m + '\n');
  say(`secagg bench: ${SITES} sites, ${PARAMS.toLocaleString('en')} parameters, ${REPEATS} repeats (+1 warm-up), load ${os.loadavg()[0]!.toFixed(1)}`);
  plainSum();
  await secureRound(0);
  const plain: number[] = [];
  const encode: number[] = [];
  const total: number[] = [];
  const mask: number[] = [];
  const site: number[] = [];
  const coord: number[] = [];
  const phases: Record<string, number[]> = { advertise: [], share: [], mask: [], confirm: [], unmask: [] };
  const decode: number[] = [];
  const recovery: number[] = [];
  let bytes = 0;
  let maxErr = 0;
  for (let r = 1; r <= REPEATS; r++) {
    plain.push(plainSum());
    encode.push(median(encodeAll().perSiteMs));
    const s = await secureRound(r);
    total.push(s.run.totalMs);
    mask.push(median(Object.values(s.run.maskMs)));
    site.push(median(Object.values(s.run.siteMs)));
    coord.push(s.run.coordinatorMs);
    for (const k of Object.keys(phases)) phases[k]!.push(s.run.phaseMs[k as keyof typeof s.run.phaseMs]);
    decode.push(s.decodeMs);
    bytes = Math.max(...Object.values(s.run.bytesSent));
    maxErr = Math.max(maxErr, s.maxErr);
    const d = await secureRound(100 + r, [ids[3]!]);
    recovery.push(d.run.phaseMs.unmask);
    say(`  repeat ${r}: plain ${plain.at(-1)!.toFixed(1)} ms, secure round ${s.run.totalMs.toFixed(0)} ms, with one dropout the unmasking takes ${d.run.phaseMs.unmask.toFixed(0)} ms`);
  }
  const plainBytes = 4 * PARAMS;
  const result = {
    sites: SITES,
    params: PARAMS,
    repeats: REPEATS,
    threshold: Math.floor((2 * SITES) / 3) + 1,
    machine: { cpu: os.cpus()[0]?.model, cores: os.cpus().length, node: process.version, loadAverage: os.loadavg() },
    plainSumMs: median(plain),
    secureRoundMs: median(total),
    ratio: median(total) / median(plain),
    phaseMs: Object.fromEntries(Object.entries(phases).map(([k, v]) => [k, median(v)])),
    perSiteEncodeMs: median(encode),
    perSiteMaskMs: median(mask),
    perSiteAllRoundsMs: median(site),
    coordinatorMs: median(coord),
    parallelEstimateMs: median(site) + median(encode) + median(coord),
    decodeMs: median(decode),
    unmaskWithOneDropoutMs: median(recovery),
    bytesPerSite: bytes,
    plainBytesPerSite: plainBytes,
    expansion: bytes / plainBytes,
    fractionalBits: layout.part('weightedUpdate').fractionalBits,
    errorBound: layout.errorBound('weightedUpdate'),
    maxAbsErrorSeen: maxErr,
    paper: PAPER_EXPANSION,
  };
  const f = (x: number, d = 1) => x.toLocaleString('en', { maximumFractionDigits: d, minimumFractionDigits: d });
  say(`
| ${SITES} sites, ${PARAMS.toLocaleString('en')} params, one process | measured (median of ${REPEATS}) |
|---|---|
| plain weighted sum at the coordinator (FedAvg's WeightedSum, all sites) | ${f(result.plainSumMs)} ms |
| secure round, all rounds, all sites + coordinator, one after another | ${f(result.secureRoundMs, 0)} ms (${f(result.ratio)}x the plain sum) |
| of which advertise / share keys / masked input / consistency check / unmasking | ${['advertise', 'share', 'mask', 'confirm', 'unmask'].map((k) => f(result.phaseMs[k]!, 0)).join(' / ')} ms |
| per site: clip + encode | ${f(result.perSiteEncodeMs)} ms |
| per site: masking (open shares, ${SITES - 1} pairwise + 1 self mask) | ${f(result.perSiteMaskMs)} ms |
| per site: all its own work in the round (keys, signatures, shares, masking, unmask answer) | ${f(result.perSiteAllRoundsMs)} ms |
| coordinator: all its work (checks, running sum, rebuilding secrets, removing masks) | ${f(result.coordinatorMs)} ms |
| sites in parallel (one site's encode + work, plus the coordinator's): estimate, no network | ${f(result.parallelEstimateMs, 0)} ms (${f(result.parallelEstimateMs / result.plainSumMs)}x the plain sum) |
| unmasking round (sites' answers + coordinator) with one site dropped after sharing keys | ${f(result.unmaskWithOneDropoutMs, 0)} ms |
| bytes one site sends, secure (payload, all rounds) | ${bytes.toLocaleString('en')} |
| bytes one site sends, plain (4 bytes/param) | ${plainBytes.toLocaleString('en')} |
| expansion | ${f(result.expansion, 4)}x (Bonawitz et al.: 1.73x for 2^10 users, 2^20 dims; 1.98x for 2^14 users, 2^24 dims; 16-bit inputs) |
| fixed point: fraction bits / error bound of the summed w*n / max error seen | ${result.fractionalBits} / ${result.errorBound.toExponential(2)} / ${result.maxAbsErrorSeen.toExponential(2)} |
`);
  console.log(JSON.stringify(result));
}

main().catch((e: Error) => {
  console.error(`secagg bench failed: ${e.stack ?? e.message}`);
  process.exit(1);
});

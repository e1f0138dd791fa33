/**
 * A secure fit round against a plain one: the real coordinator and site agents in one
 * process (createFederation, SiteAgent, the in-memory transport: signed, encrypted,
 * chunked messages, no sockets), 10 sites, a ~1M-parameter baseline model, one round each.
 *
 *   node --import tsx bench/secure-round.ts [--sites 10] [--params 1000000] [--write]
 *
 * Both runs train the same models (same seeds), so the difference of their round times is
 * what secure aggregation adds. The sites run one after another in this one thread: a
 * round's time is the sum of every site's work, not a deployment's (sites in parallel);
 * the per-site and coordinator secure-aggregation times are measured apart for that.
 * Bytes: every envelope a site sends in the fit round (header, signature, sealed chunks).
 * Prints a markdown section on stderr and one JSON line on stdout; --write puts the
 * section into docs/benchmarks.md between its markers (bench/run.ts calls it so).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import nacl from 'tweetnacl';
import { createFederation } from '../coordinator/federation.ts';
import { SecureAggregator } from '../coordinator/secure-round.ts';
import type { RoundRecord } from '../coordinator/round-outcome.ts';
import { createStrategy } from '../coordinator/strategy/registry.ts';
import { generateIdentity } from '../shared/crypto/keys.ts';
import type { Logger } from '../shared/logger.ts';
import { backendFromEnv, loadBackend } from '../shared/model/backend.ts';
import { compileSecAggConfig } from '../shared/secagg/config.ts';
import { runInMemoryRound, type InMemoryRound } from '../shared/secagg/in-memory.ts';
import { weightedUpdate } from '../shared/secagg/layout.ts';
import { RoundPlan } from '../shared/secagg/round-plan.ts';
import { SECURE_METRICS, secureFitLayout } from '../shared/secagg/wire.ts';
import { inMemoryTransport } from '../shared/transport/in-memory.ts';
import type { SiteTransport, WireMessage } from '../shared/transport/types.ts';
import { SiteAgent } from '../site-agent/agent.ts';
import { SecureAggregationSite } from '../site-agent/secure-aggregation.ts';
import { prepareLocalData } from '../site-agent/local-data.ts';
import { HEART_SITES, loadHeartWorkload } from './workload.ts';

const MODALITY_DIM = 64;
export const SECURE_TARGET = 1.5;
const MARK_BEGIN = '<!-- secure-round: written by bench/secure-round.ts -->';
const MARK_END = '<!-- /secure-round -->';
/** Bonawitz et al., CCS 2017 (abstract): 16-bit inputs, total data expansion over sending them in the clear. */
const PAPER = '1.73x (2^10 users, 2^20 dims), 1.98x (2^14 users, 2^24 dims), 16-bit inputs';

const { values: args } = parseArgs({ options: { sites: { type: 'string', default: '10' }, params: { type: 'string', default: '1000000' }, write: { type: 'boolean', default: false } } });
const SITES = Number(args.sites);
const TARGET_PARAMS = Number(args.params);
let params = 0;
const progress = (m: string) => process.stderr.write(`  [secure-round] ${m}\n`);
const log: Logger = {
  debug() {},
  info() {},
  warn: (m, f) => progress(`warn: ${m} ${JSON.stringify(f ?? {})}`),
  error: (m, f) => progress(`error: ${m} ${JSON.stringify(f ?? {})}`),
  child: () => log,
};

interface RunResult {
  record: RoundRecord;
  /** Per site: bytes of every envelope it sent during the fit round (and its secure phases). */
  bytes: Record<string, number>;
  wallMs: number;
}

/**
 * What secure aggregation adds to a round, timed where it happens: the sites' encoding and
 * advertising at the end of the fit task (synchronous, so each site's own time), and the
 * coordinator's aggregate() from the end of the fit collection to the new model (the four
 * phases with every site's answers, and the decoding). Training is over by then, so its
 * load-dependent time is not in these.
 */
const added = { fitResultMs: 0, aggregateMs: 0 };
// Wrapped in place and always called with the instance as `this` (apply): the unbound reads are deliberate.
{
  // eslint-disable-next-line @typescript-eslint/unbound-method
  const fit = SecureAggregationSite.prototype.fitResult;
  SecureAggregationSite.prototype.fitResult = function (this: SecureAggregationSite, ...a: Parameters<typeof fit>) {
    const t0 = performance.now();
    try {
      return fit.apply(this, a);
    } finally {
      added.fitResultMs += performance.now() - t0;
    }
  };
  // eslint-disable-next-line @typescript-eslint/unbound-method
  const aggregate = SecureAggregator.prototype.aggregate;
  SecureAggregator.prototype.aggregate = async function (this: SecureAggregator, ...a: Parameters<typeof aggregate>) {
    const t0 = performance.now();
    try {
      return await aggregate.apply(this, a);
    } finally {
      added.aggregateMs += performance.now() - t0;
    }
  };
}

const kindOf = (m: WireMessage) => (JSON.parse(new TextDecoder().decode(m.header)) as { kind: string }).kind;
const FIT_KINDS = /^(fit-result|secagg-result-\d)$/;

async function runOnce(secure: boolean): Promise<RunResult> {
  const w = loadHeartWorkload();
  const D = w.data.dim;
  const K = w.space.modalities.length;
  const E = K * MODALITY_DIM;
  const hiddenDim = Math.max(1, Math.round((TARGET_PARAMS - D * E - 2 * E - 1) / (E + K + 2)));
  params = D * E + 2 * E + (E + K) * hiddenDim + 2 * hiddenDim + 1; // the baseline's count (bench/round-overhead.ts baselineParams)
  const coord = generateIdentity();
  const names = Array.from({ length: SITES }, (_, i) => `site-${String(i).padStart(2, '0')}`);
  const ids = new Map(names.map((n) => [n, generateIdentity()]));
  const records: RoundRecord[] = [];
  const fed = createFederation(
    {
      federation: 'bench',
      rounds: 1,
      model: { kind: 'baseline', raw: { modalityDim: MODALITY_DIM, hiddenDim, localEpochs: 1 }, seed: 1 },
      strategy: createStrategy('fedavg'),
      schema: w.schema,
      sites: names.map((name) => ({ name, signingPublicKey: ids.get(name)!.signing.publicKey })),
      quorum: { minSitesToStart: SITES, minSitesToAccept: SITES, roundDeadlineMs: 3_600_000, startTimeoutMs: 60_000, rejoinGraceMs: 0, waitForAllMs: 0 },
      minCellCount: 5,
      localBaseline: false,
      identity: coord,
      limits: { maxPayloadBytes: 2 ** 31, maxChunkSize: 1 << 20, maxMessageAgeMs: 3_600_000 },
      spool: 'memory',
      ...(secure ? { secureAggregation: compileSecAggConfig({}) } : {}),
    },
    log,
    (e) => {
      if (e.type === 'round') records.push(e.record);
    },
  );
  const bytes: Record<string, number> = Object.fromEntries(names.map((n) => [n, 0]));
  const agents = names.map((site, i) => {
    const base = inMemoryTransport(fed.service);
    const transport: SiteTransport = {
      ...base,
      submit: async (m) => {
        if (FIT_KINDS.test(kindOf(m))) {
          let n = m.header.length + m.signature.length;
          const chunks: Uint8Array[] = [];
          for await (const c of m.chunks) {
            chunks.push(c);
            n += c.length;
          }
          bytes[site]! += n;
          return base.submit({ ...m, chunks });
        }
        return base.submit(m);
      },
    };
    const src = w.tables[i % HEART_SITES.length]!;
    const agent = new SiteAgent({
      site,
      federation: 'bench',
      schema: w.schema,
      data: prepareLocalData(src.table, { testFraction: 0.3, seed: 1 + i }),
      identity: ids.get(site)!,
      coordinator: { signingPublicKey: coord.signing.publicKey, boxPublicKey: coord.box.publicKey },
      transport,
      seed: 1 + i,
      log,
      trainYieldEveryMs: Infinity,
    });
    return { transport, done: agent.run().catch((e: Error) => progress(`site ${site}: ${e.message}`)) };
  });
  const t0 = performance.now();
  try {
    await fed.loop.run();
    await fed.loop.end('done', 'complete');
    await Promise.all(agents.map((a) => a.done));
  } finally {
    for (const a of agents) a.transport.close();
  }
  return { record: records[0]!, bytes, wallMs: performance.now() - t0 };
}

/** Each site's and the coordinator's secure-aggregation work, one call after another (runInMemoryRound), on the fit layout of `params` weights. */
async function secureWork(sites: number, params: number): Promise<{ round: InMemoryRound; encodeMs: number }> {
  const config = compileSecAggConfig({});
  const ids = Array.from({ length: sites }, (_, i) => `site-${String(i).padStart(2, '0')}`);
  const signing = new Map(ids.map((id) => [id, nacl.sign.keyPair()]));
  const plan = new RoundPlan('bench/1/fit', new Map(ids.map((id) => [id, signing.get(id)!.publicKey])), config);
  const layout = secureFitLayout(params, sites, config);
  const weights = Float32Array.from({ length: params }, (_, i) => Math.sin(i) * 0.5);
  const t0 = performance.now();
  const inputs = ids.map((_, i) => layout.encode({ ...weightedUpdate(weights, 200 + i, config), metricWeights: new Array<number>(SECURE_METRICS.length).fill(200), ...Object.fromEntries(SECURE_METRICS.map((m) => [m.name, [100]])) }).vector);
  const encodeMs = (performance.now() - t0) / sites;
  const round = await runInMemoryRound(plan, new Map(ids.map((id, i) => [id, { signing: signing.get(id)!, input: inputs[i]! }])), layout.length);
  return { round, encodeMs };
}

async function main(): Promise<void> {
  const backend = await loadBackend(backendFromEnv(process.env), log);
  progress(`${SITES} sites, ~${TARGET_PARAMS.toLocaleString('en')}-parameter baseline, backend ${backend}: plain round`);
  const plain = await runOnce(false);
  progress(`plain round ${plain.record.durationMs} ms; secure round`);
  const secure = await runOnce(true);
  progress(`secure round ${secure.record.durationMs} ms`);
  // In the federation the sites share this thread and interleave at every await, so each
  // site's own secure work is timed apart: one secure round of the same vector, in memory.
  progress('per-site and coordinator work: one in-memory secure round of the same vector');
  const work = await secureWork(SITES, params);
  const sum = (r: Record<string, number>) => Object.values(r).reduce((a, b) => a + b, 0);
  const maxSite = Math.max(...Object.values(work.round.siteMs));
  const meanMask = sum(work.round.maskMs) / SITES;
  const meanEncode = work.encodeMs;
  const coordinatorMs = work.round.coordinatorMs;
  const meanBytes = (r: Record<string, number>) => sum(r) / SITES;
  const result = {
    date: new Date().toISOString(),
    machine: { cpu: os.cpus()[0]?.model ?? 'unknown', cores: os.cpus().length, loadAverage: os.loadavg(), node: process.version, backend },
    sites: SITES,
    params,
    plainRoundMs: plain.record.durationMs,
    secureRoundMs: secure.record.durationMs,
    ratio: secure.record.durationMs / plain.record.durationMs,
    extraMs: secure.record.durationMs - plain.record.durationMs,
    /** Timed where secure aggregation happens (see `added`): the sites' fit-result encoding, all sites, and the coordinator's aggregate(). */
    addedMs: { ...added },
    slowestTrainMs: { plain: plain.record.slowestTrainMs, secure: secure.record.slowestTrainMs },
    perSiteEncodeMs: meanEncode,
    perSiteMaskMs: meanMask,
    perSiteSecAggMsMax: maxSite,
    coordinatorSecAggMs: coordinatorMs,
    /** Sites in parallel: the slowest site's secure work plus the coordinator's, no network. */
    parallelExtraEstimateMs: maxSite + meanEncode + coordinatorMs,
    bytesPerSite: { plain: meanBytes(plain.bytes), secure: meanBytes(secure.bytes) },
    expansion: meanBytes(secure.bytes) / meanBytes(plain.bytes),
    accepted: { plain: plain.record.accepted, secure: secure.record.accepted },
    evalAuroc: { plain: plain.record.metrics.eval_auroc, secure: secure.record.metrics.eval_auroc },
    target: SECURE_TARGET,
  };
  const f = (x: number, d = 0) => x.toLocaleString('en', { maximumFractionDigits: d, minimumFractionDigits: d });
  const secureExtra = added.fitResultMs + added.aggregateMs;
  // The plain round plus what secure aggregation adds, timed where it happens: the two runs' training differs only by the machine's load.
  const corrected = (plain.record.durationMs + secureExtra) / plain.record.durationMs;
  const estimateRatio = (plain.record.slowestTrainMs + result.parallelExtraEstimateMs) / Math.max(1, plain.record.slowestTrainMs);
  Object.assign(result, { secureExtraMs: secureExtra, correctedRatio: corrected, parallelEstimateRatio: estimateRatio });
  const section = `${MARK_BEGIN}
## Secure aggregation: a secure fit round vs a plain one

\`node --import tsx bench/secure-round.ts --write\`: the real coordinator and site agents in one process
(in-memory transport: signed, encrypted, chunked messages, no sockets), ${SITES} sites, the baseline model at
${f(params)} parameters, one fit round each, same seeds, default settings (threshold floor(2n/3)+1, clipBound 10,
maxExamples 100,000). Measured ${result.date} on ${result.machine.cpu}, ${result.machine.cores} cores,
load average ${result.machine.loadAverage.map((l) => l.toFixed(1)).join(' / ')}, Node ${result.machine.node}, tfjs ${backend}.
One run: the cores are shared with other work, so treat absolute times as rough.

| what | measured |
| :--- | ---: |
| plain fit round (RoundRecord.durationMs, ${SITES} sites one after another) | ${f(result.plainRoundMs)} ms |
| secure fit round, same work + AdvertiseKeys, ShareKeys, MaskedInput, ConsistencyCheck, Unmasking | ${f(result.secureRoundMs)} ms |
| wall time ratio, secure / plain, as measured | ${result.ratio.toFixed(2)}x |
| secure aggregation adds, timed where it happens: the sites' encode + advertise (all ${SITES}) / the four phases and decoding | ${f(added.fitResultMs)} / ${f(added.aggregateMs)} ms |
| **wall time ratio, (plain round + what secure aggregation adds) / plain round** (target <= ${SECURE_TARGET}x) | **${corrected.toFixed(2)}x** (${corrected <= SECURE_TARGET ? 'met' : 'NOT met'}) |
| per site: clip + encode its vector (mean; timed apart, see below) | ${f(meanEncode, 1)} ms |
| per site: masking (open shares, ${SITES - 1} pairwise + 1 self mask over the vector) (mean) | ${f(meanMask, 1)} ms |
| per site: all its secure-aggregation work (slowest site) | ${f(maxSite, 1)} ms |
| coordinator: all its secure-aggregation work (checks, running sum, unmasking) | ${f(coordinatorMs, 1)} ms |
| slowest site's training (plain / secure run) | ${f(plain.record.slowestTrainMs)} / ${f(secure.record.slowestTrainMs)} ms |
| sites in parallel, estimate: slowest training + slowest site's secure work + encode + coordinator's, over slowest training | ${estimateRatio.toFixed(2)}x |
| bytes one site sends in a fit round, plain (fit result envelope) | ${f(result.bytesPerSite.plain)} |
| bytes one site sends in a fit round, secure (fit result + 4 phase envelopes) | ${f(result.bytesPerSite.secure)} |
| expansion | ${result.expansion.toFixed(4)}x (Bonawitz et al.: ${PAPER}) |
| eval AUROC of the round's starting model, plain / secure | ${result.evalAuroc.plain?.toFixed(4)} / ${result.evalAuroc.secure?.toFixed(4)} |

The measured ratio compares two runs whose training (most of a round) varies with the machine's
load; the next row adds what secure aggregation costs, timed where it happens, to the plain round.
That row is an upper bound: its phases include sealing, sending and opening the masked vectors,
which replace the plain fit result's upload of the same size (the plain round's time has that upload).
Both count every site's training and secure work one after another, so they understate what
secure aggregation costs a deployment whose sites train in parallel. In the federation the sites
share one thread and interleave at every await, so the per-site and coordinator rows are timed
apart, in the same process: one in-memory secure round (shared/secagg/in-memory.ts) of the same
vector, each call alone. The estimate row adds the slowest site's and the coordinator's secure work
to the slowest training (no network); the slowest training is itself inflated by the interleaving.
Bytes: a masked vector is 4 bytes per ring word, the same as a float32 update; the phases add keys,
signatures and sealed shares (about 2 KB for 10 sites) and the vector's few metric words.
${MARK_END}
`;
  process.stderr.write(section);
  if (args.write) {
    const path = join(import.meta.dirname, '../docs/benchmarks.md');
    const doc = readFileSync(path, 'utf8');
    const a = doc.indexOf(MARK_BEGIN);
    const b = doc.indexOf(MARK_END);
    const next = a >= 0 && b > a ? doc.slice(0, a) + section.trimEnd() + doc.slice(b + MARK_END.length) : `${doc.trimEnd()}\n\n${section}`;
    writeFileSync(path, next);
    progress(`wrote its section into ${path}`);
  }
  console.log(JSON.stringify(result));
}

main().catch((e: Error) => {
  console.error(`secure-round bench failed: ${e.stack ?? e.message}`);
  process.exit(1);
});

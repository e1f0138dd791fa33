/**
 * Child process of bench/run.ts: federated round overhead for a ~1M-parameter
 * baseline model, 4 sites, real loopback gRPC.
 *
 *   node --import tsx bench/round-overhead.ts [--rounds R] [--floor-repeats F]
 *
 * The coordinator (createFederation + startGrpcServer on 127.0.0.1:0, file spool as
 * deployed) runs in this process; each site is its own process (bench/round-site.ts)
 * with its own grpcSiteTransport, so their training overlaps as in a deployment.
 * Overhead per round = RoundRecord.durationMs - RoundRecord.slowestTrainMs.
 * Floor, same run: bench/floor-client.ts streams 4 x model bytes plain and 4 x model
 * bytes AEAD-sealed to a server here that only counts bytes.
 * Profile, same run: the pieces of a round timed alone on the same model size.
 * Last stdout line: one JSON object (RoundOverheadResult).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import * as grpc from '@grpc/grpc-js';
import { createFederation } from '../coordinator/federation.ts';
import { createFederationCa, loadCaCertificate } from '../shared/pki/ca.ts';
import { issueCrl, loadCrl } from '../shared/pki/crl.ts';
import { issueServerCertificate, issueSiteCertificate } from '../shared/pki/issue.ts';
import { startGrpcServer } from '../coordinator/grpc-server.ts';
import type { RoundRecord } from '../coordinator/round-loop.ts';
import { FileSpool } from '../coordinator/spool.ts';
import { createStrategy } from '../coordinator/strategy/registry.ts';
import { DEFAULT_CHUNK_SIZE } from '../shared/crypto/envelope.ts';
import { encodeKey, generateIdentity } from '../shared/crypto/keys.ts';
import type { Logger } from '../shared/logger.ts';
import { backendFromEnv, loadBackend } from '../shared/model/backend.ts';
import type { ModelSpecMsg } from '../shared/protocol/messages.ts';
import { channelOptions, federationService, type FrameMsg } from '../shared/transport/grpc-proto.ts';
import type { CoordinatorEndpoint } from '../shared/transport/types.ts';
import type { SiteBenchConfig, SiteEvent } from './round-site.ts';
import { HEART_SITES, heartDir, lastJsonLine, loadHeartWorkload, median } from './workload.ts';
import { profilePieces, type ProfilePiece } from './round-profile.ts';
export type { ProfilePiece };

export const TARGET_RATIO = 3;
const MODALITY_DIM = 64;
const TARGET_PARAMS = 1_000_000;
const FEDERATION = 'bench';

const now = () => performance.timeOrigin + performance.now();
const progress = (m: string) => process.stderr.write(`  [round] ${m}\n`);

/** Warnings and errors to stderr (a refused message should be visible); the rest is dropped. */
const log: Logger = {
  debug() {},
  info() {},
  warn: (m, f) => process.stderr.write(`  [round] warn: ${m} ${JSON.stringify(f ?? {})}\n`),
  error: (m, f) => process.stderr.write(`  [round] error: ${m} ${JSON.stringify(f ?? {})}\n`),
  child: () => log,
};

/** Baseline parameter count: D*E + 2E (modality W, b, absent) + (E+K)*H + H (fusion) + H + 1 (head), E = K*m. */
export function baselineParams(D: number, K: number, m: number, H: number): number {
  const E = K * m;
  return D * E + 2 * E + (E + K) * H + H + H + 1;
}

/** The hidden width that brings the baseline closest to `target` parameters. */
export function hiddenDimFor(D: number, K: number, m: number, target: number): number {
  const E = K * m;
  return Math.max(1, Math.round((target - D * E - 2 * E - 1) / (E + K + 2)));
}

export interface FloorResult {
  sites: number;
  modelBytes: number;
  chunkSize: number;
  reps: { downMs: number; upMs: number; totalMs: number; bytes: number }[];
  medianMs: number;
}

export interface RoundOverheadResult {
  mode: string;
  backend: string;
  siteBackends: Record<string, string>;
  model: { kind: string; raw: Record<string, number>; params: number; modelBytes: number };
  sites: { site: string; trainRows: number; testRows: number }[];
  rounds: number;
  spool: string;
  chunkSize: number;
  federationSeconds: number;
  perRound: { round: number; durationMs: number; slowestTrainMs: number; overheadMs: number }[];
  overheadMs: number;
  floor: FloorResult;
  ratio: number;
  target: number;
  met: boolean;
  breakdown: ReturnType<typeof roundBreakdown>;
  profile: ReturnType<typeof profilePieces>;
}

type SiteReport = { site: string; pid: number; backend: string; trainRows: number; testRows: number; ended: string; events: SiteEvent[] };

function runChild(args: string[], who: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (d: string) => (out += d));
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`${who} exited with code ${code}`))));
  });
}

/** Median milliseconds of `fn` over `repeats` runs after one warm-up run. */
async function main(): Promise<void> {
  const { values: v } = parseArgs({
    options: { rounds: { type: 'string', default: '6' }, 'floor-repeats': { type: 'string', default: '5' } },
  });
  const rounds = Number(v.rounds);
  const floorRepeats = Number(v['floor-repeats']);
  const backend = await loadBackend(backendFromEnv(process.env), log);
  const w = loadHeartWorkload();
  const D = w.data.dim;
  const K = w.space.modalities.length;
  const hiddenDim = hiddenDimFor(D, K, MODALITY_DIM, TARGET_PARAMS);
  const raw = { modalityDim: MODALITY_DIM, hiddenDim, localEpochs: 1 };
  const spec: ModelSpecMsg = { kind: 'baseline', raw, seed: 1 };
  const params = baselineParams(D, K, MODALITY_DIM, hiddenDim);
  const modelBytes = params * 4;
  progress(`baseline ${JSON.stringify(raw)}: ${params} parameters (${(modelBytes / 2 ** 20).toFixed(2)} MiB), ${rounds} rounds, backend ${backend}`);

  // ---- the federation ----
  const coordinatorId = generateIdentity();
  const siteIds = HEART_SITES.map((s) => ({ ...s, id: generateIdentity() }));
  const states: { t: number; state: string; round: number }[] = [];
  const records: RoundRecord[] = [];
  const fed = createFederation(
    {
      federation: FEDERATION,
      rounds,
      model: spec,
      strategy: createStrategy('fedavg'),
      schema: w.schema,
      sites: siteIds.map((s) => ({ name: s.name, signingPublicKey: s.id.signing.publicKey })),
      quorum: { minSitesToStart: HEART_SITES.length, minSitesToAccept: HEART_SITES.length, roundDeadlineMs: 600_000, startTimeoutMs: 120_000, rejoinGraceMs: 0, waitForAllMs: 0 },
      minCellCount: 5,
      localBaseline: false,
      identity: coordinatorId,
      limits: { maxPayloadBytes: 2 ** 31, maxChunkSize: DEFAULT_CHUNK_SIZE, maxMessageAgeMs: 600_000 },
      spool: 'file',
    },
    log,
    (e) => {
      if (e.type === 'state') states.push({ t: now(), state: e.state, round: e.round });
      else {
        records.push(e.record);
        progress(`round ${e.record.round}: ${e.record.durationMs} ms, slowest training ${e.record.slowestTrainMs.toFixed(0)} ms`);
      }
    },
  );
  // Coordinator-side time inside submit (receive, verify, spool, replay into the aggregate), per result.
  const submits: { site: string; round: number; kind: string; start: number; end: number }[] = [];
  const endpoint: CoordinatorEndpoint = {
    subscribe: (join, sink) => fed.service.subscribe(join, sink),
    async submit(msg) {
      const start = now();
      let h: { site?: string; round?: number; kind?: string } = {};
      try {
        h = JSON.parse(Buffer.from(msg.header).toString('utf8')) as typeof h;
      } catch {
        /* the service reports it */
      }
      try {
        return await fed.service.submit(msg);
      } finally {
        submits.push({ site: h.site ?? '?', round: h.round ?? -1, kind: h.kind ?? '?', start, end: now() });
      }
    },
  };
  // mTLS as in a real deployment: its handshake cost belongs in the overhead.
  const ca = await createFederationCa({ federation: FEDERATION });
  const caCert = loadCaCertificate(ca.certPem);
  const crl = await loadCrl((await issueCrl(ca)).crlPem, caCert);
  const serverCert = await issueServerCertificate(ca, { dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] });
  const siteTls = await Promise.all(
    siteIds.map(async (s) => {
      const c = await issueSiteCertificate(ca, { site: s.name, signingPublicKey: encodeKey(s.id.signing.publicKey) });
      return { caPem: ca.certPem, certPem: c.certPem, keyPem: c.keyPem! };
    }),
  );
  const tls = { files: { caPem: ca.certPem, certPem: serverCert.certPem, keyPem: serverCert.keyPem! }, trust: { current: async () => ({ caCert, crl }) } };
  const server = await startGrpcServer({ endpoint, host: '127.0.0.1', port: 0, maxChunkSize: DEFAULT_CHUNK_SIZE, log, tls });
  const address = `127.0.0.1:${server.port}`;
  const tmp = mkdtempSync(join(tmpdir(), 'fedcausal-bench-'));
  const sites = siteIds.map((s, i) => {
    const cfg: SiteBenchConfig = {
      address,
      site: s.name,
      federation: FEDERATION,
      schemaPath: join(heartDir(), 'schema.json'),
      dataPath: join(heartDir(), s.file),
      seed: 100 + i,
      maxChunkSize: DEFAULT_CHUNK_SIZE,
      signingPublicKey: encodeKey(s.id.signing.publicKey),
      signingSecretKey: encodeKey(s.id.signing.secretKey),
      boxPublicKey: encodeKey(s.id.box.publicKey),
      boxSecretKey: encodeKey(s.id.box.secretKey),
      coordinatorSigningPublicKey: encodeKey(coordinatorId.signing.publicKey),
      coordinatorBoxPublicKey: encodeKey(coordinatorId.box.publicKey),
      tls: siteTls[i]!,
    };
    const path = join(tmp, `${s.name}.json`);
    writeFileSync(path, JSON.stringify(cfg), { mode: 0o600 });
    return runChild([join(import.meta.dirname, 'round-site.ts'), path], `site ${s.name}`);
  });
  // A handler now, so a site that fails before Promise.all below is not an unhandled
  // rejection; Promise.all still sees the failure.
  for (const p of sites) p.catch(() => {});
  let siteReports: SiteReport[];
  const t0 = performance.now();
  try {
    await fed.loop.run();
    await fed.loop.end('benchmark complete', 'complete');
    siteReports = (await Promise.all(sites)).map((out, i) => lastJsonLine<SiteReport>(out, `site ${siteIds[i]!.name}`));
  } catch (e) {
    fed.loop.stop((e as Error).message);
    throw e;
  } finally {
    await server.close();
    FileSpool.cleanup();
    rmSync(tmp, { recursive: true, force: true });
  }
  const federationSeconds = (performance.now() - t0) / 1000;

  const perRound = records.map((r) => ({
    round: r.round,
    durationMs: r.durationMs,
    slowestTrainMs: r.slowestTrainMs,
    overheadMs: r.durationMs - r.slowestTrainMs,
  }));
  const overheadMs = median(perRound.map((r) => r.overheadMs));
  const breakdown = roundBreakdown(records, states, siteReports, submits);

  // ---- the floor ----
  const floor = await measureFloor(modelBytes, floorRepeats);
  const floorMs = median(floor.reps.map((r) => r.totalMs));
  progress(`overhead median ${overheadMs.toFixed(0)} ms, floor median ${floorMs.toFixed(0)} ms, ratio ${(overheadMs / floorMs).toFixed(2)}`);

  // ---- the pieces, alone ----
  const profile = profilePieces(w, spec, coordinatorId, params);

  const result: RoundOverheadResult = {
    mode: 'coordinator in this process; 4 sites as child processes (bench/round-site.ts), each with its own grpcSiteTransport',
    backend,
    siteBackends: Object.fromEntries(siteReports.map((s) => [s.site, s.backend])),
    model: { kind: 'baseline', raw, params, modelBytes },
    sites: siteReports.map((s) => ({ site: s.site, trainRows: s.trainRows, testRows: s.testRows })),
    rounds,
    spool: 'file',
    chunkSize: DEFAULT_CHUNK_SIZE,
    federationSeconds,
    perRound,
    overheadMs,
    floor: { ...floor, medianMs: floorMs },
    ratio: overheadMs / floorMs,
    target: TARGET_RATIO,
    met: overheadMs / floorMs <= TARGET_RATIO,
    breakdown,
    profile,
  };
  console.log(JSON.stringify(result));
}

/**
 * Where each fit round's wall time went, per site (medians over rounds): the task's way
 * down, the site's work before and after training, the result's way up, and the
 * coordinator's tail after the last result. Timestamps come from one clock (one machine).
 */
function roundBreakdown(
  records: RoundRecord[],
  states: { t: number; state: string; round: number }[],
  sites: SiteReport[],
  submits: { site: string; round: number; kind: string; start: number; end: number }[],
) {
  const perSite: Record<string, Record<string, number[]>> = {};
  const tails: number[] = [];
  const critical: Record<string, number> = {};
  for (const rec of records) {
    const r = rec.round;
    const start = states.find((s) => s.round === r && s.state === 'training')?.t;
    const agg = states.find((s) => s.round === r && s.state === 'aggregating')?.t;
    const committed = states.find((s) => s.round === r && s.state === 'committed')?.t;
    if (start === undefined || agg === undefined || committed === undefined) continue;
    let lastEnd = -Infinity;
    let lastSite = '';
    for (const s of sites) {
      const ev = (what: SiteEvent['what'], kind?: string) =>
        s.events.find((e) => e.round === r && e.what === what && (kind === undefined || e.kind === kind));
      const recv = ev('task-received', 'task-fit');
      const setW = ev('setWeights');
      const evaluate = ev('evaluate');
      const train = ev('train');
      const getW = ev('getWeights');
      const subStart = ev('submit-start', 'fit-result');
      const subEnd = ev('submit-end', 'fit-result');
      const coord = submits.find((x) => x.site === s.site && x.round === r && x.kind === 'fit-result');
      if (!recv || !train || !subStart || !subEnd || !setW || !evaluate || !getW) continue;
      const trainStart = train.t - train.ms!;
      const add = (k: string, x: number) => ((perSite[s.site] ??= {})[k] ??= []).push(x);
      add('downMs', recv.t - start);
      add('preTrainMs', trainStart - recv.t);
      add('setWeightsMs', setW.ms!);
      add('evaluateMs', evaluate.ms!);
      add('trainMs', train.ms!);
      add('postTrainMs', subStart.t - train.t);
      add('getWeightsMs', getW.ms!);
      add('upMs', subEnd.t - subStart.t);
      if (coord) add('coordinatorSubmitMs', coord.end - coord.start);
      if (subEnd.t > lastEnd) {
        lastEnd = subEnd.t;
        lastSite = s.site;
      }
    }
    if (lastSite) critical[lastSite] = (critical[lastSite] ?? 0) + 1;
    tails.push(committed - agg);
  }
  const med = Object.fromEntries(
    Object.entries(perSite).map(([site, m]) => [site, Object.fromEntries(Object.entries(m).map(([k, xs]) => [k, median(xs)]))]),
  );
  return {
    perSite: med,
    /** How often each site was the last to answer (the round's critical path). */
    lastToAnswer: critical,
    coordinatorTailMs: median(tails),
  };
}

/** Runs the counting server here and bench/floor-client.ts as a separate process (as the sites are). */
async function measureFloor(modelBytes: number, repeats: number) {
  const { service } = federationService();
  const server = new grpc.Server(channelOptions(DEFAULT_CHUNK_SIZE));
  server.addService(service, {
    Subscribe: (call: grpc.ServerWritableStream<unknown, FrameMsg>) => call.end(),
    Submit: (call: grpc.ServerReadableStream<FrameMsg, unknown>, cb: grpc.sendUnaryData<unknown>) => {
      let bytes = 0;
      call.on('data', (f: FrameMsg) => {
        if (f.chunk) bytes += f.chunk.length;
      });
      call.on('end', () => cb(null, { accepted: true, message: String(bytes) }));
      call.on('error', (e) => cb(e as grpc.ServiceError));
    },
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  try {
    const out = await runChild(
      [join(import.meta.dirname, 'floor-client.ts'), `127.0.0.1:${port}`, String(modelBytes), String(repeats)],
      'floor client',
    );
    return lastJsonLine<Omit<FloorResult, 'medianMs'>>(out, 'floor client');
  } finally {
    server.forceShutdown();
  }
}

main().catch((e: Error) => {
  console.error(e.stack ?? e.message);
  process.exit(1);
});

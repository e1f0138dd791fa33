// A bounded flood against a real coordinator while a real federation runs: raw sockets past
// the connection limit, and idle Submit streams over a site's TLS certificate. The sockets
// are closed, every idle stream is closed at the frame deadline (and counted), the
// coordinator's memory stays flat, its refusal log stays short, and the federation completes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import * as grpc from '@grpc/grpc-js';
import type { ResultsFile } from '../../cli/results.ts';
import { loadSiteTls } from '../../shared/pki/kit-tls.ts';
import { federationService } from '../../shared/transport/grpc-proto.ts';
import { siteChannel } from '../../site-agent/grpc-client.ts';
import { withFederation } from './helpers/federation.ts';

const SITES = ['cleveland', 'hungary'];
const LIMITS = { frameTimeoutSeconds: 1, maxStreamsPerConnection: 8, maxConnections: 12, refusalLogPerMinute: 5 };
const CHANNELS = 2;
const STREAMS_PER_CHANNEL = 60;

const rssMiB = (pid: number) => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024;

/** Opens `n` Submit streams that never send a frame; resolves with the status codes the server ends them with. */
function idleStreams(client: grpc.Client, n: number): Promise<grpc.status[]> {
  return Promise.all(
    Array.from({ length: n }, () => new Promise<grpc.status>((resolve) => {
      const call = (client as grpc.Client & { Submit: Function }).Submit({ deadline: Date.now() + 60_000 }, (err: grpc.ServiceError | null) => resolve(err ? err.code : grpc.status.OK));
      (call as grpc.ClientWritableStream<unknown>).on('error', () => {});
    })),
  );
}

/** Connects `n` raw TCP sockets that send nothing; resolves once the server closed every one. */
function silentSockets(port: number, n: number): Promise<void> {
  return Promise.all(Array.from({ length: n }, () => new Promise<void>((resolve) => {
    const s = connect({ host: '127.0.0.1', port });
    s.on('error', () => {});
    s.once('close', () => resolve());
  }))).then(() => {});
}

test('idle sockets and streams are closed and bounded while a federation completes', { timeout: 150_000 }, async (t) => {
  await withFederation({ sites: SITES, rounds: 3, hardTimeoutMs: 140_000, coordinatorExtra: { limits: LIMITS } }, async (fed) => {
    const coordinator = await fed.startCoordinator();
    const port = Number(fed.grpcAddress.split(':').at(-1));
    const pid = coordinator.child.pid!;
    const before = rssMiB(pid);

    // 30 silent sockets against a limit of 12: all closed (over the limit at once, the rest at the 1 s handshake deadline).
    const t0 = Date.now();
    await silentSockets(port, 30);
    assert.ok(Date.now() - t0 < 10_000, `silent sockets closed within ${Date.now() - t0} ms`);

    // Idle streams over cleveland's certificate (a stolen TLS key), on their own connections, while the sites train.
    const tls = loadSiteTls(fed.siteYaml('cleveland'));
    const { Client } = federationService();
    const clients = Array.from({ length: CHANNELS }, (_, i) => {
      const { creds, options } = siteChannel(fed.grpcAddress, tls, 1 << 20);
      return new Client(fed.grpcAddress, creds, { ...options, 'grpc.use_local_subchannel_pool': 1, 'fedcausal.flood': i });
    });
    const floodStart = Date.now();
    const flood = Promise.all(clients.map((c) => idleStreams(c, STREAMS_PER_CHANNEL)));
    const sites = SITES.map((s) => fed.startSite(s));
    const codes = (await flood).flat();
    const after = rssMiB(pid);
    for (const c of clients) c.close();
    assert.equal(codes.length, CHANNELS * STREAMS_PER_CHANNEL);
    // The server ends an idle stream at the frame deadline (DEADLINE_EXCEEDED), or closes its whole
    // connection (UNAVAILABLE: over the connection limit while the sites join, or idle past 4 frame
    // deadlines); either way long before the client's own 60 s deadline would have ended it.
    const floodMs = Date.now() - floodStart;
    assert.ok(codes.every((c) => c === grpc.status.DEADLINE_EXCEEDED || c === grpc.status.UNAVAILABLE), `every idle stream closed by the server: ${[...new Set(codes.map((c) => grpc.status[c]))]}`);
    assert.ok(floodMs < 30_000, `the idle streams ended by the server within ${floodMs} ms, not by their own 60 s deadline`);
    t.diagnostic(`coordinator RSS ${before.toFixed(0)} MiB before the flood, ${after.toFixed(0)} MiB after ${codes.length} idle streams`);
    assert.ok(after - before < 64, `coordinator memory ${before.toFixed(0)} -> ${after.toFixed(0)} MiB`);

    assert.equal(await coordinator.exitCode(90_000), 0, 'coordinator exit code');
    for (const s of sites) assert.equal(await s.exitCode(10_000), 0, `${s.name} exit code`);
    const r = fed.results<ResultsFile>(coordinator);
    assert.deepEqual(r.history.map((h) => [h.round, h.participants]), [[1, 2], [2, 2], [3, 2]], 'every round had both sites');
    // The refusals are counted in full, but logged at most 5 a minute per reason, then summed up.
    t.diagnostic(`refusal log: ${JSON.stringify(coordinator.logs.filter((l) => /refus/.test(String(l.message))).map((l) => [l.message, l.reason, l.count]))}`);
    const logged = coordinator.logs.filter((l) => l.message === 'message refused' && l.reason === 'timeout').length;
    const seen = JSON.stringify(coordinator.logs.filter((l) => /refus/.test(String(l.message))).map((l) => [l.message, l.reason, l.count]));
    assert.ok(logged <= 2 * LIMITS.refusalLogPerMinute, `${logged} timeout refusals logged: ${seen}`);
    assert.ok(coordinator.logs.some((l) => l.message === 'more refusals not logged' && l.reason === 'timeout' && Number(l.count) > 0), `a summary line counts the rest: ${seen}`);
  });
});
